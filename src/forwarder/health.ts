/**
 * Health stage: `/healthz` (the process runs), `/readyz` (every broker connection is up and
 * every subscription has its SUBACK) and `/metrics` (Prometheus text).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { applyServerLimits, serverLimitOptions, type ServerLimits } from '../core/server-limits.js'
import type { ForwarderMetrics } from './metrics.js'

export interface HealthServer {
  port: number
  close(): Promise<void>
}

/**
 * Probes and a scraper need few connections and send no body: a small cap and short timeouts,
 * so that slow or idle clients cannot hold the port the orchestrator's probes need.
 */
export const HEALTH_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxConnections: 64,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 5_000,
  keepAliveTimeoutMs: 5_000,
})

export interface HealthOptions {
  port: number
  /** Where to listen; the forwarder's default is 127.0.0.1 (a container passes 0.0.0.0). */
  host: string
  /** Default HEALTH_SERVER_LIMITS. */
  limits?: Partial<ServerLimits>
  metrics: ForwarderMetrics
  /** Undefined when ready; otherwise why not (shown in the 503 body). */
  notReady: () => string | undefined
}

export async function startHealthServer(options: HealthOptions): Promise<HealthServer> {
  const limits: ServerLimits = { ...HEALTH_SERVER_LIMITS, ...options.limits }
  const server = http.createServer(serverLimitOptions(limits), (req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...extra })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    // No route takes a body. Unread, node:http would drain one of any length after the answer;
    // refused and closed, a body costs nothing.
    if (hasBody(req)) return send(413, 'request body not accepted\n', undefined, { connection: 'close' })
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n')
    if (path === '/healthz') return send(200, 'ok\n')
    if (path === '/readyz') {
      const reason = options.notReady()
      return reason === undefined ? send(200, 'ready\n') : send(503, `not ready: ${reason}\n`)
    }
    if (path === '/metrics') {
      options.metrics.text().then(
        (text) => send(200, text, options.metrics.registry.contentType),
        (error: unknown) => send(500, `metrics: ${(error as Error).message}\n`),
      )
      return
    }
    send(404, 'not found\n')
  })
  applyServerLimits(server, limits)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: options.port, host: options.host }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

function hasBody(req: http.IncomingMessage): boolean {
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}
