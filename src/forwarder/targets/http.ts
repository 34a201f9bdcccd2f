/**
 * HTTP target: what daprd's app channel does for a subscription. `POST` of the bytes as they
 * are, the content type and headers of the request, and the answer handed back unread for
 * the outcome rules. Connections are kept alive in a pool per origin; each request is bounded
 * by its own timer and ends early on a forced shutdown.
 */
import { Agent, type Dispatcher } from 'undici'
import type { Target, TargetReply, TargetRequest } from '../types.js'

/** daprd joins the app address and the route with `path.Clean("/" + route)`. */
export function appRouteUrl(appUrl: string, route: string): string {
  const base = appUrl.replace(/\/+$/, '')
  return base + cleanPath('/' + route)
}

/** Go's path.Clean for an absolute path: no `//`, no `.`, `..` resolved, no trailing `/`. */
export function cleanPath(p: string): string {
  const [pathname = '', ...rest] = p.split('?')
  const out: string[] = []
  for (const segment of pathname.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') out.pop()
    else out.push(segment)
  }
  const cleaned = '/' + out.join('/')
  return rest.length > 0 ? `${cleaned}?${rest.join('?')}` : cleaned
}

/** Only the status and a small JSON answer matter; a large body is not kept. */
const MAX_REPLY_BYTES = 64 * 1024

/**
 * Keep-alive connection pools (one per origin), shared by every HTTP target of a registry.
 * undici's dispatcher rather than node:http or fetch: measured here on the forwarder's
 * benchmark, fetch cost ~4x the CPU per delivery of node:http, and node:http ~2x undici's.
 * No pipelining: like daprd's Go client, one request at a time per connection, so a slow
 * answer never holds up the deliveries queued behind it.
 */
export class HttpAgents {
  readonly agent = new Agent({ keepAliveTimeout: 30_000, pipelining: 1 })

  destroy(): void {
    void this.agent.destroy().catch(() => {})
  }
}

function describeError(error: Error & { code?: string }): string {
  return error.code ? `${error.code}: ${error.message}` : error.message
}

export function httpTarget(url: string, agents: HttpAgents): Target {
  const name = redactUrl(url)
  const parsed = new URL(url)
  const origin = parsed.origin
  const path = parsed.pathname + parsed.search
  // undici takes no userinfo in the origin; the URL's credentials become Basic auth, as curl
  // and node:http make them.
  const authorization = parsed.username
    ? 'Basic ' + Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')
    : undefined
  return {
    kind: 'http',
    name,
    send(request: TargetRequest): Promise<TargetReply> {
      return new Promise<TargetReply>((resolve) => {
        if (request.signal.aborted) return resolve({ ok: false, reason: `POST ${name}: request aborted` })
        let settled = false
        let controller: Dispatcher.DispatchController | undefined
        let status = 0
        const chunks: Buffer[] = []
        let size = 0
        const finish = (reply: TargetReply) => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          request.signal.removeEventListener('abort', onAbort)
          resolve(reply)
        }
        const fail = (why: string) => finish({ ok: false, reason: `POST ${name}: ${why}` })
        const stop = (why: string) => {
          fail(why)
          controller?.abort(new Error(why))
        }
        const onAbort = () => stop('request aborted')
        const timer = setTimeout(() => stop('request timed out'), clampTimer(request.timeoutMs))
        request.signal.addEventListener('abort', onAbort, { once: true })
        const headers: Record<string, string> = { ...request.headers, 'content-type': request.contentType }
        if (authorization) headers.authorization = authorization
        const handler: Dispatcher.DispatchHandler = {
          onRequestStart(c) {
            controller = c
            // Stopped while queued for a connection.
            if (settled) c.abort(new Error('request aborted'))
          },
          onResponseStart(_c, statusCode) {
            status = statusCode
          },
          onResponseData(_c, chunk) {
            if (size < MAX_REPLY_BYTES) chunks.push(chunk.subarray(0, MAX_REPLY_BYTES - size))
            size += chunk.length
          },
          onResponseEnd() {
            finish({ ok: true, status, body: chunks.length === 0 ? '' : Buffer.concat(chunks).toString('utf8') })
          },
          onResponseError(_c, error: Error & { code?: string }) {
            fail(describeError(error))
          },
        }
        try {
          agents.agent.dispatch({ origin, path, method: 'POST', headers, body: request.body, headersTimeout: 0, bodyTimeout: 0 }, handler)
        } catch (error) {
          // A header value HTTP cannot carry (e.g. a tracestate with a newline from the event).
          fail(describeError(error as Error & { code?: string }))
        }
      })
    },
  }
}

/** setTimeout takes at most 2^31-1 ms; anything longer would fire after 1 ms. */
export function clampTimer(ms: number): number {
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 1), 0x7fffffff) : 0x7fffffff
}

/** The URL without userinfo or query values, for logs and metrics. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    u.search = ''
    return u.toString()
  } catch {
    return '(invalid url)'
  }
}
