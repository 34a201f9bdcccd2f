import { MqttFnError } from '../core/errors.js'

/** A CLI command: parses its own arguments, returns the process exit code. */
export type Command = (argv: string[]) => Promise<number>

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  dev: { summary: 'embedded broker + HTTP publish + forwarder + local functions', load: async () => (await import('./dev.js')).dev },
  serve: { summary: 'the Dapr publish API over HTTP (what the HTTP function runs)', load: async () => (await import('./serve.js')).serve },
  forward: { summary: 'relay subscribed MQTT topics into function triggers', load: async () => (await import('./forward.js')).forward },
  publish: { summary: 'publish one message as daprd would', load: async () => (await import('./publish.js')).publish },
  subscribe: { summary: 'print what arrives on a topic filter', load: async () => (await import('./subscribe.js')).subscribe },
  validate: { summary: 'check a folder of Dapr resources', load: async () => (await import('./validate.js')).validate },
  broker: { summary: 'run the embedded MQTT broker alone', load: async () => (await import('./broker.js')).broker },
}

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length))
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  return `usage: mqtt-fn <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nmqtt-fn <command> --help shows a command's options.`
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage())
    return name ? 0 : 2
  }
  const entry = commands[name]
  if (!entry) {
    console.error(`mqtt-fn: unknown command "${name}"\n\n${usage()}`)
    return 2
  }
  const command = await entry.load()
  return command(rest)
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    // Errors of our own already say what and where; anything else is a bug worth a stack.
    if (error instanceof MqttFnError) console.error(`mqtt-fn: ${error.message}`)
    else console.error(error)
    process.exitCode = 1
  },
)
