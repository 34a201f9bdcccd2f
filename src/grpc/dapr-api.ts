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
import { publishMessage } from '../http/dapr-errors.js'
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
import { HANDLED_METHODS, SERVED_METHODS } from './service.js'
import { statusDetailsBin } from './status-details.js'
import { grpcFailure, unauthenticated, type GrpcFailure } from './status.js'

export interface GrpcDaprApiOptions {
  /** The publish API (createPublishApi) that answers every call. */
  publishApi: ApiHandler
  /** When set, every call must carry it as `dapr-api-token` metadata (DAPR_API_TOKEN / APP_API_TOKEN). */
  apiToken?: string
}

type Callback = sendUnaryData<unknown>

/** The status as daprd sends it: code, message and `grpc-status-details-bin`; mqtt-fn adds `dapr-error-code`. */
function failureStatus(f: GrpcFailure): { code: status; details: string; metadata: Metadata } {
  const metadata = new Metadata()
  if (f.errorCode !== undefined) metadata.set('dapr-error-code', f.errorCode)
  const bin = statusDetailsBin(f.code, f.details, f.statusDetails)
  if (bin !== undefined) metadata.set('grpc-status-details-bin', bin)
  return { code: f.code, details: f.details, metadata }
}

function fail(callback: Callback, f: GrpcFailure): void {
  callback(failureStatus(f))
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

  /** daprd's API token interceptor (pkg/api/grpc/auth.go): before anything else, for every method. */
  const unauthorized = (call: ServerUnaryCall<unknown, unknown>): GrpcFailure | undefined => {
    if (token === undefined) return undefined
    const given = metadataValue(call, 'dapr-api-token')
    if (given === undefined) return unauthenticated('missing api token in request metadata')
    const bytes = Buffer.from(given, 'utf8')
    const same = bytes.length === token.length ? timingSafeEqual(bytes, token) : (timingSafeEqual(token, token), false)
    return same ? undefined : unauthenticated('authentication error: api token mismatch')
  }

  const answer = async (call: ServerUnaryCall<unknown, unknown>, callback: Callback, run: () => Promise<void>) => {
    const denied = unauthorized(call)
    if (denied !== undefined) {
      fail(callback, denied)
      return
    }
    try {
      await run()
    } catch (err) {
      fail(callback, { code: status.INTERNAL, details: `mqtt-fn: ${(err as Error).message}`, statusDetails: [] })
    }
  }

  const failed = (callback: Callback, response: ApiResponse) => fail(callback, grpcFailure(response))

  /** BulkPublishEventAlpha1 and BulkPublishEvent: the same request, the same rules (daprd `bulkPublishEvent`). */
  const bulkPublish = (call: ServerUnaryCall<BulkPublishRequest, unknown>, callback: Callback) =>
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
      // daprd answers a bulk publish with failed entries by PublishMessage(topic, err), err the
      // first failure (errgroup; here the first failed entry in request order); the response
      // with the entries is dropped (grpc-go sends no message with an error status), so a Dapr
      // SDK reports every entry failed, as against daprd.
      const firstError = failedEntriesOf(response)?.[0]?.error
      if (firstError !== undefined) failed(callback, publishMessage(req.pubsubName, req.topic, firstError))
      else failed(callback, response)
    })

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

    BulkPublishEventAlpha1: bulkPublish,
    BulkPublishEvent: bulkPublish,

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

  const served = new Set<string>(HANDLED_METHODS)
  const unimplemented = `mqtt-fn serves ${SERVED_METHODS.join(', ')} of dapr.proto.runtime.v1.Dapr (the pub/sub API; BulkPublishEvent as BulkPublishEventAlpha1); this method is not available`
  for (const method of Dapr.methods) {
    if (served.has(method.name)) continue
    // Streaming or not, the call ends at once with the status; its request is never read.
    implementation[method.name] = (call: ServerUnaryCall<unknown, unknown> & { emit?: unknown; end?: () => void }, callback?: Callback) => {
      const reply = failureStatus(unauthorized(call) ?? { code: status.UNIMPLEMENTED, details: `${method.name}: ${unimplemented}`, statusDetails: [] })
      if (typeof callback === 'function') callback(reply)
      else (call as unknown as { emit(event: 'error', e: unknown): void }).emit('error', reply)
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
