/**
 * Retry stage: re-run a delivery while its outcome is `retry`, with jittered backoff, until
 * the policy's retries are used up or the forwarder is stopped. Hand-written rather than
 * cockatiel: the policy must follow Dapr Resiliency's shape and defaults exactly (including
 * maxRetries -1 = forever) and the loop must stop on an AbortSignal without a late attempt.
 */
import { sleep } from '../core/timeout.js'
import type { Outcome, RetryPolicy } from './types.js'

/** Without a Resiliency policy: exponential 250 ms -> 10 s with jitter, 10 retries. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  policy: 'exponential',
  initialIntervalMs: 250,
  maxIntervalMs: 10_000,
  maxRetries: 10,
  multiplier: 2,
  randomizationFactor: 0.5,
})

/**
 * The wait before retry number `retry` (0 = the first retry). `random` in [0, 1).
 * Exponential: min(max, initial * multiplier^retry), spread by the randomization factor and
 * kept within the cap. Constant: the interval, no jitter (as dapr/kit's constant backoff).
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  if (policy.policy === 'constant') return policy.initialIntervalMs
  const base = Math.min(policy.maxIntervalMs, policy.initialIntervalMs * policy.multiplier ** retry)
  const f = policy.randomizationFactor
  const spread = base * (1 - f + 2 * f * random())
  return Math.max(0, Math.min(policy.maxIntervalMs, Math.round(spread)))
}

export interface RetryOptions {
  signal?: AbortSignal
  /** Called before each wait: the retry number (1-based), the wait and the outcome that caused it. */
  onRetry?: (retry: number, delayMs: number, outcome: Outcome) => void
  random?: () => number
  sleep?: (ms: number, signal?: AbortSignal) => Promise<boolean>
}

/**
 * Runs `attempt` until it is not `retry`, the retries are used up or `signal` aborts; returns
 * the last outcome (so `retry` means "gave up").
 */
export async function withRetry(attempt: () => Promise<Outcome>, policy: RetryPolicy, options: RetryOptions = {}): Promise<Outcome> {
  const wait = options.sleep ?? sleep
  for (let retry = 0; ; retry++) {
    const outcome = await attempt()
    if (outcome.kind !== 'retry') return outcome
    if (policy.maxRetries >= 0 && retry >= policy.maxRetries) return outcome
    if (options.signal?.aborted) return outcome
    const delay = backoffDelay(policy, retry, options.random)
    options.onRetry?.(retry + 1, delay, outcome)
    if (!(await wait(delay, options.signal))) return outcome
  }
}
