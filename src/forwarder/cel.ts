/**
 * CEL predicates as daprd evaluates them (route `match`, circuit breaker `trip`): plain CEL,
 * no extra functions (dapr/pkg/expr). Identifiers that the context does not bind resolve at
 * evaluation time and fail there, as cel-go's auto-declared `dyn` variables do when unbound.
 */
import { celEnv, isCelError, parse, plan, type CelInput } from '@bufbuild/cel'

const env = celEnv()

export type CelPredicate = (context: Record<string, CelInput>) => boolean | Error

/**
 * A compiled predicate, or the parse error's message (with its position). The predicate
 * returns true/false, or an Error when the expression fails on this context or is not a bool.
 */
export function compilePredicate(source: string): { ok: true; test: CelPredicate } | { ok: false; error: string } {
  let program: (ctx?: Record<string, CelInput>) => unknown
  try {
    program = plan(env, parse(source))
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
