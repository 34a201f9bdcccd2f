import middy, { type MiddlewareObj } from '@middy/core'
import type { Context } from 'aws-lambda'
import type { ApiResponse } from '../../http/types.js'
import { runWithDeadline } from '../../function-runtime/deadline.js'
import type { FunctionLogger, FunctionRuntime } from '../../function-runtime/runtime.js'
import { failureResponse } from '../http-function/failure.js'
import { lazyPublishApi, type PublishFunctionOptions } from '../http-function/publish-api.js'
import { remainingTime } from './context.js'
import { toApiRequest, toHttpResult, type AwsHttpEvent, type AwsHttpResult, type AwsHttpTranslateOptions } from './http-event.js'

export type HttpPublishHandler = (event: AwsHttpEvent, context: Context) => Promise<AwsHttpResult>

export type HttpPublishOptions = AwsHttpTranslateOptions & PublishFunctionOptions

/**
 * The Dapr publish API behind a Lambda Function URL or an API Gateway HTTP / REST API. The
 * handler only translates: event → ApiRequest, ApiResponse → result. Every broker wait is
 * bounded by the component's `publishTimeout` and by what the invocation has left, so the
 * answer is a 500 in time rather than a Lambda timeout.
 */
export function createHttpPublishHandler(runtime: FunctionRuntime, options: HttpPublishOptions = {}): HttpPublishHandler {
  const publishApi = lazyPublishApi(runtime, options)
  const handler = middy<AwsHttpEvent, AwsHttpResult>()
    .use(httpFailureResponse({ logger: runtime.logger }))
    .handler(async (event: AwsHttpEvent, context: Context): Promise<AwsHttpResult> => {
      const request = toApiRequest(event, options)
      try {
        const response = await runWithDeadline(remainingTime(context), async () => {
          const api = await publishApi()
          return api(request)
        })
        return toHttpResult(response)
      } finally {
        await runtime.flushTraces()
      }
    })
  return handler
}

export interface HttpFailureResponseOptions {
  logger?: FunctionLogger
}

/**
 * `onError`: whatever the handler threw becomes a Dapr-shaped error response (400 for an
 * event that is no HTTP request, 500 otherwise), the way `@middy/http-error-handler` answers
 * instead of failing the invocation.
 */
export function httpFailureResponse(options: HttpFailureResponseOptions = {}): MiddlewareObj<AwsHttpEvent, AwsHttpResult> {
  const logger = options.logger ?? console
  return {
    onError: (request) => {
      if (request.response !== undefined && request.response !== null) return
      const response: ApiResponse = failureResponse(request.error, logger)
      request.response = toHttpResult(response)
    },
  }
}
