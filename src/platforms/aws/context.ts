import type { Context } from 'aws-lambda'

/** What the invocation has left, when the context can tell (a real Lambda context can; test contexts may not). */
export function remainingTime(context: Partial<Context> | undefined): number | undefined {
  const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : undefined
  return typeof remaining === 'number' && Number.isFinite(remaining) ? remaining : undefined
}
