import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * The end of the current invocation, so that every broker wait inside it is bounded by what
 * the platform still allows (Lambda's `getRemainingTimeInMillis`): a function answers 500 or
 * reports a failed record itself instead of being killed mid-wait.
 */
const invocation = new AsyncLocalStorage<number>()

/** Time kept back from the platform's deadline to write the answer. */
export const DEADLINE_MARGIN_MS = 250

/** Runs `fn` with a deadline `remainingMs` from now; no deadline when undefined. */
export function runWithDeadline<T>(remainingMs: number | undefined, fn: () => Promise<T>): Promise<T> {
  if (remainingMs === undefined || !Number.isFinite(remainingMs)) return fn()
  return invocation.run(Date.now() + remainingMs, fn)
}

/** `configuredMs`, shortened to what the current invocation has left (at least 1 ms). */
export function boundByDeadline(configuredMs: number): number {
  const deadline = invocation.getStore()
  if (deadline === undefined) return configuredMs
  const left = deadline - Date.now() - DEADLINE_MARGIN_MS
  return Math.max(1, Math.min(configuredMs, left))
}
