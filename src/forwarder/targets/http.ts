/**
 * HTTP target: what daprd's app channel does for a subscription. `POST` of the bytes as they
 * are, the content type and headers of the request, and the answer handed back unread for
 * the outcome rules. Connections are kept alive in a pool per origin; each request is bounded
 * by its own timer and ends early on a forced shutdown.
 */
import { createRequire } from 'node:module'
import type { Agent as UndiciAgent, Dispatcher } from 'undici'
import type { Target, TargetReply, TargetRequest } from '../types.js'

/**
 * undici's Agent alone, not its index: the index loads fetch, WebSocket, EventSource, the cache
 * and mock layers, ~9 MB of a forwarder's idle RSS that a delivery never uses. undici has no
 * `exports` map, so the file is reachable; test/unit/forwarder/http-agent.test.ts pins it.
 */
const Agent = createRequire(import.meta.url)('undici/lib/dispatcher/agent.js') as typeof UndiciAgent

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
  readonly agent: UndiciAgent

  /**
   * `connectionsPerOrigin`: at most the deliveries that can run at once. Without a cap undici
   * opens a new connection whenever a request is dispatched in the instant between a response
   * and its connection becoming free, which doubled the connections and cost ~10 % of the
   * forwarder's throughput here; requests over the cap wait for a free connection.
   */
  constructor(connectionsPerOrigin = 32) {
    this.agent = new Agent({ keepAliveTimeout: 30_000, pipelining: 1, connections: connectionsPerOrigin })
  }

  destroy(): void {
    void this.agent.destroy().catch(() => {})
  }
}

function describeError(error: Error & { code?: string }): string {
  return error.code ? `${error.code}: ${error.message}` : error.message
}

/**
 * One request in flight. The handler is an object of its own rather than closures, and a
 * forced shutdown reaches it through one listener per signal (see `AbortWatch`): measured
 * here, five closures and an abort listener per request cost 28 µs of CPU per request where
 * this costs 22.5 (the rest is undici's own).
 */
class Attempt implements Dispatcher.DispatchHandler {
  status = 0
  size = 0
  chunks: Buffer[] | undefined
  controller: Dispatcher.DispatchController | undefined
  timer: NodeJS.Timeout | undefined
  settled = false

  constructor(
    readonly name: string,
    readonly resolve: (reply: TargetReply) => void,
    readonly watch: AbortWatch,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    // Stopped while it waited for a connection.
    if (this.settled) controller.abort(new Error('request aborted'))
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.size < MAX_REPLY_BYTES) (this.chunks ??= []).push(chunk.subarray(0, MAX_REPLY_BYTES - this.size))
    this.size += chunk.length
  }

  onResponseEnd(): void {
    this.finish({ ok: true, status: this.status, body: this.chunks ? Buffer.concat(this.chunks).toString('utf8') : '' })
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error & { code?: string }): void {
    this.fail(describeError(error))
  }

  fail(why: string): void {
    this.finish({ ok: false, reason: `POST ${this.name}: ${why}` })
  }

  /** Timeout or shutdown: settles now and ends the exchange on the wire. */
  stop(why: string): void {
    if (this.settled) return
    this.fail(why)
    this.controller?.abort(new Error(why))
  }

  finish(reply: TargetReply): void {
    if (this.settled) return
    this.settled = true
    clearTimeout(this.timer)
    this.watch.delete(this)
    this.resolve(reply)
  }

  static timedOut(attempt: Attempt): void {
    attempt.stop('request timed out')
  }
}

/** The attempts in flight under one AbortSignal, stopped together when it aborts. */
class AbortWatch extends Set<Attempt> {
  constructor(signal: AbortSignal) {
    super()
    signal.addEventListener('abort', () => {
      for (const attempt of [...this]) attempt.stop('request aborted')
    }, { once: true })
  }
}

const watches = new WeakMap<AbortSignal, AbortWatch>()

function watchOf(signal: AbortSignal): AbortWatch {
  let watch = watches.get(signal)
  if (!watch) watches.set(signal, (watch = new AbortWatch(signal)))
  return watch
}

export function httpTarget(url: string, agents: HttpAgents): Target {
  const name = redactUrl(url)
  const parsed = new URL(url)
  const origin = parsed.origin
  const path = parsed.pathname + parsed.search
  // undici takes no userinfo in the origin; the URL's credentials become Basic auth, as curl
  // and node:http make them.
  const authorization = basicAuthorization(parsed)
  return {
    kind: 'http',
    name,
    send(request: TargetRequest): Promise<TargetReply> {
      return new Promise<TargetReply>((resolve) => {
        if (request.signal.aborted) return resolve({ ok: false, reason: `POST ${name}: request aborted` })
        const watch = watchOf(request.signal)
        const attempt = new Attempt(name, resolve, watch)
        watch.add(attempt)
        attempt.timer = setTimeout(Attempt.timedOut, clampTimer(request.timeoutMs), attempt)
        const headers: Record<string, string> = { ...request.headers, 'content-type': request.contentType }
        if (authorization) headers.authorization = authorization
        try {
          agents.agent.dispatch({ origin, path, method: 'POST', headers, body: request.body, headersTimeout: 0, bodyTimeout: 0 }, attempt)
        } catch (error) {
          // A header value HTTP cannot carry (e.g. a tracestate with a newline from the event).
          attempt.fail(describeError(error as Error & { code?: string }))
        }
      })
    },
  }
}

/** The `Authorization` header a URL's userinfo stands for (as curl and node:http make it), if any. */
export function basicAuthorization(url: URL): string | undefined {
  if (!url.username && !url.password) return undefined
  return 'Basic ' + Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')
}

/** setTimeout takes at most 2^31-1 ms; anything longer would fire after 1 ms. */
export function clampTimer(ms: number): number {
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 1), 0x7fffffff) : 0x7fffffff
}

/**
 * A route as logs, errors and metrics may show it: an http(s) URL without userinfo or query
 * values; any other text with whatever sits between `//` and `@` cut out, so even a URL that
 * does not parse keeps its password out of the line. Every place that prints a route uses this.
 */
export function redactRoute(route: string): string {
  if (/^https?:\/\//i.test(route.trim())) {
    const redacted = redactUrl(route.trim())
    if (redacted !== INVALID_URL) return redacted
  }
  return route.replace(/\/\/[^@]*@/g, '//[redacted]@')
}

const INVALID_URL = '(invalid url)'

/** The URL without userinfo or query values, for logs and metrics. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    u.username = ''
    u.password = ''
    u.search = ''
    return u.toString()
  } catch {
    return INVALID_URL
  }
}
