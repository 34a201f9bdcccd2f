/**
 * Router stage: picks the route of an event the way daprd's `findMatchingRoute` does. Rules
 * are tried in order with the variable `event` (the CloudEvent as a JSON map); the first
 * `true` wins, an empty match always matches. A non-bool result or an evaluation error (a
 * missing key without `has()`) is an error, not a "no match".
 */
import type { CelInput } from '@bufbuild/cel'
import { compilePredicate } from './cel.js'
import type { CompiledRule } from './types.js'

/** A compiled route `match` over the variable `event`, or the parse error's message (with its position). */
export function compileMatch(source: string): { ok: true; test: (event: Record<string, unknown>) => boolean | Error } | { ok: false; error: string } {
  const compiled = compilePredicate(source)
  if (!compiled.ok) return compiled
  // The event is JSON-shaped (strings, numbers, bools, null, arrays, objects), which is what
  // cel-es accepts as input; its typings cannot express "JSON", hence the cast.
  return { ok: true, test: (event) => compiled.test({ event: event as unknown as CelInput }) }
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
