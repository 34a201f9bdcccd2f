import { BulkDecodeError } from './errors.js'
import { goMarshal, parseGoJson } from '../core/envelope/index.js'
import { MqttFnError } from '../core/errors.js'

/** A JSON value as Go decodes it into `any` (numbers as float64). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/**
 * The bulk publish body as daprd decodes it (pkg/api/http/http.go `onBulkPublish`):
 * `json.NewDecoder(body).Decode(&[]bulkPublishMessageEntry)`, then `ConvertEventToBytes` per
 * entry (pkg/api/http/util.go). Go's decoding rules kept here: field names match
 * case-insensitively, `null` leaves a field at its zero value, a top-level `null` is an empty
 * list, a wrong JSON type is an error naming the Go field.
 */
export interface BulkEntry {
  entryId: string
  /** The decoded JSON value (`any` in Go); undefined when absent. */
  event: JsonValue | undefined
  contentType: string
  /** Go's nil map when absent or `null`: then request metadata is not merged in. */
  metadata: Record<string, string> | null
}

const ENTRY_TYPE = 'http.bulkPublishMessageEntry'
const FIELD = 'bulkPublishMessageEntry'

function jsonKind(value: unknown): string {
  if (Array.isArray(value)) return 'array'
  if (value === null) return 'null'
  if (typeof value === 'boolean') return 'bool'
  return typeof value === 'object' ? 'object' : typeof value
}

export { BulkDecodeError }

/** Decodes the body; throws BulkDecodeError with a Go-like message. */
export function decodeBulkEntries(body: Buffer): BulkEntry[] {
  let parsed: unknown
  try {
    // json.NewDecoder(r.Body).Decode: the first JSON value, whatever follows it is not read.
    parsed = parseGoJson(body, { useNumber: false, firstValueOnly: true })
  } catch (err) {
    if (!(err instanceof MqttFnError)) throw err
    // A Decoder says io.EOF for an empty body and io.ErrUnexpectedEOF for a cut one
    // (daprd's integration test: `{"entryID": "}` gives "unexpected EOF"); Go's messages carry no offset.
    const text = err.message.replace(/ \(offset \d+\)$/, '')
    if (text.startsWith('EOF')) throw new BulkDecodeError('EOF')
    throw new BulkDecodeError(text === 'unexpected end of JSON input' ? 'unexpected EOF' : text)
  }
  if (parsed === null) return []
  if (!Array.isArray(parsed)) {
    throw new BulkDecodeError(`json: cannot unmarshal ${jsonKind(parsed)} into Go value of type []${ENTRY_TYPE}`)
  }
  const entries: BulkEntry[] = []
  let firstError: string | undefined
  const fail = (message: string): void => {
    firstError ??= message
  }
  for (const item of parsed as unknown[]) {
    const entry: BulkEntry = { entryId: '', event: undefined, contentType: '', metadata: null }
    entries.push(entry)
    if (item === null) continue
    if (typeof item !== 'object' || Array.isArray(item)) {
      fail(`json: cannot unmarshal ${jsonKind(item)} into Go value of type ${ENTRY_TYPE}`)
      continue
    }
    for (const [key, value] of Object.entries(item as Record<string, unknown>)) {
      switch (key.toLowerCase()) {
        case 'entryid':
          if (typeof value === 'string') entry.entryId = value
          else if (value !== null) fail(`json: cannot unmarshal ${jsonKind(value)} into Go struct field ${FIELD}.entryId of type string`)
          break
        case 'contenttype':
          if (typeof value === 'string') entry.contentType = value
          else if (value !== null) fail(`json: cannot unmarshal ${jsonKind(value)} into Go struct field ${FIELD}.contentType of type string`)
          break
        case 'event':
          entry.event = value as JsonValue
          break
        case 'metadata':
          if (value === null) break
          if (typeof value !== 'object' || Array.isArray(value)) {
            fail(`json: cannot unmarshal ${jsonKind(value)} into Go struct field ${FIELD}.metadata of type map[string]string`)
            break
          }
          // Go decodes into the existing map, keeping earlier keys.
          entry.metadata ??= {}
          for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
            if (typeof v === 'string' || v === null) {
              Object.defineProperty(entry.metadata, k, { value: v ?? '', enumerable: true, writable: true, configurable: true })
            } else {
              fail(`json: cannot unmarshal ${jsonKind(v)} into Go struct field ${FIELD}.metadata of type string`)
            }
          }
          break
        default:
          break
      }
    }
  }
  if (firstError !== undefined) throw new BulkDecodeError(firstError)
  return entries
}

/** components-contrib `contenttype.isContentType`: lower-cased, cut at `;`. */
function isContentType(contentType: string, expected: string): boolean {
  const lower = contentType.toLowerCase()
  if (lower === expected) return true
  const semi = lower.indexOf(';')
  return semi >= 0 && lower.slice(0, semi) === expected
}

const MISMATCH = 'error: mismatch between contentType and event'

/**
 * Go's `base64.StdEncoding.DecodeString`: standard alphabet, padding required, `\r` and `\n`
 * ignored. The byte offset in the error is an approximation of Go's.
 */
function decodeStdBase64(s: string): Buffer {
  const clean = s.replace(/[\r\n]/g, '')
  const bad = clean.search(/[^A-Za-z0-9+/=]/)
  if (bad >= 0) throw new Error(`illegal base64 data at input byte ${bad}`)
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) {
    const pad = clean.indexOf('=')
    throw new Error(`illegal base64 data at input byte ${pad >= 0 ? pad : clean.length - (clean.length % 4)}`)
  }
  return Buffer.from(clean, 'base64')
}

/** dapr/dapr pkg/api/http/util.go `ConvertEventToBytes`. Throws with daprd's error text. */
export function convertEventToBytes(event: JsonValue | undefined, contentType: string): Buffer {
  if (isContentType(contentType, 'application/octet-stream')) {
    if (typeof event !== 'string') throw new Error(MISMATCH)
    try {
      return decodeStdBase64(event)
    } catch (err) {
      throw new Error(`error: unable to decode base64 application/octect-stream data: ${(err as Error).message}`)
    }
  }
  if (contentType.toLowerCase().startsWith('text/') || isContentType(contentType, 'application/xml')) {
    if (typeof event !== 'string') throw new Error(MISMATCH)
    return Buffer.from(event, 'utf8')
  }
  if (isContentType(contentType, 'application/json') || isContentType(contentType, 'application/cloudevents+json')) {
    return Buffer.from(goMarshal(event ?? null), 'utf8')
  }
  throw new Error(MISMATCH)
}

/**
 * dapr/dapr utils `PopulateMetadataForBulkPublishEntry`, applied only when the entry has a
 * metadata map (daprd: `if entry.Metadata != nil`): entry keys win over request keys.
 */
export function entryMetadata(request: Record<string, string>, entry: Record<string, string> | null): Record<string, string> {
  if (entry === null) return {}
  const merged: Record<string, string> = {}
  for (const source of [entry, request]) {
    for (const [k, v] of Object.entries(source)) {
      if (!Object.hasOwn(merged, k)) Object.defineProperty(merged, k, { value: v, enumerable: true, writable: true, configurable: true })
    }
  }
  return merged
}
