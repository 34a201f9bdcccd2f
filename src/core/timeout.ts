/**
 * Bounded waits, written once. Every await on the broker, a target or a close goes through one
 * of these, so that nothing the process waits on can hang it.
 */
import { TimeoutError } from './errors.js'

/** `work`, or a TimeoutError naming `what` after `ms`. The timer never outlives the race. */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms)
  })
  return Promise.race([work, bound]).finally(() => clearTimeout(timer))
}

/**
 * Waits for `work` at most `ms`: true when it settled in time (either way), false when the
 * bound came first. The timer does not keep the process alive.
 */
export function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const bound = new Promise<false>((resolve) => {
    timer = setTimeout(resolve, ms, false)
    timer.unref()
  })
  const settled = work.then(
    () => true as const,
    () => true as const,
  )
  return Promise.race([settled, bound]).finally(() => clearTimeout(timer))
}

/** Sleeps `ms`; resolves false at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve(true)
    }, Math.min(Math.max(ms, 0), 0x7fffffff))
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
