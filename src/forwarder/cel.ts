/**
 * CEL predicates as daprd evaluates them (route `match`, circuit breaker `trip`): plain CEL,
 * no extra functions (dapr/pkg/expr). Identifiers that the context does not bind resolve at
 * evaluation time and fail there, as cel-go's auto-declared `dyn` variables do when unbound.
 */
import { createRequire } from 'node:module'
import type { CelEnv, CelInput } from '@bufbuild/cel'

type CelModule = typeof import('@bufbuild/cel')

/**
 * cel-es is ~14 MB of a forwarder's idle RSS, and most resources have no expression at all:
 * it is loaded, synchronously, by the first expression compiled. Its CommonJS build, so that
 * compiling stays synchronous (a dynamic import would make every compile step async).
 */
let cel: { module: CelModule; env: CelEnv } | undefined

function engine(): { module: CelModule; env: CelEnv } {
  if (!cel) {
    const module = createRequire(import.meta.url)('@bufbuild/cel') as CelModule
    cel = { module, env: module.celEnv() }
  }
  return cel
}

export type CelPredicate = (context: Record<string, CelInput>) => boolean | Error

/**
 * A compiled predicate, or the parse error's message (with its position). The predicate
 * returns true/false, or an Error when the expression fails on this context or is not a bool.
 */
export function compilePredicate(source: string): { ok: true; test: CelPredicate } | { ok: false; error: string } {
  const { module, env } = engine()
  const { isCelError } = module
  let program: (ctx?: Record<string, CelInput>) => unknown
  try {
    program = module.plan(env, module.parse(source))
  } catch (error) {
    return { ok: false, error: (error as Error).message }
  }
  const test: CelPredicate = (context) => {
    let result: unknown
    try {
      result = program(context)
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error))
    }
    if (isCelError(result)) return new Error(result.message)
    if (typeof result !== 'boolean') return new Error(`expression ${JSON.stringify(source)} did not return a bool`)
    return result
  }
  return { ok: true, test }
}
