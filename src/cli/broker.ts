import { startEmbeddedBroker } from '../local/broker.js'
import { helpText, parse, parsePort } from './args.js'
import { untilSignal } from './signals.js'

const options = {
  port: { type: 'string', default: '1883' },
  host: { type: 'string', default: '127.0.0.1' },
  help: { type: 'boolean', short: 'h', default: false },
} as const

export async function broker(argv: string[]): Promise<number> {
  const { values } = parse(argv, options)
  if (values.help) {
    console.log(helpText('broker', '[--port N] [--host ADDR]', options))
    return 0
  }
  const b = await startEmbeddedBroker({ port: parsePort(values.port, 'port'), host: values.host })
  console.log(`embedded MQTT broker (aedes, MQTT 3.1.1) listening on ${b.url}`)
  await untilSignal()
  await b.close()
  return 0
}
