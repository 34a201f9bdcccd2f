/**
 * Router stage: picks the route of an event the way daprd's `findMatchingRoute` does. Rules
 * are tried in order with the variable `event` (the CloudEvent as a JSON map); the first
 * `true` wins, an empty match always matches. A non-bool result or an evaluation error (a
 * missing key without `has()`) is an error, not a "no match".
 */
import { celEnv, isCelError, parse, plan, type CelInput } from '@bufbuild/cel'
import type { CompiledRule } from './types.js'

// One environment for every expression: plain CEL, as daprd's (dapr/pkg/expr) has no extra
// functions. Identifiers other than `event` resolve at evaluation time and fail there, as
// cel-go's auto-declared `dyn` variables do when unbound.
const env = celEnv()

/** A compiled CEL predicate, or the parse error's message (with its position). */
export function compileMatch(source: string): { ok: true; test: (event: Record<string, unknown>) => boolean | Error } | { ok: false; error: string } {
  let program: (ctx?: Record<string, CelInput>) => unknown
  try {
    program = plan(env, parse(source))
  } catch (error) {
    return { ok: false, error: (error as Error).message }
  }
  const test = (event: Record<string, unknown>): boolean | Error => {
    let result: unknown
    try {
      // The event is JSON-shaped (strings, numbers, bools, null, arrays, objects), which is
      // what cel-es accepts as input; its typings cannot express "JSON", hence the cast.
      result = program({ event: event as unknown as CelInput })
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error))
    }
    if (isCelError(result)) return new Error(result.message)
    if (typeof result !== 'boolean') return new Error(`expression ${JSON.stringify(source)} did not return a bool`)
    return result
  }
  return { ok: true, test }
}

export type RouteResult =
  | { kind: 'matched'; rule: CompiledRule }
  | { kind: 'none' }
  | { kind: 'error'; error: Error; match: string }

export function route(rules: readonly CompiledRule[], event: Record<string, unknown>): RouteResult {
  for (const rule of rules) {
    if (!rule.test) return { kind: 'matched', rule }
    const result = rule.test(event)
    if (result instanceof Error) return { kind: 'error', error: result, match: rule.match }
    if (result) return { kind: 'matched', rule }
  }
  return { kind: 'none' }
}
