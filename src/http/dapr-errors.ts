import type { ApiResponse } from './types.js'
import { apiError, kitError } from './responses.js'

/**
 * The error responses of daprd's publish API. Each one names its source; statuses, codes,
 * messages and details follow dapr/dapr `pkg/api/errors/pubsub.go`, `pkg/messages/predefined.go`
 * and `pkg/messages/errorcodes/errorcodes.go` (dapr/dapr d8450742ce). Responses that daprd does
 * not have are marked "mqtt-fn".
 */

/** `PubSub(name).WithMetadata(md).NotFound()`: no ResourceInfo (skipResourceInfo). */
export function pubsubNotFound(name: string, requestMetadata: Record<string, string>): ApiResponse {
  return kitError({
    status: 404,
    errorCode: 'ERR_PUBSUB_NOT_FOUND',
    reason: 'DAPR_PUBSUB_NOT_FOUND',
    message: `pubsub ${name} is not found`,
    metadata: requestMetadata,
  })
}

/** `PubSub("").WithMetadata(md).NameEmpty()`. */
export function pubsubNameEmpty(requestMetadata: Record<string, string>): ApiResponse {
  return kitError({
    status: 404,
    errorCode: 'ERR_PUBSUB_EMPTY',
    reason: 'DAPR_PUBSUB_NAME_EMPTY',
    message: 'pubsub name is empty',
    resourceName: '',
    metadata: requestMetadata,
  })
}

/** `PubSub(name).WithMetadata(md).TopicEmpty()`. */
export function topicEmpty(name: string, requestMetadata: Record<string, string>): ApiResponse {
  return kitError({
    status: 404,
    errorCode: 'ERR_TOPIC_NAME_EMPTY',
    reason: 'DAPR_PUBSUB_TOPIC_NAME_EMPTY',
    message: `topic is empty in pubsub ${name}`,
    resourceName: name,
    metadata: requestMetadata,
  })
}

/** `PubSub(name).WithMetadata(md).DeserializeError(err)`: a bad `rawPayload` (and, in mqtt-fn, `retain`). */
export function metadataDeserialize(name: string, requestMetadata: Record<string, string>, error: string): ApiResponse {
  return kitError({
    status: 400,
    errorCode: 'ERR_PUBSUB_REQUEST_METADATA',
    reason: 'DAPR_PUBSUB_METADATA_DESERIALIZATION',
    message: `failed deserializing metadata. Error: ${error}`,
    resourceName: name,
    metadata: requestMetadata,
  })
}

/** `PubSub(name).WithAppError(appID, err).CloudEventCreation()`. */
export function cloudEventCreation(name: string, appId: string, error: string): ApiResponse {
  return kitError({
    status: 500,
    errorCode: 'ERR_PUBSUB_CLOUD_EVENTS_SER',
    reason: 'DAPR_PUBSUB_CLOUD_EVENT_CREATION',
    message: 'cannot create cloudevent',
    resourceName: name,
    metadata: { appID: appId, error },
  })
}

/** `PubSub(name).PublishForbidden(topic, appID, NotAllowedError)`; the error text is `messages.ErrPubsubForbidden`. */
export function publishForbidden(name: string, topic: string, appId: string): ApiResponse {
  const message = `topic ${topic} is not allowed for app id ${appId}`
  return kitError({
    status: 403,
    errorCode: 'ERR_PUBSUB_FORBIDDEN',
    reason: 'DAPR_PUBSUB_FORBIDDEN',
    message,
    resourceName: name,
    metadata: { topic, error: message },
  })
}

/** `PubSub(name).PublishMessage(topic, err)`. */
export function publishMessage(name: string, topic: string, error: string): ApiResponse {
  return kitError({
    status: 500,
    errorCode: 'ERR_PUBSUB_PUBLISH_MESSAGE',
    reason: 'DAPR_PUBSUB_PUBLISH_MESSAGE',
    message: `error when publishing to topic ${topic} in pubsub ${name}: ${error}`,
    resourceName: name,
    metadata: { topic, error },
  })
}

/**
 * mqtt-fn: a publish refused because `limit` publish requests are in flight already. daprd has no
 * such limit; the body is its `PublishMessage` error (what a Dapr SDK already reports as a failed
 * publish), the status 429 and `Retry-After` say that it was not attempted and when to try again.
 */
export function tooManyInFlight(name: string, topic: string, limit: number, retryAfterSeconds: number): ApiResponse {
  const error = `too many publish requests in flight (limit ${limit}); not attempted, retry after ${retryAfterSeconds} s`
  const response = publishMessage(name, topic, error)
  return { ...response, status: 429, headers: { ...response.headers, 'retry-after': String(retryAfterSeconds) } }
}

/** `PubSub(name).WithAppError(appID, err).WithTopic(topic).MarshalEnvelope()`: a bulk event that does not fit its contentType. */
export function marshalEnvelope(name: string, topic: string, appId: string, error: string): ApiResponse {
  return kitError({
    status: 400,
    errorCode: 'ERR_PUBSUB_EVENTS_SER',
    reason: 'DAPR_PUBSUB_MARSHAL_ENVELOPE',
    message: `error when marshalling cloud event envelope for topic ${topic} pubsub ${name}: ${error}`,
    resourceName: name,
    metadata: { appID: appId, error },
  })
}

/** `...WithTopic(topic).MarshalEvents()`: a bulk entryId that is empty or repeated. */
export function marshalEvents(name: string, topic: string, appId: string, error: string): ApiResponse {
  return kitError({
    status: 400,
    errorCode: 'ERR_PUBSUB_EVENTS_SER',
    reason: 'DAPR_PUBSUB_MARSHAL_EVENTS',
    message: `error marshaling events to bytes for topic ${topic} pubsub ${name}. error: ${error}`,
    resourceName: name,
    metadata: { appID: appId, error },
  })
}

/** `PubSub(name).WithAppError(appID, nil).WithTopic(topic).UnmarshalEvents(err)`: a bulk body that is not the entry list. */
export function unmarshalEvents(name: string, topic: string, appId: string, error: string): ApiResponse {
  return kitError({
    status: 400,
    errorCode: 'ERR_PUBSUB_EVENTS_SER',
    reason: 'DAPR_PUBSUB_UNMARSHAL_EVENTS',
    message: `error when unmarshaling the request for topic ${topic} pubsub ${name}: ${error}`,
    resourceName: name,
    metadata: { appID: appId },
  })
}

/**
 * daprd's answer to every path it has no route for, and to a wrong method on a known route:
 * its fallback is service invocation, which without a `dapr-app-id` fails with
 * `messages.ErrDirectInvokeNoAppID` (404). mqtt-fn uses it for unknown paths.
 */
export function noRoute(): ApiResponse {
  return apiError(404, 'ERR_DIRECT_INVOKE', 'failed getting app id either from the URL path or the header dapr-app-id')
}

/** mqtt-fn: daprd answers a wrong method with the 404 above; a 405 with `Allow` says what is wrong. */
export function methodNotAllowed(method: string, path: string, allowed: readonly string[]): ApiResponse {
  return apiError(405, 'ERR_METHOD_NOT_ALLOWED', `method ${method} is not allowed on ${path}; use ${allowed.join(' or ')}`, {
    allow: allowed.join(', '),
  })
}

/**
 * mqtt-fn: a body over the limit. daprd reads it through a limited reader and answers 500
 * `ERR_PUBSUB_PUBLISH_MESSAGE` "...: stream too large"; the code and message format here are
 * daprd's `messages.ErrBodyRead`, the status the one HTTP has for it.
 */
export function bodyTooLarge(limit: number): ApiResponse {
  return apiError(413, 'ERR_BODY_READ', `failed to read request body: stream too large (limit ${limit} bytes)`)
}

/**
 * mqtt-fn: a topic MQTT or the broker cannot carry (wildcards, control characters, noncharacters,
 * not UTF-8, too long, too deep; `publishTopicProblem`). daprd passes it to the broker, which
 * drops the connection; the code is daprd's `messages.ErrMalformedRequest` tag.
 */
export function malformedRequest(message: string): ApiResponse {
  return apiError(400, 'ERR_MALFORMED_REQUEST', message)
}

/** daprd's `http.Error(w, "invalid api token", 401)` in `APITokenAuthMiddleware`: plain text, not JSON. */
export function invalidApiToken(): ApiResponse {
  return {
    status: 401,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
    body: 'invalid api token\n',
  }
}

/** An exception nobody expected: `errorcodes.CommonInternal`; the details go to the log, not the caller. */
export function internalError(): ApiResponse {
  return apiError(500, 'ERR_INTERNAL', 'internal error')
}
