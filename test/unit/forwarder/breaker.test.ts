import { describe, expect, it } from 'vitest'
import { CircuitBreaker, compileTrip, guardTarget, type BreakerSettings, type BreakerState } from '../../../src/forwarder/breaker.js'
import type { Target, TargetReply, TargetRequest } from '../../../src/forwarder/types.js'

function settings(overrides: Partial<Omit<BreakerSettings, 'shouldTrip'>> = {}): BreakerSettings {
  const trip = overrides.trip ?? 'consecutiveFailures > 5'
  const compiled = compileTrip(trip)
  if (!compiled.ok) throw new Error(compiled.error)
  return { name: 'cb', maxRequests: 1, intervalMs: 0, timeoutMs: 60_000, ...overrides, trip, shouldTrip: compiled.shouldTrip }
}

function breaker(overrides: Partial<Omit<BreakerSettings, 'shouldTrip'>> = {}) {
  let now = 1_000
  const changes: string[] = []
  const b = new CircuitBreaker(settings(overrides), (from: BreakerState, to: BreakerState) => changes.push(`${from}->${to}`), () => now)
  const attempt = (success: boolean): boolean => {
    const generation = b.allow()
    if (generation === undefined) return false
    b.record(generation, success)
    return true
  }
  return { b, changes, attempt, advance: (ms: number) => (now += ms) }
}

describe('circuit breaker (gobreaker state machine, Dapr defaults)', () => {
  it('trips when `trip` holds (default: the 6th consecutive failure) and refuses attempts while open', () => {
    const { b, attempt, changes } = breaker()
    for (let i = 0; i < 5; i++) expect(attempt(false)).toBe(true)
    expect(b.state).toBe('closed')
    expect(attempt(false)).toBe(true)
    expect(b.state).toBe('open')
    expect(b.allow()).toBeUndefined()
    expect(changes).toEqual(['closed->open'])
  })

  it('a success in between starts the consecutive count over', () => {
    const { b, attempt } = breaker()
    for (let i = 0; i < 5; i++) attempt(false)
    attempt(true)
    for (let i = 0; i < 5; i++) attempt(false)
    expect(b.state).toBe('closed')
    expect(b.counts).toMatchObject({ requests: 11, totalFailures: 10, totalSuccesses: 1, consecutiveFailures: 5 })
  })

  it('half-opens after `timeout`, lets `maxRequests` attempts through, and closes when they all succeed', () => {
    const { b, attempt, advance, changes } = breaker({ maxRequests: 2, timeoutMs: 45_000, trip: 'consecutiveFailures >= 1' })
    attempt(false)
    expect(b.state).toBe('open')
    advance(44_999)
    expect(b.allow()).toBeUndefined()
    advance(1)
    expect(b.state).toBe('half-open')
    const first = b.allow()
    const second = b.allow()
    expect(first).toBeDefined()
    expect(second).toBeDefined()
    // A third attempt while the two trials run is refused.
    expect(b.allow()).toBeUndefined()
    b.record(first!, true)
    expect(b.state).toBe('half-open')
    b.record(second!, true)
    expect(b.state).toBe('closed')
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->closed'])
  })

  it('one failure while half-open opens it again for another `timeout`', () => {
    const { b, attempt, advance } = breaker({ trip: 'consecutiveFailures >= 1', timeoutMs: 1_000 })
    attempt(false)
    advance(1_000)
    expect(attempt(false)).toBe(true)
    expect(b.state).toBe('open')
    advance(999)
    expect(b.state).toBe('open')
    advance(1)
    expect(b.state).toBe('half-open')
  })

  it('`interval` clears the counts of the closed state; 0 never does', () => {
    const cleared = breaker({ intervalMs: 8_000, trip: 'totalFailures >= 3' })
    cleared.attempt(false)
    cleared.attempt(false)
    cleared.advance(8_000)
    cleared.attempt(false)
    expect(cleared.b.state).toBe('closed')
    expect(cleared.b.counts.totalFailures).toBe(1)
    const kept = breaker({ trip: 'totalFailures >= 3' })
    kept.attempt(false)
    kept.attempt(false)
    kept.advance(3_600_000)
    kept.attempt(false)
    expect(kept.b.state).toBe('open')
  })

  it('ignores results of an attempt from an earlier generation', () => {
    const { b, attempt, advance } = breaker({ trip: 'consecutiveFailures >= 2', intervalMs: 1_000 })
    const stale = b.allow()!
    attempt(false)
    advance(1_000) // the counts start over: a new generation
    b.record(stale, false)
    expect(b.counts.totalFailures).toBe(0)
    expect(b.state).toBe('closed')
  })

  it('trip expressions see CEL ints; a bad expression is refused; one that fails at run time does not trip', () => {
    const ratio = breaker({ trip: 'requests >= 4 && totalFailures * 2 > requests' })
    ratio.attempt(false)
    ratio.attempt(true)
    ratio.attempt(false)
    expect(ratio.b.state).toBe('closed')
    ratio.attempt(false)
    expect(ratio.b.state).toBe('open')
    expect(compileTrip('consecutiveFailures >')).toMatchObject({ ok: false, error: expect.any(String) })
    const failing = breaker({ trip: 'consecutiveFailures / (requests - requests) > 1' })
    for (let i = 0; i < 10; i++) failing.attempt(false)
    expect(failing.b.state).toBe('closed')
  })
})

describe('guardTarget', () => {
  const request = (signal = new AbortController().signal): TargetRequest => ({ body: Buffer.from('{}'), contentType: 'application/json', headers: {}, signal, timeoutMs: 1000 })

  it('an open breaker fails the attempt at once without reaching the target; answers are counted as the classifier says', async () => {
    const { b } = breaker({ trip: 'consecutiveFailures >= 2' })
    let calls = 0
    let reply: TargetReply = { ok: true, status: 500, body: '' }
    const target: Target = { kind: 'http', name: 'app', send: async () => (calls++, reply) }
    const guarded = guardTarget(target, b, (r) => !r.ok || r.status >= 500)
    expect(guarded.name).toBe('app')
    await guarded.send(request())
    reply = { ok: true, status: 200, body: '' }
    await guarded.send(request())
    reply = { ok: false, reason: 'ECONNREFUSED' }
    await guarded.send(request())
    await guarded.send(request())
    expect(b.state).toBe('open')
    expect(await guarded.send(request())).toEqual({ ok: false, reason: 'circuit breaker cb is open: attempt not made' })
    expect(calls).toBe(4)
  })

  it('a request aborted by a forced stop is not counted', async () => {
    const { b } = breaker({ trip: 'consecutiveFailures >= 1' })
    const stop = new AbortController()
    const target: Target = { kind: 'http', name: 'app', send: async () => (stop.abort(), { ok: false, reason: 'request aborted' }) }
    await guardTarget(target, b, (r) => !r.ok).send(request(stop.signal))
    expect(b.state).toBe('closed')
    expect(b.counts.totalFailures).toBe(0)
  })
})
