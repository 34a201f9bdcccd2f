/**
 * daprd's rich error details on gRPC: dapr/kit errors send a google.rpc.Status in the
 * `grpc-status-details-bin` trailer, its details the same ResourceInfo and ErrorInfo that the
 * HTTP API puts in the body's `details` (grpc-go `status.WithDetails`, each packed in an Any).
 */
import { create, toBinary } from '@bufbuild/protobuf'
import { anyPack, type Any } from '@bufbuild/protobuf/wkt'
import { ErrorInfoSchema, ResourceInfoSchema, StatusSchema } from './gen/google/rpc/status_subset_pb.js'

/** One entry of an HTTP error body's `details`, as dapr/kit marshals it. */
export interface ErrorDetail {
  '@type': string
  [field: string]: unknown
}

const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo'
const RESOURCE_INFO = 'type.googleapis.com/google.rpc.ResourceInfo'

const text = (value: unknown): string => (typeof value === 'string' ? value : '')

function textMap(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object') return {}
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, text(v)]))
}

/** The details daprd sends in gRPC (ErrorInfo, ResourceInfo); others are left out. */
function pack(detail: ErrorDetail): Any | undefined {
  if (detail['@type'] === ERROR_INFO) {
    return anyPack(ErrorInfoSchema, create(ErrorInfoSchema, { reason: text(detail.reason), domain: text(detail.domain), metadata: textMap(detail.metadata) }))
  }
  if (detail['@type'] === RESOURCE_INFO) {
    return anyPack(
      ResourceInfoSchema,
      create(ResourceInfoSchema, {
        resourceType: text(detail.resource_type),
        resourceName: text(detail.resource_name),
        owner: text(detail.owner),
        description: text(detail.description),
      }),
    )
  }
  return undefined
}

/** The `grpc-status-details-bin` value for this status, or undefined when there are no details. */
export function statusDetailsBin(code: number, message: string, details: readonly ErrorDetail[]): Buffer | undefined {
  const packed = details.map(pack).filter((d): d is Any => d !== undefined)
  if (packed.length === 0) return undefined
  return Buffer.from(toBinary(StatusSchema, create(StatusSchema, { code, message, details: packed })))
}

/** An ErrorInfo detail in dapr/kit's JSON shape. */
export function errorInfo(reason: string, metadata: Record<string, string>): ErrorDetail {
  return { '@type': ERROR_INFO, reason, domain: 'dapr.io', metadata }
}
