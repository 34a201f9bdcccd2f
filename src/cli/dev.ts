import { MqttFnError, ResourceError } from '../core/errors.js'
import { parseBrokerUrl } from '../core/resources/index.js'
import { PortInUseError, startDev, type DevHandle, type PortOption } from '../local/dev.js'
import { commonOptions, helpText, parse, parsePort } from './args.js'
import { untilSignal } from './signals.js'

const options = {
  // Not commonOptions' resources-path and app-id: dev has always read neither
  // MQTTFN_RESOURCES_PATH (that names the deployed functions' folder) nor an unset app id.
  'resources-path': { type: 'string', default: './resources' },
  // The demo handlers; the deployable entry points in functions/ are built, not served here.
  'functions-path': { type: 'string', default: './examples/functions' },
  'app-id': { type: 'string', default: process.env.APP_ID ?? 'mqtt-fn' },
  port: { type: 'string' },
  'broker-port': { type: 'string' },
  'grpc-port': { type: 'string' },
  broker: { type: 'string' },
  'log-format': { type: 'string', default: 'pretty' },
  help: commonOptions.help,
} as const

const SYNOPSIS = `[--resources-path DIR] [--functions-path DIR] [--port N] [--broker-port N] [--grpc-port N]
                   [--broker mqtt://host:port] [--log-format pretty|json] [--app-id ID]`

const DESCRIPTION = `Runs the embedded broker (1883 or the next free port), the HTTP publish API (3500 or the next
free port), the Dapr gRPC API (50001 or the next free port), the forwarder with the Subscriptions in the resources folder, and the Lambda
handlers in the functions folder (Invoke API for lambda:NAME routes, Function URL for HTTP
routes). --port / --broker-port / --grpc-port fix a port (0 = any free port). --broker uses an external broker
instead of the embedded one. Files changed under the resources or functions folder are
reloaded without a restart. Ctrl-C stops everything.`

/** The flag a DevOptions port field comes from, for errors in the command's own words. */
const PORT_FLAGS: Record<PortOption, string> = { port: 'port', brokerPort: 'broker-port', grpcPort: 'grpc-port' }

/**
 * `mqtt-fn dev` (= `npm start`): exit 0 after Ctrl-C, 1 on bad resources, 130 on Ctrl-C
 * during start-up.
 */
export async function dev(argv: string[]): Promise<number> {
  const { values } = parse(argv, options)
  if (values.help) {
    console.log(`${helpText('dev', SYNOPSIS, options)}\n\n${DESCRIPTION}`)
    return 0
  }
  const format = values['log-format']
  if (format !== 'pretty' && format !== 'json') throw new MqttFnError('ERR_USAGE', `--log-format: pretty or json, not ${JSON.stringify(format)}`)
  if (values.broker) {
    const parsed = parseBrokerUrl(values.broker)
    if (!parsed.ok) throw new MqttFnError('ERR_USAGE', `--broker: ${parsed.problem}`)
  }
  // Listening before anything starts: a Ctrl-C during start-up still stops cleanly.
  const signalled = untilSignal()
  let started = false
  // Ctrl-C while still starting (say, waiting for an unreachable --broker): leave at once; the
  // OS closes whatever was already listening.
  void signalled.then(() => {
    if (!started) {
      console.error('mqtt-fn dev: interrupted during start-up')
      process.exit(130)
    }
  })
  let runtime: DevHandle
  try {
    runtime = await startDev({
      resourcesPath: values['resources-path'],
      functionsPath: values['functions-path'],
      appId: values['app-id'],
      ...(values.port !== undefined ? { port: parsePort(values.port, 'port') } : {}),
      ...(values['broker-port'] !== undefined ? { brokerPort: parsePort(values['broker-port'], 'broker-port') } : {}),
      ...(values['grpc-port'] !== undefined ? { grpcPort: parsePort(values['grpc-port'], 'grpc-port') } : {}),
      ...(values.broker ? { broker: values.broker } : {}),
      logFormat: format,
    })
  } catch (error) {
    if (error instanceof ResourceError) {
      for (const line of error.message.split('\n')) console.error(line)
      return 1
    }
    if (error instanceof PortInUseError) {
      const flag = PORT_FLAGS[error.option]
      throw new MqttFnError(error.code, `--${flag} ${error.port}: the port is in use (omit --${flag} to take the next free port)`, { cause: error })
    }
    throw error
  }
  started = true
  await signalled
  await runtime.close()
  return 0
}
