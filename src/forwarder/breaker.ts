/**
 * Circuit breaker stage: a Dapr Resiliency `circuitBreakers` policy on a pubsub's inbound
 * direction, with the state machine daprd uses (sony/gobreaker): closed, counting; open after
 * the `trip` expression holds, every attempt refused for `timeout`; then half-open, letting
 * `maxRequests` attempts through: all succeed and it closes, one fails and it opens again.
 * In the closed state the counts start over every `interval` (0: never).
 *
 * A refused attempt is a failed attempt (retriable), so the retry policy decides what comes
 * next, as in daprd ("including requests failed due to triggering a circuit breaker"). For the
 * counts, an answer the outcome rules retry (RETRY, 5xx, timeout, connection error) is a
 * failure; success, DROP and 404 are answers the app gave on purpose and count as successes.
 * Hand-written rather than cockatiel: its half-open state admits one trial call, and its
 * breakers cannot evaluate Dapr's CEL `trip` over gobreaker's counts.
 */
import { compilePredicate } from './cel.js'
import type { Target, TargetReply, TargetRequest } from './types.js'
import { singleOutcome } from './outcome.js'

export interface BreakerCounts {
  requests: number
  totalSuccesses: number
  totalFailures: number
  consecutiveSuccesses: number
  consecutiveFailures: number
}

export interface BreakerSettings {
  /** The policy's name, for logs. */
  name: string
  /** Attempts let through while half-open; gobreaker treats 0 as 1. */
  maxRequests: number
  /** Closed state: counts start over this often, ms; 0 = never. */
  intervalMs: number
  /** How long the breaker stays open, ms. */
  timeoutMs: number
  /** The `trip` source, for logs. */
  trip: string
  /** True when the breaker should open; an Error when the expression fails on these counts. */
  shouldTrip: (counts: BreakerCounts) => boolean | Error
}

export type BreakerState = 'closed' | 'open' | 'half-open'

/** Compiles a `trip` expression over gobreaker's counts (CEL ints), or says why it cannot. */
export function compileTrip(source: string): { ok: true; shouldTrip: BreakerSettings['shouldTrip'] } | { ok: false; error: string } {
  const compiled = compilePredicate(source)
  if (!compiled.ok) return compiled
  const shouldTrip = (c: BreakerCounts): boolean | Error =>
    compiled.test({
      requests: BigInt(c.requests),
      totalSuccesses: BigInt(c.totalSuccesses),
      totalFailures: BigInt(c.totalFailures),
      consecutiveSuccesses: BigInt(c.consecutiveSuccesses),
      consecutiveFailures: BigInt(c.consecutiveFailures),
    })
  return { ok: true, shouldTrip }
}

const zero = (): BreakerCounts => ({ requests: 0, totalSuccesses: 0, totalFailures: 0, consecutiveSuccesses: 0, consecutiveFailures: 0 })

export class CircuitBreaker {
  #state: BreakerState = 'closed'
  #generation = 0
  #counts = zero()
  /** closed: when the counts start over (0 = never); open: when it turns half-open. */
  #expiry = 0

  constructor(
    readonly settings: BreakerSettings,
    private readonly onStateChange: (from: BreakerState, to: BreakerState) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {
    this.#newGeneration(this.now())
  }

  get state(): BreakerState {
    this.#current(this.now())
    return this.#state
  }

  get counts(): Readonly<BreakerCounts> {
    return this.#counts
  }

  /**
   * Asks to make one attempt: the generation to report its result under, or undefined when the
   * breaker refuses (open, or half-open with its trial attempts taken).
   */
  allow(): number | undefined {
    const now = this.now()
    const state = this.#current(now)
    if (state === 'open') return undefined
    const maxRequests = Math.max(1, this.settings.maxRequests)
    if (state === 'half-open' && this.#counts.requests >= maxRequests) return undefined
    this.#counts.requests++
    return this.#generation
  }

  /** The result of an attempt `allow()` let through; results of an older generation are ignored. */
  record(generation: number, success: boolean): void {
    const now = this.now()
    const state = this.#current(now)
    if (generation !== this.#generation) return
    const c = this.#counts
    if (success) {
      c.totalSuccesses++
      c.consecutiveSuccesses++
      c.consecutiveFailures = 0
      if (state === 'half-open' && c.consecutiveSuccesses >= Math.max(1, this.settings.maxRequests)) this.#setState('closed', now)
      return
    }
    c.totalFailures++
    c.consecutiveFailures++
    c.consecutiveSuccesses = 0
    if (state === 'half-open') {
      this.#setState('open', now)
      return
    }
    // An expression that fails on these counts does not trip (daprd logs it and carries on).
    if (this.settings.shouldTrip(c) === true) this.#setState('open', now)
  }

  #current(now: number): BreakerState {
    if (this.#state === 'closed') {
      if (this.#expiry !== 0 && this.#expiry <= now) this.#newGeneration(now)
    } else if (this.#state === 'open' && this.#expiry <= now) {
      this.#setState('half-open', now)
    }
    return this.#state
  }

  #setState(state: BreakerState, now: number): void {
    if (state === this.#state) return
    const from = this.#state
    this.#state = state
    this.#newGeneration(now)
    this.onStateChange(from, state)
  }

  #newGeneration(now: number): void {
    this.#generation++
    this.#counts = zero()
    if (this.#state === 'closed') this.#expiry = this.settings.intervalMs > 0 ? now + this.settings.intervalMs : 0
    else if (this.#state === 'open') this.#expiry = now + this.settings.timeoutMs
    else this.#expiry = 0
  }
}

/**
 * The target behind a breaker: a refused attempt never reaches it and fails at once; each
 * answer is counted as `isFailure` says.
 */
export function guardTarget(target: Target, breaker: CircuitBreaker, isFailure: (reply: TargetReply) => boolean): Target {
  return {
    kind: target.kind,
    name: target.name,
    async send(request: TargetRequest): Promise<TargetReply> {
      const generation = breaker.allow()
      if (generation === undefined) {
        return { ok: false, reason: `circuit breaker ${breaker.settings.name} is ${breaker.state}: attempt not made` }
      }
      const reply = await target.send(request)
      // A request cut short by a forced stop says nothing about the target.
      if (!request.signal.aborted) breaker.record(generation, !isFailure(reply))
      return reply
    },
  }
}

/**
 * Targets behind a breaker, made once per breaker, target and kind of delivery. A single
 * delivery fails when the outcome rules would retry it; a bulk one when no usable answer came
 * back (entries are judged one by one after that).
 */
export class GuardedTargets {
  readonly #byBreaker = new WeakMap<CircuitBreaker, Map<Target, { single?: Target; bulk?: Target }>>()

  of(breaker: CircuitBreaker, target: Target, kind: 'single' | 'bulk'): Target {
    let byTarget = this.#byBreaker.get(breaker)
    if (!byTarget) this.#byBreaker.set(breaker, (byTarget = new Map()))
    const entry = byTarget.get(target) ?? {}
    byTarget.set(target, entry)
    return (entry[kind] ??=
      kind === 'single'
        ? guardTarget(target, breaker, (reply) => singleOutcome(reply).kind === 'retry')
        : guardTarget(target, breaker, (reply) => !reply.ok || (reply.status !== 404 && (reply.status < 200 || reply.status > 299))))
  }
}
