import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions'
import type { FunctionRuntime } from '../../function-runtime/runtime.js'
import { failureResponse } from '../http-function/failure.js'
import { lazyPublishApi, type PublishFunctionOptions } from '../http-function/publish-api.js'
import { contextLogger } from './context-logger.js'
import { toApiRequest, toHttpResponseInit, type AzureHttpTranslateOptions } from './http-request.js'

export type AzureHttpPublishOptions = AzureHttpTranslateOptions & PublishFunctionOptions

/**
 * The Dapr publish API as an Azure Functions HTTP handler (v4 model). Translation only; the
 * publish API answers every request itself and bounds every broker wait by the component's
 * `publishTimeout`, so a broker that is down is a 500 within that bound.
 */
export function createAzureHttpPublishHandler(runtime: FunctionRuntime, options: AzureHttpPublishOptions = {}): HttpHandler {
  const publishApi = lazyPublishApi(runtime, options)
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    try {
      const apiRequest = await toApiRequest(request, options)
      const api = await publishApi()
      return toHttpResponseInit(await api(apiRequest))
    } catch (error) {
      return toHttpResponseInit(failureResponse(error, contextLogger(context, runtime)))
    } finally {
      await runtime.flushTraces()
    }
  }
}
