/** A grpc-js server (HTTP/2 cleartext, as daprd's gRPC port on localhost) for the Dapr service. */
import { Server, ServerCredentials } from '@grpc/grpc-js'
import type { ApiHandler } from '../http/types.js'
import { grpcDaprApi } from './dapr-api.js'
import { daprServiceDefinition } from './service.js'

export interface GrpcServerOptions {
  publishApi: ApiHandler
  apiToken?: string
  port: number
  host?: string
  /** Largest request message, bytes (the publish API's body limit; daprd's default is 4 MB). */
  maxMessageBytes?: number
}

export interface GrpcServer {
  port: number
  /** `host:port`, as DAPR_GRPC_ENDPOINT takes it. */
  address: string
  close(): Promise<void>
}

export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServer> {
  const max = options.maxMessageBytes ?? 4 * 1024 * 1024
  const server = new Server({ 'grpc.max_receive_message_length': max })
  server.addService(daprServiceDefinition(), grpcDaprApi({ publishApi: options.publishApi, ...(options.apiToken ? { apiToken: options.apiToken } : {}) }))
  const host = options.host ?? '127.0.0.1'
  const bindHost = host.includes(':') ? `[${host}]` : host
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${bindHost}:${options.port}`, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  )
  return {
    port,
    address: `${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // Calls in flight get a moment; then the rest are cut, so a stop never hangs.
        const force = setTimeout(() => server.forceShutdown(), 2000)
        server.tryShutdown(() => {
          clearTimeout(force)
          resolve()
        })
      }),
  }
}
