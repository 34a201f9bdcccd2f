import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions'
import { failureResponse } from '../shared/failure.js'
import type { FunctionRuntime } from '../shared/runtime.js'
import { toApiRequest, toHttpResponseInit, type AzureHttpTranslateOptions } from './http-request.js'

export type AzureHttpPublishOptions = AzureHttpTranslateOptions

/**
 * The Dapr publish API as an Azure Functions HTTP handler (v4 model). Translation only; the
 * publish API answers every request itself and bounds every broker wait by the component's
 * `publishTimeout`, so a broker that is down is a 500 within that bound.
 */
export function createAzureHttpPublishHandler(runtime: FunctionRuntime, options: AzureHttpPublishOptions = {}): HttpHandler {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    try {
      const apiRequest = await toApiRequest(request, options)
      const api = await runtime.publishApi()
      return toHttpResponseInit(await api(apiRequest))
    } catch (error) {
      return toHttpResponseInit(failureResponse(error, contextLogger(context, runtime)))
    }
  }
}

/** The invocation's log when there is one (it carries the invocation id), else the runtime's. */
export function contextLogger(context: InvocationContext | undefined, runtime: FunctionRuntime): FunctionRuntime['logger'] {
  if (!context) return runtime.logger
  return {
    error: (message, ...details) => context.error(message, ...details),
    warn: (message, ...details) => context.warn(message, ...details),
  }
}
