import { createPublishApi } from '../http/index.js'
import { DEFAULT_SERVER_LIMITS, startHttpServer } from '../http/node-server.js'
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IN_FLIGHT } from '../http/options.js'
import { MqttFnError } from '../core/errors.js'
import { closeAllPubsubClients } from '../core/pubsub/index.js'
import { commonOptions, helpText, parse, parseByteSize, parsePort, parsePositiveInt } from './args.js'
import { loadWithWarnings } from './resources.js'
import { untilSignal } from './signals.js'
import { startTracing } from '../tracing/index.js'

/** Each limit flag with the environment variable its default comes from (a function's settings are env). */
const LIMIT_ENV = {
  'max-body-size': 'MQTTFN_MAX_BODY_SIZE',
  'max-in-flight': 'MQTTFN_MAX_IN_FLIGHT',
  'retry-after': 'MQTTFN_RETRY_AFTER',
  'max-connections': 'MQTTFN_MAX_CONNECTIONS',
  'headers-timeout': 'MQTTFN_HEADERS_TIMEOUT',
  'request-timeout': 'MQTTFN_REQUEST_TIMEOUT',
  'keep-alive-timeout': 'MQTTFN_KEEP_ALIVE_TIMEOUT',
} as const

const options = {
  ...commonOptions,
  port: { type: 'string', default: process.env.DAPR_HTTP_PORT ?? '3500' },
  host: { type: 'string', default: '127.0.0.1' },
  // daprd serves gRPC on 50001 always; here only when asked (or DAPR_GRPC_PORT says where).
  'grpc-port': { type: 'string', default: process.env.DAPR_GRPC_PORT },
  ...limitOptions(),
} as const

function limitOptions() {
  const env = (name: keyof typeof LIMIT_ENV, fallback: number | string): string => process.env[LIMIT_ENV[name]] ?? String(fallback)
  return {
    // daprd's flag: bytes or a quantity (4Mi); mqtt-fn's default stays 1 MiB.
    'max-body-size': { type: 'string', default: env('max-body-size', DEFAULT_MAX_BODY_BYTES) },
    'max-in-flight': { type: 'string', default: env('max-in-flight', DEFAULT_MAX_IN_FLIGHT) },
    'retry-after': { type: 'string', default: env('retry-after', 1) },
    'max-connections': { type: 'string', default: env('max-connections', DEFAULT_SERVER_LIMITS.maxConnections) },
    'headers-timeout': { type: 'string', default: env('headers-timeout', DEFAULT_SERVER_LIMITS.headersTimeoutMs) },
    'request-timeout': { type: 'string', default: env('request-timeout', DEFAULT_SERVER_LIMITS.requestTimeoutMs) },
    'keep-alive-timeout': { type: 'string', default: env('keep-alive-timeout', DEFAULT_SERVER_LIMITS.keepAliveTimeoutMs) },
  } as const
}

interface ServeLimits {
  maxBodyBytes: number
  maxInFlight: number
  retryAfterSeconds: number
  maxConnections: number
  headersTimeoutMs: number
  requestTimeoutMs: number
  keepAliveTimeoutMs: number
}

/** The limit flags, checked before anything listens; each error names its flag and variable. */
export function parseServeLimits(values: Record<keyof typeof LIMIT_ENV, string | undefined>): ServeLimits {
  const int = (name: keyof typeof LIMIT_ENV): number => parsePositiveInt(values[name], name, LIMIT_ENV[name])
  const retryText = values['retry-after']
  // Retry-After 0 is allowed ("at once"), so this one is not parsePositiveInt.
  const retryAfterSeconds = Number(retryText)
  if (retryText === undefined || retryText.trim() === '' || !Number.isSafeInteger(retryAfterSeconds) || retryAfterSeconds < 0) {
    throw new MqttFnError('ERR_USAGE', `--retry-after (or MQTTFN_RETRY_AFTER): expected whole seconds (0 or more), got ${JSON.stringify(retryText)}`)
  }
  const limits: ServeLimits = {
    maxBodyBytes: parseByteSize(values['max-body-size'], 'max-body-size', LIMIT_ENV['max-body-size']),
    maxInFlight: int('max-in-flight'),
    retryAfterSeconds,
    maxConnections: int('max-connections'),
    headersTimeoutMs: int('headers-timeout'),
    requestTimeoutMs: int('request-timeout'),
    keepAliveTimeoutMs: int('keep-alive-timeout'),
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new MqttFnError('ERR_USAGE', `--headers-timeout ${limits.headersTimeoutMs} must not exceed --request-timeout ${limits.requestTimeoutMs} (the head is part of the request)`)
  }
  return limits
}

/** The HTTP publish function, locally: Dapr's publish API on Dapr's port. */
export async function serve(argv: string[]): Promise<number> {
  const { values } = parse(argv, options)
  if (values.help) {
    console.log(helpText('serve', '[--resources-path DIR] [--port 3500] [--host ADDR] [--grpc-port 50001]', options))
    return 0
  }
  const grpcText = values['grpc-port']
  // Checked before anything listens, so a bad flag leaves nothing running.
  const grpcPort = grpcText === undefined || grpcText === '' ? undefined : parsePort(grpcText, 'grpc-port')
  const port = parsePort(values.port, 'port')
  const limits = parseServeLimits(values)
  const resources = await loadWithWarnings(values['resources-path'], values['app-id'], values.config)
  // Without a tracing Configuration this is undefined and no OpenTelemetry code is loaded.
  const tracer = await startTracing(resources.configuration?.tracing, { serviceName: values['app-id'] || 'mqtt-fn-serve' })
  if (tracer) console.log(`tracing: Configuration ${resources.configuration?.name} (samplingRate ${resources.configuration?.tracing?.samplingRate})`)
  const apiToken = process.env.APP_API_TOKEN ?? process.env.DAPR_API_TOKEN
  const handler = createPublishApi({
    resources,
    ...(values['app-id'] ? { appId: values['app-id'] } : {}),
    ...(apiToken ? { apiToken } : {}),
    ...(tracer ? { tracer } : {}),
    maxBodyBytes: limits.maxBodyBytes,
    maxInFlight: limits.maxInFlight,
    retryAfterSeconds: limits.retryAfterSeconds,
  })
  const server = await startHttpServer(handler, {
    port,
    host: values.host,
    maxConnections: limits.maxConnections,
    headersTimeoutMs: limits.headersTimeoutMs,
    requestTimeoutMs: limits.requestTimeoutMs,
    keepAliveTimeoutMs: limits.keepAliveTimeoutMs,
  })
  console.log(`Dapr publish API on ${server.url} (POST /v1.0/publish/{pubsub}/{topic}); pubsubs: ${resources.pubsubs.map((p) => p.name).join(', ')}`)
  let grpc: { address: string; close(): Promise<void> } | undefined
  if (grpcPort !== undefined) {
    // Loaded only when asked for: an HTTP-only serve does not carry grpc-js.
    const { startGrpcServer, SERVED_METHODS } = await import('../grpc/index.js')
    try {
      grpc = await startGrpcServer({ publishApi: handler, ...(apiToken ? { apiToken } : {}), port: grpcPort, host: values.host, maxMessageBytes: handler.maxBodyBytes })
    } catch (error) {
      await server.close()
      await closeAllPubsubClients()
      throw new MqttFnError('ERR_USAGE', `--grpc-port ${grpcPort}: ${(error as Error).message}`, { cause: error })
    }
    console.log(`Dapr gRPC API on ${grpc.address} (dapr.proto.runtime.v1.Dapr: ${SERVED_METHODS.join(', ')}; DAPR_GRPC_ENDPOINT=http://${grpc.address})`)
  }
  await untilSignal()
  await grpc?.close()
  await server.close()
  await closeAllPubsubClients()
  await tracer?.shutdown()
  return 0
}
