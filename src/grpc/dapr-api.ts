/**
 * `dapr.proto.runtime.v1.Dapr` over gRPC, answered by the HTTP publish API in process: each
 * call becomes the request a Dapr client would send over HTTP (in-process-request.ts), so the
 * rules, the CloudEvent and the errors are the HTTP API's, and the answer is mapped to daprd's
 * gRPC status (status.ts). GetMetadata is the HTTP `/v1.0/metadata` in the gRPC message.
 */
import { timingSafeEqual } from 'node:crypto'
import { create } from '@bufbuild/protobuf'
import { EmptySchema } from '@bufbuild/protobuf/wkt'
import { Metadata, status, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js'
import { inProcessPublishRequest } from '../http/in-process-request.js'
import type { ApiHandler, ApiResponse } from '../http/types.js'
import {
  BulkPublishResponseSchema,
  Dapr,
  GetMetadataResponseSchema,
  type BulkPublishRequest,
  type GetMetadataRequest,
  type PublishEventRequest,
} from './gen/dapr_pb.js'
import { SERVED_METHODS } from './service.js'
import { grpcFailure } from './status.js'

export interface GrpcDaprApiOptions {
  /** The publish API (createPublishApi) that answers every call. */
  publishApi: ApiHandler
  /** When set, every call must carry it as `dapr-api-token` metadata (DAPR_API_TOKEN / APP_API_TOKEN). */
  apiToken?: string
}

type Callback = sendUnaryData<unknown>

function fail(callback: Callback, code: status, details: string, errorCode?: string): void {
  const metadata = new Metadata()
  if (errorCode !== undefined) metadata.set('dapr-error-code', errorCode)
  callback({ code, details, metadata })
}

/** The first value of a metadata key as text. */
function metadataValue(call: ServerUnaryCall<unknown, unknown>, key: string): string | undefined {
  const value = call.metadata.get(key)[0]
  return value === undefined ? undefined : Buffer.isBuffer(value) ? value.toString('utf8') : value
}

/** Metadata the publish API reads as headers. */
function forwardedHeaders(call: ServerUnaryCall<unknown, unknown>): Record<string, string | undefined> {
  return {
    'dapr-api-token': metadataValue(call, 'dapr-api-token'),
    traceparent: metadataValue(call, 'traceparent'),
    tracestate: metadataValue(call, 'tracestate'),
  }
}

/** Proto3 has no absent map: an empty one is Go's nil map, as daprd's gRPC API sees it. */
function mapOrNull(map: Record<string, string>): Record<string, string> | null {
  return Object.keys(map).length === 0 ? null : map
}

export function grpcDaprApi(options: GrpcDaprApiOptions): UntypedServiceImplementation {
  const token = options.apiToken === undefined || options.apiToken === '' ? undefined : Buffer.from(options.apiToken, 'utf8')
  const api = options.publishApi

  /** daprd's API token interceptor: before anything else, for every method. */
  const unauthorized = (call: ServerUnaryCall<unknown, unknown>): string | undefined => {
    if (token === undefined) return undefined
    const given = metadataValue(call, 'dapr-api-token')
    if (given === undefined) return 'Unauthorized: missing api token in request metadata'
    const bytes = Buffer.from(given, 'utf8')
    const same = bytes.length === token.length ? timingSafeEqual(bytes, token) : (timingSafeEqual(token, token), false)
    return same ? undefined : 'Unauthorized: authentication error: api token mismatch'
  }

  const answer = async (call: ServerUnaryCall<unknown, unknown>, callback: Callback, run: () => Promise<void>) => {
    const denied = unauthorized(call)
    if (denied !== undefined) {
      fail(callback, status.UNAUTHENTICATED, denied)
      return
    }
    try {
      await run()
    } catch (err) {
      fail(callback, status.INTERNAL, `mqtt-fn: ${(err as Error).message}`)
    }
  }

  const failed = (callback: Callback, response: ApiResponse) => {
    const f = grpcFailure(response)
    fail(callback, f.code, f.details, f.errorCode)
  }

  const implementation: UntypedServiceImplementation = {
    PublishEvent: (call: ServerUnaryCall<PublishEventRequest, unknown>, callback: Callback) =>
      void answer(call, callback, async () => {
        const req = call.request
        const response = await api(
          inProcessPublishRequest({
            pubsubName: req.pubsubName,
            topic: req.topic,
            metadata: req.metadata,
            body: Buffer.from(req.data),
            // daprd's gRPC API: an empty data_content_type is no content type.
            contentType: req.dataContentType === '' ? undefined : req.dataContentType,
            headers: forwardedHeaders(call),
          }),
        )
        if (response.status >= 300) failed(callback, response)
        else callback(null, create(EmptySchema))
      }),

    BulkPublishEventAlpha1: (call: ServerUnaryCall<BulkPublishRequest, unknown>, callback: Callback) =>
      void answer(call, callback, async () => {
        const req = call.request
        const response = await api(
          inProcessPublishRequest({
            pubsubName: req.pubsubName,
            topic: req.topic,
            metadata: req.metadata,
            headers: forwardedHeaders(call),
            bulkEntries: req.entries.map((e) => ({ entryId: e.entryId, event: Buffer.from(e.event), contentType: e.contentType, metadata: mapOrNull(e.metadata) })),
          }),
        )
        if (response.status < 300) {
          callback(null, create(BulkPublishResponseSchema, { failedEntries: [] }))
          return
        }
        // Entries that failed to publish are the answer, not an error (the SDK reads them per entry).
        const failedEntries = failedEntriesOf(response)
        if (failedEntries !== undefined) callback(null, create(BulkPublishResponseSchema, { failedEntries }))
        else failed(callback, response)
      }),

    GetMetadata: (call: ServerUnaryCall<GetMetadataRequest, unknown>, callback: Callback) =>
      void answer(call, callback, async () => {
        const response = await api({ method: 'GET', path: '/v1.0/metadata', query: new URLSearchParams(), headers: forwardedHeaders(call), body: Buffer.alloc(0) })
        if (response.status >= 300) {
          failed(callback, response)
          return
        }
        const m = JSON.parse(response.body) as {
          id?: string
          runtimeVersion?: string
          enabledFeatures?: string[]
          components?: { name: string; type: string; version: string; capabilities?: string[] }[]
          extended?: Record<string, string>
        }
        callback(
          null,
          create(GetMetadataResponseSchema, {
            id: m.id ?? '',
            runtimeVersion: m.runtimeVersion ?? '',
            enabledFeatures: m.enabledFeatures ?? [],
            registeredComponents: (m.components ?? []).map((c) => ({ name: c.name, type: c.type, version: c.version, capabilities: c.capabilities ?? [] })),
            extendedMetadata: { ...(m.extended ?? {}), mqttfnGrpc: SERVED_METHODS.join(',') },
          }),
        )
      }),
  }

  const served = new Set<string>(SERVED_METHODS)
  const unimplemented = `mqtt-fn serves ${SERVED_METHODS.join(', ')} of dapr.proto.runtime.v1.Dapr (the pub/sub API); this method is not available`
  for (const method of Dapr.methods) {
    if (served.has(method.name)) continue
    // Streaming or not, the call ends at once with the status; its request is never read.
    implementation[method.name] = (call: ServerUnaryCall<unknown, unknown> & { emit?: unknown; end?: () => void }, callback?: Callback) => {
      const denied = unauthorized(call)
      const code = denied === undefined ? status.UNIMPLEMENTED : status.UNAUTHENTICATED
      const details = denied ?? `${method.name}: ${unimplemented}`
      if (typeof callback === 'function') callback({ code, details })
      else (call as unknown as { emit(event: 'error', e: unknown): void }).emit('error', { code, details })
    }
  }
  return implementation
}

function failedEntriesOf(response: ApiResponse): { entryId: string; error: string }[] | undefined {
  try {
    const parsed = JSON.parse(response.body) as { failedEntries?: { entryId?: unknown; error?: unknown }[] }
    if (!Array.isArray(parsed.failedEntries)) return undefined
    return parsed.failedEntries.map((e) => ({ entryId: String(e.entryId ?? ''), error: String(e.error ?? '') }))
  } catch {
    return undefined
  }
}
