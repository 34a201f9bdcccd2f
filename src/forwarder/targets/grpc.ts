/**
 * An app on `--app-protocol grpc`: its `AppCallback` service, as daprd calls it
 * (dapr/dapr pkg/runtime/subscription/postman/grpc). A route path becomes `OnTopicEvent` with
 * the event's attributes, its data as bytes and the route as `path` (the Dapr SDKs dispatch on
 * it: the JavaScript SDK answers SUCCESS without calling a handler for a path it did not list,
 * so the path is always the route as written); a bulk envelope becomes
 * `OnBulkTopicEventAlpha1` (else `OnBulkTopicEvent`). The answer is read the way the HTTP
 * target's is: the status enum as Dapr's status, UNIMPLEMENTED as "the app has no such handler"
 * (a drop, as daprd treats it; HTTP's 404), any other gRPC error as retriable.
 * grpc-js and the message code are imported on first use.
 */
import type { Client as GrpcClient, Metadata as GrpcMetadata, ServiceError } from '@grpc/grpc-js'
import type { JsonObject } from '@bufbuild/protobuf'
import type { Target, TargetReply, TargetRequest } from '../types.js'
import { sleep } from '../../core/timeout.js'
import { clampTimer } from './http.js'

type Grpc = typeof import('@grpc/grpc-js')
type Messages = typeof import('../../grpc/gen/appcallback_pb.js')
type Protobuf = typeof import('@bufbuild/protobuf')

interface Loaded {
  grpc: Grpc
  messages: Messages
  protobuf: Protobuf
}

let loading: Promise<Loaded> | undefined
function load(): Promise<Loaded> {
  loading ??= Promise.all([import('@grpc/grpc-js'), import('../../grpc/gen/appcallback_pb.js'), import('@bufbuild/protobuf')]).then(([grpc, messages, protobuf]) => ({ grpc, messages, protobuf }))
  return loading
}

/** `grpc://host:port`, `dns:host:port` or `host:port` → the address grpc-js dials. */
export function grpcAddress(appUrl: string): string {
  const trimmed = appUrl.trim().replace(/\/+$/, '')
  const m = /^(?:grpc|h2c|http):\/\/(.+)$/i.exec(trimmed)
  return m ? (m[1] as string) : trimmed
}

/** CloudEvent attributes that TopicEventRequest carries in fields of its own (daprd's list); the rest are `extensions`. */
const OWN_FIELDS = new Set(['id', 'source', 'type', 'specversion', 'datacontenttype', 'data', 'data_base64', 'topic', 'pubsubname'])

const STATUS_NAMES = ['SUCCESS', 'RETRY', 'DROP']

/** One grpc-js client per app address, shared by its routes. */
export class GrpcClients {
  readonly #clients = new Map<string, Promise<GrpcClient>>()

  get(address: string): Promise<GrpcClient> {
    let client = this.#clients.get(address)
    if (!client) {
      client = load().then(({ grpc }) => new grpc.Client(address, grpc.credentials.createInsecure()))
      this.#clients.set(address, client)
    }
    return client
  }

  destroy(): void {
    for (const client of this.#clients.values()) void client.then((c) => c.close(), () => {})
    this.#clients.clear()
  }
}

function string(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value)
}

function isStringType(contentType: string): boolean {
  const t = contentType.toLowerCase()
  return t.startsWith('text/') || t.startsWith('application/xml')
}

/** daprd's data bytes of an event: `data_base64` decoded, text as is, JSON marshalled. */
function dataBytes(event: Record<string, unknown>): Uint8Array {
  if (typeof event['data_base64'] === 'string') return Buffer.from(event['data_base64'], 'base64')
  const data = event['data']
  if (data === undefined || data === null) return new Uint8Array(0)
  if (typeof data === 'string' && isStringType(string(event['datacontenttype']))) return Buffer.from(data, 'utf8')
  return Buffer.from(JSON.stringify(data), 'utf8')
}

function extensions(event: Record<string, unknown>): JsonObject {
  const out: JsonObject = {}
  for (const [key, value] of Object.entries(event)) {
    if (!OWN_FIELDS.has(key) && value !== undefined) out[key] = value as JsonObject[string]
  }
  return out
}

export function grpcTarget(appUrl: string, path: string, clients: GrpcClients): Target {
  const address = grpcAddress(appUrl)
  const call = async <T>(
    method: string,
    encode: (m: unknown) => Buffer,
    decode: (b: Buffer) => T,
    message: unknown,
    request: TargetRequest,
  ): Promise<{ ok: true; value: T } | { ok: false; error: ServiceError | Error }> => {
    const [{ grpc }, client] = await Promise.all([load(), clients.get(address)])
    const metadata: GrpcMetadata = new grpc.Metadata()
    for (const [name, value] of Object.entries(request.headers)) metadata.set(name, value)
    return new Promise((resolve) => {
      const pending = client.makeUnaryRequest(method, encode, decode, message, metadata, { deadline: Date.now() + clampTimer(request.timeoutMs) }, (error, value) =>
        resolve(error ? { ok: false, error } : { ok: true, value: value as T }),
      )
      request.signal.addEventListener('abort', () => pending.cancel(), { once: true })
    })
  }

  const failure = (grpc: Grpc, error: ServiceError | Error): TargetReply => {
    const code = (error as ServiceError).code
    // daprd: an app without the handler (UNIMPLEMENTED) drops the message; anything else is retried.
    if (code === grpc.status.UNIMPLEMENTED) return { ok: true, status: 404, body: '' }
    const name = code === undefined ? 'error' : (grpc.status[code] ?? String(code))
    return { ok: false, reason: `gRPC ${name}: ${(error as ServiceError).details ?? error.message}` }
  }

  return {
    kind: 'grpc',
    name: `grpc://${address}${path.startsWith('/') ? '' : '/'}${path}`,
    async send(request: TargetRequest): Promise<TargetReply> {
      try {
        const { grpc, messages: m, protobuf } = await load()
        const codec = <D extends Parameters<Protobuf['toBinary']>[0]>(schema: D) => ({
          encode: (msg: unknown) => Buffer.from(protobuf.toBinary(schema, msg as never)),
          decode: (b: Buffer) => protobuf.fromBinary(schema, b),
        })
        const body = JSON.parse(request.body.toString('utf8')) as Record<string, unknown>
        if (request.contentType !== 'application/json') {
          const req = protobuf.create(m.TopicEventRequestSchema, {
            id: string(body['id']),
            source: string(body['source']),
            type: string(body['type']),
            specVersion: string(body['specversion']),
            dataContentType: string(body['datacontenttype']),
            data: dataBytes(body),
            // daprd: the topic the message came on and the subscription's pubsub, not the event's own
            // fields (a dead letter carries its original topic inside).
            topic: request.topic ?? string(body['topic']),
            pubsubName: request.headers['pubsubname'] ?? string(body['pubsubname']),
            path,
            extensions: extensions(body),
          })
          const inCodec = codec(m.TopicEventRequestSchema)
          const outCodec = codec(m.TopicEventResponseSchema)
          const r = await call('/dapr.proto.runtime.v1.AppCallback/OnTopicEvent', inCodec.encode, outCodec.decode, req, request)
          if (!r.ok) return failure(grpc, r.error)
          return { ok: true, status: 200, body: JSON.stringify({ status: STATUS_NAMES[r.value.status] ?? String(r.value.status) }) }
        }
        // A bulk envelope (bulk.ts): entries as CloudEvents, or raw payloads in base64.
        const entries = (Array.isArray(body['entries']) ? body['entries'] : []) as { entryId: string; event: unknown; contentType: string; metadata?: Record<string, string> }[]
        const req = protobuf.create(m.TopicEventBulkRequestSchema, {
          id: string(body['id']),
          topic: string(body['topic']),
          pubsubName: string(body['pubsubname']),
          type: string(body['type']),
          path,
          metadata: (body['metadata'] ?? {}) as Record<string, string>,
          entries: entries.map((e) => ({
            entryId: e.entryId,
            contentType: e.contentType,
            metadata: e.metadata ?? {},
            event:
              typeof e.event === 'string'
                ? { case: 'bytes' as const, value: Buffer.from(e.event, 'base64') }
                : {
                    case: 'cloudEvent' as const,
                    value: (() => {
                      const ev = e.event as Record<string, unknown>
                      return protobuf.create(m.TopicEventCERequestSchema, {
                        id: string(ev['id']),
                        source: string(ev['source']),
                        type: string(ev['type']),
                        specVersion: string(ev['specversion']),
                        dataContentType: string(ev['datacontenttype']),
                        data: dataBytes(ev),
                        extensions: extensions(ev),
                      })
                    })(),
                  },
          })),
        })
        const inCodec = codec(m.TopicEventBulkRequestSchema)
        const outCodec = codec(m.TopicEventBulkResponseSchema)
        let r = await call('/dapr.proto.runtime.v1.AppCallbackAlpha/OnBulkTopicEventAlpha1', inCodec.encode, outCodec.decode, req, request)
        if (!r.ok && (r.error as ServiceError).code === grpc.status.UNIMPLEMENTED) {
          r = await call('/dapr.proto.runtime.v1.AppCallback/OnBulkTopicEvent', inCodec.encode, outCodec.decode, req, request)
        }
        if (!r.ok) return failure(grpc, r.error)
        const statuses = r.value.statuses.map((s) => ({ entryId: s.entryId, status: STATUS_NAMES[s.status] ?? String(s.status) }))
        return { ok: true, status: 200, body: JSON.stringify({ statuses }) }
      } catch (error) {
        return { ok: false, reason: `grpc ${address}: ${(error as Error).message}` }
      }
    },
  }
}

/**
 * The app's programmatic subscriptions (`ListTopicSubscriptions`), in the shape of
 * `GET /dapr/subscribe`'s answer, so that one parser reads both. UNIMPLEMENTED = none, as
 * daprd reads it; an app not up yet is waited for, up to `timeoutMs`.
 */
export async function listTopicSubscriptions(appUrl: string, clients: GrpcClients, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  const address = grpcAddress(appUrl)
  const [{ grpc, messages: m, protobuf }, client] = await Promise.all([load(), clients.get(address)])
  const deadline = Date.now() + timeoutMs
  const encode = () => Buffer.alloc(0) // google.protobuf.Empty
  const decode = (b: Buffer) => protobuf.fromBinary(m.ListTopicSubscriptionsResponseSchema, b)
  for (;;) {
    const result = await new Promise<{ ok: true; value: ReturnType<typeof decode> } | { ok: false; error: ServiceError }>((resolve) => {
      // waitForReady: an app that is still starting is waited for, not failed at once.
      client.makeUnaryRequest('/dapr.proto.runtime.v1.AppCallback/ListTopicSubscriptions', encode, decode, {}, new grpc.Metadata({ waitForReady: true }), { deadline: Math.min(deadline, Date.now() + 10_000) }, (error, value) =>
        resolve(error ? { ok: false, error } : { ok: true, value: value as ReturnType<typeof decode> }),
      )
    })
    if (result.ok) {
      return JSON.stringify(
        result.value.subscriptions.map((s) => ({
          pubsubname: s.pubsubName,
          topic: s.topic,
          metadata: s.metadata,
          routes: { rules: (s.routes?.rules ?? []).map((r) => ({ match: r.match, path: r.path })), default: s.routes?.default ?? '' },
          ...(s.deadLetterTopic ? { deadLetterTopic: s.deadLetterTopic } : {}),
          ...(s.bulkSubscribe?.enabled ? { bulkSubscribe: { enabled: true, maxMessagesCount: s.bulkSubscribe.maxMessagesCount, maxAwaitDurationMs: s.bulkSubscribe.maxAwaitDurationMs } } : {}),
        })),
      )
    }
    if (result.error.code === grpc.status.UNIMPLEMENTED) return '[]'
    if (Date.now() >= deadline || signal?.aborted) {
      throw new Error(`ListTopicSubscriptions on ${address} did not answer within ${timeoutMs} ms (last: ${grpc.status[result.error.code] ?? result.error.code}: ${result.error.details})`)
    }
    await sleep(500, signal)
  }
}
