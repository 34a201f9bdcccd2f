import { apiError } from '../../http/responses.js'
import type { ApiResponse } from '../../http/types.js'
import { FunctionConfigError, type FunctionLogger } from '../../function-runtime/runtime.js'

/** The request is not something the publish API can read (not an HTTP event, unreadable body). */
export class BadRequestError extends Error {
  override name = 'BadRequestError'
}

/**
 * The answer of an HTTP function when the publish API could not answer itself (it never
 * throws, so: bad resources, an event that is no HTTP request, the invocation out of time).
 * Dapr's `{errorCode, message}` body; the details go to the log, not to the caller.
 */
export function failureResponse(error: unknown, logger: FunctionLogger): ApiResponse {
  if (error instanceof BadRequestError) return apiError(400, 'ERR_MALFORMED_REQUEST', error.message)
  if (error instanceof FunctionConfigError) return apiError(500, error.code, error.message)
  if (error instanceof Error && error.name === 'TimeoutError') {
    logger.error(`mqtt-fn: the invocation ran out of time: ${error.message}`)
    return apiError(500, 'ERR_PUBSUB_PUBLISH_MESSAGE', 'the function ran out of time before the broker answered')
  }
  logger.error('mqtt-fn: unexpected error in the HTTP publish function:', error)
  return apiError(500, 'ERR_INTERNAL', 'internal error; see the function log')
}
