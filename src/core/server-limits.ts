/**
 * The limits every node:http server of mqtt-fn runs with (the publish API of `serve`/`dev`,
 * the forwarder's health port), so that slow, stalled or idle clients cost a bounded number of
 * sockets for a bounded time. node:http enforces them; this only chooses and checks the values.
 */
import type http from 'node:http'

export interface ServerLimits {
  /** Open connections at most; one beyond is closed as soon as it is accepted (node:http `maxConnections`). */
  maxConnections: number
  /**
   * The request head must be complete this long after the connection opened (or the request's
   * first byte on a reused one), ms; else node:http answers 408 and closes. Covers slowloris
   * heads and connections that never send anything.
   */
  headersTimeoutMs: number
  /** The whole request, head and body, must arrive within this, ms; else 408 and close. The time to answer is not counted. */
  requestTimeoutMs: number
  /** An idle keep-alive connection is closed after this, ms (node:http adds up to a second of its own). */
  keepAliveTimeoutMs: number
}

/** The options of `http.createServer` that carry `limits` (the connection cap and keep-alive are set by `applyServerLimits`). */
export function serverLimitOptions(limits: ServerLimits): http.ServerOptions {
  checkServerLimits(limits)
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // node:http checks the two timeouts only every connectionsCheckingInterval (default 30 s,
    // which let a stalled request live for timeout + 30 s); a quarter of the shorter one keeps
    // the overshoot small at the cost of one pass over the open connections per tick.
    connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4))),
  }
}

export function applyServerLimits(server: http.Server, limits: ServerLimits): void {
  server.maxConnections = limits.maxConnections
  server.keepAliveTimeout = limits.keepAliveTimeoutMs
}

/** Throws a RangeError naming the option that node:http would refuse or that would disable a limit. */
export function checkServerLimits(limits: ServerLimits): void {
  for (const name of ['maxConnections', 'headersTimeoutMs', 'requestTimeoutMs', 'keepAliveTimeoutMs'] as const) {
    const value = limits[name]
    if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`)
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new RangeError(`headersTimeoutMs (${limits.headersTimeoutMs}) must not exceed requestTimeoutMs (${limits.requestTimeoutMs})`)
  }
}
