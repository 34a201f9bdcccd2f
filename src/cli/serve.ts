import { createPublishApi } from '../http/index.js'
import { startHttpServer } from '../http/node-server.js'
import { MqttFnError } from '../core/errors.js'
import { closeAllPubsubClients } from '../core/pubsub/index.js'
import { commonOptions, helpText, parse, parsePort } from './args.js'
import { loadWithWarnings } from './resources.js'
import { untilSignal } from './signals.js'

const options = {
  ...commonOptions,
  port: { type: 'string', default: process.env.DAPR_HTTP_PORT ?? '3500' },
  host: { type: 'string', default: '127.0.0.1' },
  // daprd serves gRPC on 50001 always; here only when asked (or DAPR_GRPC_PORT says where).
  'grpc-port': { type: 'string', default: process.env.DAPR_GRPC_PORT },
} as const

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
  const resources = await loadWithWarnings(values['resources-path'], values['app-id'])
  const apiToken = process.env.APP_API_TOKEN ?? process.env.DAPR_API_TOKEN
  const handler = createPublishApi({
    resources,
    ...(values['app-id'] ? { appId: values['app-id'] } : {}),
    ...(apiToken ? { apiToken } : {}),
  })
  const server = await startHttpServer(handler, { port: parsePort(values.port, 'port'), host: values.host })
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
  return 0
}
