import { MqttFnError } from '../core/errors.js'
import { startForwarder } from '../forwarder/index.js'
import { HEALTH_SERVER_LIMITS } from '../forwarder/health.js'
import { commonOptions, helpText, parse, parsePort, parsePositiveInt } from './args.js'

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

const options = {
  ...commonOptions,
  'app-url': { type: 'string', default: process.env.APP_URL },
  // daprd's --app-protocol values; mqtt-fn speaks http (and https through an https:// app URL) and grpc.
  'app-protocol': { type: 'string', default: process.env.APP_PROTOCOL ?? 'http' },
  port: { type: 'string', default: process.env.MQTTFN_FORWARD_PORT ?? '9464' },
  // Loopback by default, as `serve`; the image sets MQTTFN_FORWARD_HOST=0.0.0.0 for probes from outside.
  host: { type: 'string', default: process.env.MQTTFN_FORWARD_HOST ?? '127.0.0.1' },
  // The health port's own limits (health.ts): probes need few connections and answer at once.
  'health-max-connections': { type: 'string', default: process.env.MQTTFN_HEALTH_MAX_CONNECTIONS ?? String(HEALTH_SERVER_LIMITS.maxConnections) },
  'health-timeout': { type: 'string', default: process.env.MQTTFN_HEALTH_TIMEOUT ?? String(HEALTH_SERVER_LIMITS.requestTimeoutMs) },
  concurrency: { type: 'string', default: '32' },
  'request-timeout': { type: 'string', default: '60000' },
  'drain-timeout': { type: 'string', default: '10000' },
  'log-level': { type: 'string', default: process.env.LOG_LEVEL ?? 'info' },
} as const

function positive(value: string | undefined, flag: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new MqttFnError('ERR_USAGE', `--${flag}: expected a positive integer, got ${JSON.stringify(value)}`)
  return n
}

/**
 * `mqtt-fn forward`: runs until SIGTERM/SIGINT, then drains (in-flight deliveries finish and
 * are acked within --drain-timeout) and disconnects. A second signal exits at once; what is
 * not acked then is redelivered by the broker on the next session.
 */
export async function forward(argv: string[]): Promise<number> {
  const { values } = parse(argv, options)
  if (values.help) {
    console.log(helpText('forward', '--resources-path DIR [--app-url URL] [--app-protocol http|grpc] [--app-id ID] [--port 9464]', options))
    return 0
  }
  const logLevel = values['log-level']
  if (!LEVELS.includes(logLevel as (typeof LEVELS)[number])) {
    throw new MqttFnError('ERR_USAGE', `--log-level: one of ${LEVELS.join(', ')}`)
  }
  const protocol = (values['app-protocol'] ?? 'http').toLowerCase()
  if (protocol === 'grpcs' || protocol === 'h2c') {
    throw new MqttFnError('ERR_USAGE', `--app-protocol ${protocol}: not supported; use http, https (an https:// --app-url) or grpc (plaintext HTTP/2)`)
  }
  if (protocol !== 'http' && protocol !== 'https' && protocol !== 'grpc') {
    throw new MqttFnError('ERR_USAGE', `--app-protocol: one of http, https, grpc (daprd's values), not ${JSON.stringify(values['app-protocol'])}`)
  }
  const healthTimeoutMs = parsePositiveInt(values['health-timeout'], 'health-timeout', 'MQTTFN_HEALTH_TIMEOUT')
  const healthLimits = {
    maxConnections: parsePositiveInt(values['health-max-connections'], 'health-max-connections', 'MQTTFN_HEALTH_MAX_CONNECTIONS'),
    // A probe's request is its head: one bound for both.
    headersTimeoutMs: healthTimeoutMs,
    requestTimeoutMs: healthTimeoutMs,
  }
  const forwarder = await startForwarder({
    ...(protocol === 'grpc' ? { appProtocol: 'grpc' as const } : {}),
    resourcesPath: values['resources-path'],
    ...(values['app-id'] ? { appId: values['app-id'] } : {}),
    ...(values.config ? { config: values.config } : {}),
    ...(values['app-url'] ? { appUrl: values['app-url'] } : {}),
    port: parsePort(values.port, 'port'),
    host: values.host,
    healthLimits,
    concurrency: positive(values.concurrency, 'concurrency'),
    requestTimeoutMs: positive(values['request-timeout'], 'request-timeout'),
    drainTimeoutMs: positive(values['drain-timeout'], 'drain-timeout'),
    logLevel: logLevel as (typeof LEVELS)[number],
  })
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'))
    process.once('SIGINT', () => resolve('SIGINT'))
  })
  forwarder.logger.info({ signal }, 'signal received')
  const again = () => {
    forwarder.logger.warn('second signal: exiting without waiting for in-flight deliveries')
    process.exit(130)
  }
  process.once('SIGTERM', again)
  process.once('SIGINT', again)
  const report = await forwarder.stop()
  return report.abandoned > 0 ? 1 : 0
}

export const runForward = forward
