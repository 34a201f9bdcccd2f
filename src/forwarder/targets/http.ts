/**
 * HTTP target: what daprd's app channel does for a subscription. `POST` of the bytes as they
 * are, the content type and headers of the request, and the answer handed back unread for
 * the outcome rules. Node's fetch keeps connections alive in a pool per origin; each request
 * is bounded by the signal the dispatcher gives it (per-request timeout or shutdown).
 */
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

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  if (error.name === 'TimeoutError') return 'request timed out'
  if (error.name === 'AbortError') return 'request aborted'
  // fetch wraps the socket error (ECONNREFUSED, ECONNRESET...) in `cause`.
  const cause = (error as Error & { cause?: unknown }).cause
  if (cause instanceof Error) return `${error.message}: ${(cause as Error & { code?: string }).code ?? cause.message}`
  return error.message
}

export function httpTarget(url: string): Target {
  const name = redactUrl(url)
  return {
    kind: 'http',
    name,
    async send(request: TargetRequest): Promise<TargetReply> {
      try {
        const response = await fetch(url, {
          method: 'POST',
          body: request.body,
          headers: { ...request.headers, 'content-type': request.contentType },
          signal: request.signal,
          redirect: 'manual',
        })
        const body = await response.text()
        return { ok: true, status: response.status, body }
      } catch (error) {
        return { ok: false, reason: `POST ${name}: ${describeError(error)}` }
      }
    },
  }
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
