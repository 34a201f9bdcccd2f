import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ResourceError } from '../../../src/core/errors.js'
import type { OtherResource } from '../../../src/core/resources/types.js'
import { DEFAULT_RETRY_POLICY, backoffDelay, withRetry } from '../../../src/forwarder/retry.js'
import { durationMs, inboundResiliency } from '../../../src/forwarder/resiliency.js'
import type { Outcome, RetryPolicy } from '../../../src/forwarder/types.js'

const retry: Outcome = { kind: 'retry', reason: 'x' }
const noSleep = async () => true

describe('backoffDelay', () => {
  it('default: exponential from 250 ms, jittered, capped at 10 s', () => {
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 0, () => 0.5)).toBe(250)
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 0, () => 0)).toBe(125)
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 3, () => 0.5)).toBe(2000)
    expect(backoffDelay(DEFAULT_RETRY_POLICY, 20, () => 0.999)).toBe(10_000)
  })

  it('stays within [base*(1-f), min(max, base*(1+f))] and never exceeds the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 0.9999, noNaN: true }), (n, r) => {
        const d = backoffDelay(DEFAULT_RETRY_POLICY, n, () => r)
        const base = Math.min(10_000, 250 * 2 ** n)
        expect(d).toBeGreaterThanOrEqual(Math.floor(base * 0.5))
        expect(d).toBeLessThanOrEqual(10_000)
      }),
    )
  })

  it('constant: the interval, without jitter', () => {
    const p: RetryPolicy = { policy: 'constant', initialIntervalMs: 5000, maxIntervalMs: 5000, maxRetries: 3, multiplier: 1, randomizationFactor: 0 }
    expect(backoffDelay(p, 7, () => 0.9)).toBe(5000)
  })
})

describe('withRetry', () => {
  it('gives up after maxRetries retries (maxRetries + 1 attempts) and returns the last outcome', async () => {
    let attempts = 0
    const delays: number[] = []
    const out = await withRetry(async () => (attempts++, retry), { ...DEFAULT_RETRY_POLICY, maxRetries: 10 }, { sleep: async (ms) => (delays.push(ms), true) })
    expect(out.kind).toBe('retry')
    expect(attempts).toBe(11)
    expect(delays).toHaveLength(10)
  })

  it('stops at once on success or drop', async () => {
    for (const final of [{ kind: 'success' }, { kind: 'drop', reason: 'd' }] as Outcome[]) {
      let attempts = 0
      const out = await withRetry(async () => (++attempts < 3 ? retry : final), DEFAULT_RETRY_POLICY, { sleep: noSleep })
      expect(out).toEqual(final)
      expect(attempts).toBe(3)
    }
  })

  it('maxRetries -1 retries until it works', async () => {
    let attempts = 0
    const out = await withRetry(async () => (++attempts < 50 ? retry : { kind: 'success' }), { ...DEFAULT_RETRY_POLICY, maxRetries: -1 }, { sleep: noSleep })
    expect(out.kind).toBe('success')
  })

  it('an abort ends the wait and makes no further attempt', async () => {
    const controller = new AbortController()
    let attempts = 0
    let waiting!: () => void
    const inBackoff = new Promise<void>((r) => (waiting = r))
    const running = withRetry(async () => (attempts++, retry), { ...DEFAULT_RETRY_POLICY, initialIntervalMs: 60_000, maxIntervalMs: 60_000 }, {
      signal: controller.signal,
      onRetry: () => waiting(), // called as the 60 s backoff begins
    })
    await inBackoff
    controller.abort()
    expect((await running).kind).toBe('retry')
    expect(attempts).toBe(1)
  })
})

describe('durationMs: Go durations through core/envelope/go-strconv.ts', () => {
  it.each([
    ['5s', 5000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['0', 0],
    ['250us', 0.25],
    ['2h45m', 9_900_000],
  ])('%s = %d ms', (text, ms) => expect(durationMs(text)).toBe(ms))
  it.each(['', '5', 's', '5 s', '1d', '-', 'abc', ' 5s'])('%j is not a duration', (text) => expect(durationMs(text)).toBeUndefined())
  it('is not a string: no duration', () => expect(durationMs(5)).toBeUndefined())
})

describe('inboundResiliency', () => {
  const resiliency = (spec: unknown): OtherResource => ({ kind: 'Resiliency', name: 'r', file: 'res.yaml', document: 1, spec })

  it('reads the retry and timeout policies that targets.components.<pubsub>.inbound names', () => {
    const r = inboundResiliency(
      [
        resiliency({
          policies: {
            retries: { pubsubRetry: { policy: 'constant', duration: '5s', maxRetries: 10 }, exp: { policy: 'exponential', maxInterval: '15s', maxRetries: '3' } },
            timeouts: { short: '2s' },
          },
          targets: { components: { mqtt: { inbound: { retry: 'pubsubRetry', timeout: 'short' } }, other: { inbound: { retry: 'exp' } } } },
        }),
      ],
      'mqtt',
    )
    expect(r.retry).toEqual({ policy: 'constant', initialIntervalMs: 5000, maxIntervalMs: 5000, maxRetries: 10, multiplier: 1, randomizationFactor: 0 })
    expect(r.timeoutMs).toBe(2000)
    const other = inboundResiliency([resiliency({ policies: { retries: { exp: { policy: 'exponential', maxInterval: '15s', maxRetries: '3' } } }, targets: { components: { other: { inbound: { retry: 'exp' } } } } })], 'other')
    expect(other.retry).toMatchObject({ policy: 'exponential', initialIntervalMs: 500, maxIntervalMs: 15_000, maxRetries: 3, multiplier: 1.5 })
  })

  it('Dapr defaults: a policy without maxRetries retries forever', () => {
    const r = inboundResiliency([resiliency({ policies: { retries: { p: { policy: 'constant' } } }, targets: { components: { mqtt: { inbound: { retry: 'p' } } } } })], 'mqtt')
    expect(r.retry).toMatchObject({ initialIntervalMs: 5000, maxRetries: -1 })
  })

  it('says that retry `matching` is not supported rather than ignoring it silently', () => {
    const r = inboundResiliency(
      [resiliency({ policies: { retries: { DefaultRetryPolicy: { policy: 'constant', duration: '1s', matching: { httpStatusCodes: '429,500-599' } } } } })],
      'mqtt',
    )
    expect(r.retry).toMatchObject({ initialIntervalMs: 1000 })
    expect(r.warnings).toEqual([expect.stringContaining('spec.policies.retries.DefaultRetryPolicy.matching (retry only some status codes) is not supported')])
  })

  it('nothing for a pubsub no Resiliency targets', () => {
    expect(inboundResiliency([resiliency({ targets: { components: { other: {} } } })], 'mqtt').retry).toBeUndefined()
  })

  it("daprd's default policies apply where no target names one, the most specific name first", () => {
    const constant = (d: string) => ({ policy: 'constant', duration: d, maxRetries: 1 })
    const all = {
      DefaultRetryPolicy: constant('4s'),
      DefaultComponentRetryPolicy: constant('3s'),
      DefaultComponentInboundRetryPolicy: constant('2s'),
      DefaultPubsubComponentInboundRetryPolicy: constant('1s'),
    }
    const pick = (names: (keyof typeof all)[], targets: unknown = {}) =>
      inboundResiliency([resiliency({ policies: { retries: Object.fromEntries(names.map((n) => [n, all[n]])) }, targets })], 'mqtt').retry?.initialIntervalMs
    expect(pick(['DefaultRetryPolicy', 'DefaultComponentRetryPolicy', 'DefaultComponentInboundRetryPolicy', 'DefaultPubsubComponentInboundRetryPolicy'])).toBe(1000)
    expect(pick(['DefaultRetryPolicy', 'DefaultComponentRetryPolicy', 'DefaultComponentInboundRetryPolicy'])).toBe(2000)
    expect(pick(['DefaultRetryPolicy', 'DefaultComponentRetryPolicy'])).toBe(3000)
    expect(pick(['DefaultRetryPolicy'])).toBe(4000)
    // A named policy on the target wins over every default.
    const named = { components: { mqtt: { inbound: { retry: 'DefaultRetryPolicy' } } } }
    expect(pick(['DefaultRetryPolicy', 'DefaultPubsubComponentInboundRetryPolicy'], named)).toBe(4000)
  })

  it('resolves retry and timeout each on its own: a target naming only a retry still gets the default timeout', () => {
    const r = inboundResiliency(
      [
        resiliency({
          policies: { retries: { fast: { policy: 'constant', duration: '10ms', maxRetries: 2 } }, timeouts: { DefaultTimeoutPolicy: '3s' } },
          targets: { components: { mqtt: { inbound: { retry: 'fast' } } } },
        }),
      ],
      'mqtt',
    )
    expect(r).toMatchObject({ retry: { initialIntervalMs: 10, maxRetries: 2 }, timeoutMs: 3000 })
    expect(r.source).toContain('DefaultTimeoutPolicy')
  })

  it('a malformed default policy is an error naming its field', () => {
    const bad = resiliency({ policies: { timeouts: { DefaultComponentTimeoutPolicy: 'soon' } } })
    expect(() => inboundResiliency([bad], 'mqtt')).toThrow('res.yaml: document 1 (Resiliency/r): spec.policies.timeouts.DefaultComponentTimeoutPolicy: expected a duration')
  })

  it('circuit breakers: the named policy, else the default ones; Dapr defaults for missing fields', () => {
    const named = inboundResiliency(
      [
        resiliency({
          policies: { circuitBreakers: { pubsubCB: { maxRequests: 2, interval: '8s', timeout: '45s', trip: 'consecutiveFailures > 8' }, DefaultCircuitBreakerPolicy: {} } },
          targets: { components: { mqtt: { inbound: { circuitBreaker: 'pubsubCB' } } } },
        }),
      ],
      'mqtt',
    )
    expect(named.circuitBreaker).toMatchObject({ name: 'pubsubCB', maxRequests: 2, intervalMs: 8000, timeoutMs: 45_000, trip: 'consecutiveFailures > 8' })
    const fallback = inboundResiliency([resiliency({ policies: { circuitBreakers: { DefaultComponentInboundCircuitBreakerPolicy: {} } } })], 'mqtt')
    expect(fallback.circuitBreaker).toMatchObject({ name: 'DefaultComponentInboundCircuitBreakerPolicy', maxRequests: 1, intervalMs: 0, timeoutMs: 60_000, trip: 'consecutiveFailures > 5' })
    expect(inboundResiliency([resiliency({ policies: {} })], 'mqtt').circuitBreaker).toBeUndefined()
  })

  it('a circuit breaker with a bad trip, count or duration is an error naming the field', () => {
    const cb = (policy: unknown) => resiliency({ policies: { circuitBreakers: { cb: policy } }, targets: { components: { mqtt: { inbound: { circuitBreaker: 'cb' } } } } })
    expect(() => inboundResiliency([cb({ trip: 'consecutiveFailures >' })], 'mqtt')).toThrow('spec.policies.circuitBreakers.cb.trip: invalid CEL expression')
    expect(() => inboundResiliency([cb({ maxRequests: -1 })], 'mqtt')).toThrow('spec.policies.circuitBreakers.cb.maxRequests: expected an integer >= 0')
    expect(() => inboundResiliency([cb({ timeout: 'later' })], 'mqtt')).toThrow('spec.policies.circuitBreakers.cb.timeout: expected a duration')
    expect(() => inboundResiliency([resiliency({ targets: { components: { mqtt: { inbound: { circuitBreaker: 'none' } } } } })], 'mqtt')).toThrow(
      'spec.targets.components.mqtt.inbound.circuitBreaker: no circuit breaker policy "none"',
    )
  })

  it('names file and field of a missing or malformed policy', () => {
    const bad = resiliency({
      policies: { retries: { p: { policy: 'linear', duration: 'soon' } } },
      targets: { components: { mqtt: { inbound: { retry: 'p' } }, m2: { inbound: { retry: 'nope' } } } },
    })
    expect(() => inboundResiliency([bad], 'mqtt')).toThrow(ResourceError)
    expect(() => inboundResiliency([bad], 'mqtt')).toThrow('res.yaml: document 1 (Resiliency/r): spec.policies.retries.p.policy: expected constant or exponential')
    expect(() => inboundResiliency([bad], 'm2')).toThrow('spec.targets.components.m2.inbound.retry: no retry policy "nope"')
  })
})
