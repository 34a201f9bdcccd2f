import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { applyServerLimits, serverLimitOptions, type ServerLimits } from '../core/server-limits.js'
import { bodyTooLarge, internalError } from './dapr-errors.js'
import { DEFAULT_MAX_BODY_BYTES } from './options.js'
import type { ApiHandler, ApiRequest, ApiResponse } from './types.js'

export interface HttpServerOptions {
  /** 0 or absent: a free port chosen by the OS. */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  /**
   * Largest body read, in bytes; a larger one is answered 413 without reaching the handler.
   * Default: the handler's own `maxBodyBytes` when it has one (createPublishApi), else 1 MiB.
   */
  maxBodyBytes?: number
  /** Idle keep-alive connections are kept this long, ms. Default 65 s (above common load balancers' and client pools' idle times). */
  keepAliveTimeoutMs?: number
  /** Open connections at most; one beyond is closed when accepted. Default 1024. */
  maxConnections?: number
  /** The request head (line and headers) must arrive within this, ms, else 408 and close. Default 10 s. */
  headersTimeoutMs?: number
  /** The whole request, body included, must arrive within this, ms, else 408 and close. Default 30 s. */
  requestTimeoutMs?: number
  /**
   * Largest request head (request line and headers), in bytes; Node answers a larger one with
   * a bare 431. Default MAX_REQUEST_HEAD_BYTES.
   */
  maxHeadBytes?: number
}

/**
 * The default request head limit: 256 KiB instead of Node's 16 KiB, so that a topic of the
 * MQTT maximum (65,535 bytes, up to 196,605 characters percent-encoded) reaches the router and
 * gets its documented answer (204, or 400 ERR_MALFORMED_REQUEST above the maximum), with
 * room left for the query and the other headers.
 */
export const MAX_REQUEST_HEAD_BYTES = 256 * 1024

/**
 * What `serve` and `dev` run with: enough for normal clients (a 1 MiB body in 30 s is 35 KB/s),
 * small enough that a client sending nothing, or one byte a second, is cut within seconds.
 */
export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxConnections: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
})

export interface HttpServer {
  port: number
  host: string
  /** `http://host:port` */
  url: string
  /** Stops accepting, lets in-flight requests finish (bounded), then closes every connection. */
  close(): Promise<void>
}

const CLOSE_BOUND_MS = 2000

/**
 * Serves an ApiHandler over node:http: the adapter `mqtt-fn serve` and `mqtt-fn dev` use.
 * Only translation: raw path and query split, headers lower-cased, body read up to the limit.
 */
export async function startHttpServer(handler: ApiHandler, options: HttpServerOptions = {}): Promise<HttpServer> {
  const host = options.host ?? '127.0.0.1'
  const handlerLimit = (handler as Partial<{ maxBodyBytes: number }>).maxBodyBytes
  const maxBodyBytes = options.maxBodyBytes ?? (typeof handlerLimit === 'number' ? handlerLimit : DEFAULT_MAX_BODY_BYTES)

  const maxHeaderSize = options.maxHeadBytes ?? MAX_REQUEST_HEAD_BYTES
  const limits: ServerLimits = {
    maxConnections: options.maxConnections ?? DEFAULT_SERVER_LIMITS.maxConnections,
    headersTimeoutMs: options.headersTimeoutMs ?? DEFAULT_SERVER_LIMITS.headersTimeoutMs,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_SERVER_LIMITS.requestTimeoutMs,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? DEFAULT_SERVER_LIMITS.keepAliveTimeoutMs,
  }
  // Node 20 times the head from the request's first byte (or the connection), not from the
  // previous response, so headersTimeout may be shorter than keepAliveTimeout.
  const server = http.createServer({ keepAlive: true, noDelay: true, maxHeaderSize, ...serverLimitOptions(limits) }, (req, res) => {
    void serve(handler, req, res, maxBodyBytes)
  })
  applyServerLimits(server, limits)

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: options.port ?? 0, host }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  const urlHost = host.includes(':') ? `[${host}]` : host

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => server.closeAllConnections(), CLOSE_BOUND_MS)
      timer.unref()
      server.close(() => {
        clearTimeout(timer)
        resolve()
      })
      server.closeIdleConnections()
    })
    return closing
  }
  return { port, host, url: `http://${urlHost}:${port}`, close }
}

async function serve(handler: ApiHandler, req: http.IncomingMessage, res: http.ServerResponse, maxBodyBytes: number): Promise<void> {
  let response: ApiResponse
  try {
    const body = await readBody(req, maxBodyBytes)
    if (body === undefined) {
      // The rest of the body stays unread: the connection cannot be reused.
      const tooLarge = bodyTooLarge(maxBodyBytes)
      response = { ...tooLarge, headers: { ...tooLarge.headers, connection: 'close' } }
    } else {
      response = await handler(toApiRequest(req, body))
    }
  } catch (err) {
    if (req.destroyed || res.destroyed) return
    console.error('mqtt-fn http: request failed', err)
    response = internalError()
  }
  if (res.destroyed) return
  try {
    res.writeHead(response.status, response.headers)
    res.end(response.status === 204 || response.status === 304 ? undefined : response.body)
  } catch (err) {
    // A header value the handler built that Node refuses (it never should): answer 500 instead.
    console.error('mqtt-fn http: cannot write response', err)
    if (!res.headersSent) {
      const fallback = internalError()
      res.writeHead(fallback.status, fallback.headers)
      res.end(fallback.body)
    } else {
      res.destroy()
    }
  }
}

/**
 * The whole body, or undefined once it exceeds `limit` (a Content-Length above it is refused
 * before reading). The rest of an oversized body is not read: the 413 carries `connection:
 * close` and the socket is closed once it is sent.
 */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) {
    req.pause()
    return Promise.resolve(undefined)
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    req.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limit) {
        done = true
        req.pause()
        resolve(undefined)
        return
      }
      chunks.push(chunk)
    })
    req.once('end', () => {
      if (done) return
      done = true
      resolve(Buffer.concat(chunks, size))
    })
    req.once('error', (err) => {
      if (done) return
      done = true
      reject(err)
    })
    req.once('close', () => {
      if (done) return
      done = true
      reject(new Error('request closed before its body was read'))
    })
  })
}

function toApiRequest(req: http.IncomingMessage, body: Buffer): ApiRequest {
  const target = req.url ?? '/'
  let path: string
  let search: string
  if (target.startsWith('/')) {
    const q = target.indexOf('?')
    path = q < 0 ? target : target.slice(0, q)
    search = q < 0 ? '' : target.slice(q + 1)
  } else {
    // absolute-form (`GET http://host/path`), as a proxy would send it
    try {
      const url = new URL(target)
      path = url.pathname
      search = url.search.slice(1)
    } catch {
      path = '/' + target
      search = ''
    }
  }
  return {
    method: req.method ?? 'GET',
    path,
    query: new URLSearchParams(search),
    headers: flatHeaders(req.headers),
    body,
  }
}

/**
 * Node's headers with a repeated header's values joined. Only `set-cookie` arrives as an
 * array, which a request hardly ever carries: then a copy, otherwise Node's object itself.
 */
function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string | undefined> {
  for (const name in headers) {
    if (typeof headers[name] !== 'string') return copyFlat(headers)
  }
  return headers as Record<string, string | undefined>
}

function copyFlat(headers: http.IncomingHttpHeaders): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(headers)) {
    out[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return out
}
