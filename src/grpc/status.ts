/**
 * The gRPC status daprd gives for each publish API error (dapr/dapr pkg/api/errors/pubsub.go at
 * d8450742ce: the same error has an HTTP status and a gRPC code), with the same message and the
 * same details (ResourceInfo, ErrorInfo).
 */
import { status } from '@grpc/grpc-js'
import type { ApiResponse } from '../http/types.js'
import { errorInfo, type ErrorDetail } from './status-details.js'

const BY_ERROR_CODE: Record<string, status> = {
  ERR_PUBSUB_NOT_FOUND: status.INVALID_ARGUMENT,
  ERR_PUBSUB_EMPTY: status.INVALID_ARGUMENT,
  ERR_TOPIC_NAME_EMPTY: status.INVALID_ARGUMENT,
  ERR_PUBSUB_REQUEST_METADATA: status.INVALID_ARGUMENT,
  ERR_PUBSUB_EVENTS_SER: status.INVALID_ARGUMENT,
  ERR_MALFORMED_REQUEST: status.INVALID_ARGUMENT,
  ERR_PUBSUB_FORBIDDEN: status.PERMISSION_DENIED,
  // CloudEventCreation: HTTP 500 but codes.InvalidArgument.
  ERR_PUBSUB_CLOUD_EVENTS_SER: status.INVALID_ARGUMENT,
  ERR_PUBSUB_PUBLISH_MESSAGE: status.INTERNAL,
}

export interface GrpcFailure {
  code: status
  details: string
  /** daprd's legacy error code (the HTTP body's `errorCode`), sent as the `dapr-error-code` trailer (mqtt-fn). */
  errorCode?: string
  /** daprd's rich details, sent as `grpc-status-details-bin`. */
  statusDetails: ErrorDetail[]
}

/**
 * daprd's API token interceptor (pkg/api/grpc/auth.go): `invokev1.ErrorFromHTTPResponseCode(401,
 * detail)`, the message the HTTP status text, the detail in an ErrorInfo.
 */
export function unauthenticated(detail: string): GrpcFailure {
  return {
    code: status.UNAUTHENTICATED,
    details: 'Unauthorized',
    statusDetails: [errorInfo('Unauthorized', { 'http.code': '401', 'http.error_message': detail.slice(0, 63) })],
  }
}

/** The failure for a non-2xx answer of the publish API. */
export function grpcFailure(response: ApiResponse): GrpcFailure {
  if (response.status === 401) return unauthenticated('authentication error: api token mismatch')
  let errorCode: string | undefined
  let message = response.body.trim()
  let statusDetails: ErrorDetail[] = []
  try {
    const parsed = JSON.parse(response.body) as { errorCode?: unknown; message?: unknown; details?: unknown }
    if (typeof parsed.errorCode === 'string') errorCode = parsed.errorCode
    if (typeof parsed.message === 'string') message = parsed.message
    if (Array.isArray(parsed.details)) statusDetails = parsed.details.filter((d): d is ErrorDetail => typeof (d as ErrorDetail | null)?.['@type'] === 'string')
  } catch {
    // A plain-text body: its text is the message.
  }
  if (errorCode === 'ERR_PUBSUB_NOT_FOUND') {
    // gRPC's validateAndGetPubsubAndTopic builds NotFound WithMetadata(nil), HTTP with the request's.
    statusDetails = statusDetails.map((d) => (d['@type'].endsWith('.ErrorInfo') ? { ...d, metadata: {} } : d))
  }
  // mqtt-fn's in-flight refusal (429) keeps daprd's PublishMessage body; on gRPC it is the code
  // clients retry on, not PublishMessage's INTERNAL.
  const code =
    response.status === 429
      ? status.RESOURCE_EXHAUSTED
      : ((errorCode !== undefined ? BY_ERROR_CODE[errorCode] : undefined) ?? (response.status >= 500 ? status.INTERNAL : status.INVALID_ARGUMENT))
  return { code, details: message, statusDetails, ...(errorCode === undefined ? {} : { errorCode }) }
}
