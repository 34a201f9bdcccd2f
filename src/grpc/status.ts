/**
 * The gRPC status daprd gives for each publish API error (dapr/dapr pkg/api/errors: the same
 * error has an HTTP status and a gRPC code), with the same message.
 */
import { status } from '@grpc/grpc-js'
import type { ApiResponse } from '../http/types.js'

const BY_ERROR_CODE: Record<string, status> = {
  ERR_PUBSUB_NOT_FOUND: status.INVALID_ARGUMENT,
  ERR_PUBSUB_EMPTY: status.INVALID_ARGUMENT,
  ERR_TOPIC_NAME_EMPTY: status.INVALID_ARGUMENT,
  ERR_PUBSUB_REQUEST_METADATA: status.INVALID_ARGUMENT,
  ERR_PUBSUB_EVENTS_SER: status.INVALID_ARGUMENT,
  ERR_MALFORMED_REQUEST: status.INVALID_ARGUMENT,
  ERR_PUBSUB_FORBIDDEN: status.PERMISSION_DENIED,
  ERR_PUBSUB_CLOUD_EVENTS_SER: status.INTERNAL,
  ERR_PUBSUB_PUBLISH_MESSAGE: status.INTERNAL,
}

export interface GrpcFailure {
  code: status
  details: string
  /** daprd's error code, also sent as the `dapr-error-code` trailer. */
  errorCode?: string
}

/** The failure for a non-2xx answer of the publish API. */
export function grpcFailure(response: ApiResponse): GrpcFailure {
  if (response.status === 401) return { code: status.UNAUTHENTICATED, details: 'Unauthorized: authentication error: api token mismatch or missing dapr-api-token metadata' }
  let errorCode: string | undefined
  let message = response.body.trim()
  try {
    const parsed = JSON.parse(response.body) as { errorCode?: unknown; message?: unknown }
    if (typeof parsed.errorCode === 'string') errorCode = parsed.errorCode
    if (typeof parsed.message === 'string') message = parsed.message
  } catch {
    // A plain-text body: its text is the message.
  }
  const code = (errorCode !== undefined ? BY_ERROR_CODE[errorCode] : undefined) ?? (response.status >= 500 ? status.INTERNAL : status.INVALID_ARGUMENT)
  return { code, details: message, ...(errorCode === undefined ? {} : { errorCode }) }
}
