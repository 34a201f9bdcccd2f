/**
 * Health stage: `/healthz` (the process runs), `/readyz` (every broker connection is up and
 * every subscription has its SUBACK) and `/metrics` (Prometheus text).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { ForwarderMetrics } from './metrics.js'

export interface HealthServer {
  port: number
  close(): Promise<void>
}

export interface HealthOptions {
  port: number
  host: string
  metrics: ForwarderMetrics
  /** Undefined when ready; otherwise why not (shown in the 503 body). */
  notReady: () => string | undefined
}

export async function startHealthServer(options: HealthOptions): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
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
  server.keepAliveTimeout = 5_000
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
