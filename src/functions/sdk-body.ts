/**
 * How `@dapr/dapr`'s HTTP client turns `publish` / `publishBulk` arguments into a request
 * (utils/Client.util.js `getContentType`, `getBulkPublishEntries`; utils/Serializer.util.js
 * `serializeHttp`), so that code written against `DaprClient.pubsub` puts the same bytes on the
 * broker here. One deliberate difference: an object that is not binary is JSON whatever its
 * class (the SDK sends a class instance as `[object Object]`).
 */
import { randomUUID } from 'node:crypto'

export const CLOUDEVENTS_JSON = 'application/cloudevents+json'
const JSON_TYPE = 'application/json'
const TEXT = 'text/plain'
const OCTETS = 'application/octet-stream'

/** The SDK's `isCloudEvent`: an object with `id`, `source`, `type` and `specversion`. */
export function isCloudEventObject(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    ['id', 'source', 'type', 'specversion'].every((attr) => Object.prototype.hasOwnProperty.call(value, attr))
  )
}

function isBinary(value: unknown): value is Uint8Array | ArrayBuffer | ArrayBufferView {
  return value instanceof Uint8Array || value instanceof ArrayBuffer || ArrayBuffer.isView(value)
}

/** The SDK's content type for `data` when the caller gives none. */
export function inferContentType(data: unknown): string {
  if (isBinary(data)) return OCTETS
  if (typeof data === 'object' && data !== null) return isCloudEventObject(data) ? CLOUDEVENTS_JSON : JSON_TYPE
  return TEXT
}

function bytesOf(value: Uint8Array | ArrayBuffer | ArrayBufferView): Buffer {
  if (value instanceof ArrayBuffer) return Buffer.from(value)
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}

/** A value the request body cannot carry; the message says what and why. */
export class DataSerializationError extends Error {
  override name = 'DataSerializationError'
}

/** `serializeHttp`: the body bytes for `data` sent as `contentType`. */
export function serializeData(data: unknown, contentType: string): Buffer {
  const base = contentType.split(';')[0]?.trim().toLowerCase()
  if (base === JSON_TYPE || base === CLOUDEVENTS_JSON) {
    let text: string | undefined
    try {
      text = JSON.stringify(data)
    } catch (err) {
      throw new DataSerializationError(`data cannot be serialized as JSON: ${(err as Error).message}`)
    }
    if (text === undefined) throw new DataSerializationError(`data of type ${typeof data} cannot be serialized as JSON`)
    return Buffer.from(text, 'utf8')
  }
  if (isBinary(data)) return bytesOf(data)
  if (typeof data === 'string') return Buffer.from(data, 'utf8')
  if (base === TEXT && (typeof data === 'number' || typeof data === 'boolean' || typeof data === 'bigint')) {
    return Buffer.from(String(data), 'utf8')
  }
  throw new DataSerializationError(
    `data of type ${data === null ? 'null' : typeof data} cannot be sent as ${contentType}: pass a string, a Buffer or a Uint8Array, or a JSON content type`,
  )
}

/** A single publish's body and Content-Type, as the SDK sends them (no body for falsy data, as in the SDK). */
export function publishBody(data: unknown, contentType: string | undefined): { body: Buffer; contentType?: string } {
  if (!data) return contentType ? { body: Buffer.alloc(0), contentType } : { body: Buffer.alloc(0) }
  const type = contentType || inferContentType(data)
  return { body: serializeData(data, type), contentType: type }
}

/** `PubSubBulkPublishEntry`: what the SDK sends, and hands back in `failedMessages`. */
export interface BulkPublishEntry {
  entryID: string
  event: object | string
  metadata: Record<string, unknown>
  contentType: string
}

/** `getBulkPublishEntries`: explicit entries keep what they set; ids and content types filled in. */
export function bulkEntries(messages: readonly unknown[]): BulkPublishEntry[] {
  return messages.map((message) => {
    if (typeof message === 'object' && message !== null && 'event' in message) {
      const explicit = message as { entryID?: string; event: object | string; metadata?: Record<string, unknown>; contentType?: string }
      return {
        entryID: explicit.entryID ? explicit.entryID : randomUUID(),
        event: explicit.event,
        contentType: explicit.contentType ? explicit.contentType : inferContentType(explicit.event),
        metadata: explicit.metadata ? explicit.metadata : {},
      }
    }
    return { entryID: randomUUID(), event: message as object | string, contentType: inferContentType(message), metadata: {} }
  })
}

/**
 * The bulk request body. Binary events travel as the bulk API reads them for a non-JSON
 * content type: base64 text (the SDK would send Buffer's JSON form, which daprd refuses).
 */
export function bulkBody(entries: readonly BulkPublishEntry[]): Buffer {
  const wire = entries.map((e) => ({
    entryID: e.entryID,
    event: isBinary(e.event) ? bytesOf(e.event).toString('base64') : e.event,
    contentType: e.contentType,
    metadata: Object.fromEntries(Object.entries(e.metadata).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])),
  }))
  return Buffer.from(JSON.stringify(wire), 'utf8')
}
