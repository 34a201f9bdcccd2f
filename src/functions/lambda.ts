/**
 * The functions API on AWS Lambda: a middy middleware that gives a handler `context.pubsub`,
 * and `topicHandler` for deliveries by Lambda Invoke (the forwarder's `lambda:` routes) and by
 * HTTP (Function URL / API Gateway events on an `http(s)://` or app route).
 */
import type { MiddlewareObj } from '@middy/core'
import type { Context } from 'aws-lambda'
import { remainingTime } from '../platforms/aws/context.js'
import { handleBulk, handleOne, isBulkEnvelope, type TopicFunction, type TopicLogger, type TopicStatus } from './delivery.js'
import { boundPubsub, publishApiFor, type FunctionPubsub, type PubsubOptions } from './pubsub.js'

/** A Lambda context with the pubsub the middleware put there. */
export type PubsubContext = Context & { pubsub: FunctionPubsub }

/**
 * `context.pubsub` for every invocation (`middy().use(pubsubMiddleware())` types the handler's
 * context as PubsubContext): one publish API and one connection per instance
 * (created by the first publish, reused while warm), each call bounded by
 * `context.getRemainingTimeInMillis()`.
 */
export function pubsubMiddleware<E = unknown, R = unknown>(options: PubsubOptions = {}): MiddlewareObj<E, R, Error, PubsubContext> {
  const api = publishApiFor(options)
  return {
    before: (request) => {
      // The context the platform passed gets its pubsub here; middy's types then carry it to the handler.
      const context = request.context
      context.pubsub = boundPubsub(api, () => remainingTime(context))
    },
    // The publish spans leave before the invocation ends (a frozen sandbox sends nothing).
    after: () => api.flushTraces(),
    onError: () => api.flushTraces(),
  }
}

export interface TopicHandlerOptions {
  /** Default: `console`. */
  logger?: TopicLogger
}

interface HttpLikeEvent {
  requestContext: unknown
  body?: string | null
  isBase64Encoded?: boolean
}

function isHttpEvent(event: unknown): event is HttpLikeEvent {
  return typeof event === 'object' && event !== null && 'requestContext' in event && ('rawPath' in event || 'httpMethod' in event)
}

type DaprAnswer = { status: TopicStatus } | { statuses: { entryId: string; status: TopicStatus }[] }

/**
 * A Lambda handler for topic deliveries: `fn(event, context)` gets the CloudEvent with `data`
 * decoded and returns `'SUCCESS' | 'RETRY' | 'DROP'` or nothing (SUCCESS); a throw is RETRY.
 * The answer is Dapr's `{ status }` (a bulk envelope: `{ statuses }`), as the Invoke payload,
 * or as a 200 JSON body when the event is an HTTP request.
 */
export function topicHandler<T = unknown, C extends Context = Context>(fn: TopicFunction<T, C>, options: TopicHandlerOptions = {}) {
  const logger = options.logger ?? console
  const answer = async (payload: unknown, context: C): Promise<DaprAnswer> =>
    isBulkEnvelope(payload) ? handleBulk(fn, payload, context, logger) : { status: await handleOne(fn, payload, context, logger) }

  return async (event: unknown, context: C): Promise<DaprAnswer | { statusCode: number; headers: Record<string, string>; body: string }> => {
    if (!isHttpEvent(event)) return answer(event, context)
    const text = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '')
    let payload: unknown = text
    try {
      payload = JSON.parse(text) as unknown
    } catch {
      // Left as text: handleOne drops it, naming why.
    }
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(await answer(payload, context)) }
  }
}
