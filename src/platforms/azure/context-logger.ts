import type { InvocationContext } from '@azure/functions'
import type { FunctionRuntime } from '../../function-runtime/runtime.js'

/** The invocation's log when there is one (it carries the invocation id), else the runtime's. */
export function contextLogger(context: InvocationContext | undefined, runtime: FunctionRuntime): FunctionRuntime['logger'] {
  if (!context) return runtime.logger
  return {
    error: (message, ...details) => context.error(message, ...details),
    warn: (message, ...details) => context.warn(message, ...details),
  }
}
