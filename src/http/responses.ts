import type { ApiResponse } from './types.js'
import { goMarshal, goQuote as goString } from '../core/envelope/index.js'

/**
 * Dapr's HTTP error bodies, byte for byte where daprd's source says what they are.
 *
 * - `apiError`: daprd's `messages.APIError.JSONErrorValue()`: `{"errorCode","message"}`.
 * - `kitError`: dapr/kit `errors.Error.JSONErrorValue()` as pkg/api/errors/pubsub.go builds it:
 *   `{"errorCode","message","details":[ResourceInfo?, ErrorInfo]}`.
 */

const JSON_HEADERS = { 'content-type': 'application/json' } as const

export function jsonResponse(status: number, body: string, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body }
}

export function emptyResponse(): ApiResponse {
  return { status: 204, headers: {}, body: '' }
}

export function apiError(status: number, errorCode: string, message: string, headers: Record<string, string> = {}): ApiResponse {
  return jsonResponse(status, `{"errorCode":${goString(errorCode)},"message":${goString(message)}}`, headers)
}

export interface KitErrorOptions {
  status: number
  /** Legacy `ERR_...` tag, the body's `errorCode`. */
  errorCode: string
  /** ErrorInfo `reason` (`DAPR_PUBSUB_...`). */
  reason: string
  message: string
  /** Component name for the ResourceInfo detail; absent when daprd skips it (`NotFound`). */
  resourceName?: string
  /** ErrorInfo metadata; `null` marshals as Go's nil map. */
  metadata: Record<string, string> | null
}

export function kitError(o: KitErrorOptions): ApiResponse {
  const details: string[] = []
  if (o.resourceName !== undefined) {
    details.push(
      goMarshal({
        '@type': 'type.googleapis.com/google.rpc.ResourceInfo',
        resource_type: 'pubsub',
        resource_name: o.resourceName,
        owner: '',
        description: o.message,
      }),
    )
  }
  details.push(
    goMarshal({
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: o.reason,
      domain: 'dapr.io',
      metadata: o.metadata,
    }),
  )
  return jsonResponse(
    o.status,
    `{"errorCode":${goString(o.errorCode)},"message":${goString(o.message)},"details":[${details.join(',')}]}`,
  )
}
