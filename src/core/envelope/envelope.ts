import { randomUUID } from 'node:crypto'
import { MqttFnError } from '../errors.js'
import {
  CloudEventContentType,
  CloudEventProtobufContentType,
  CloudEventsSpecVersion,
  DataBase64Field,
  DataContentTypeField,
  DataField,
  DefaultCloudEventDataContentType,
  DefaultCloudEventSource,
  DefaultCloudEventType,
  ErrorCode,
  ExpirationField,
  IDField,
  JSONContentType,
  OctetStreamContentType,
  PubsubField,
  SourceField,
  SpecVersionField,
  SubjectField,
  TimeField,
  TopicField,
  TraceIDField,
  TraceParentField,
  TraceStateField,
  TypeField,
} from './constants.js'
import { goCompactJsonAsIs } from './go-json-compact.js'
import { decodeJsonUseNumber, goMarshal, goQuote, parseGoJsonFloat } from './go-json.js'
import { decodeGoString, goToLower } from './go-string.js'
import { getCloudEventOverrides, isRawPayload, tryGetTtl, type Metadata } from './metadata.js'
import type { PublishPayload, PublishRequest } from './types.js'

/** contenttype `isContentType`: lowercase, then equal, or equal up to the first `;` (no trimming). */
function isContentType(contentType: string, expected: string): boolean {
  const lower = goToLower(contentType)
  if (lower === expected) return true
  const semi = lower.indexOf(';')
  return semi >= 0 && lower.slice(0, semi) === expected
}

export function isCloudEventContentType(contentType: string): boolean {
  return isContentType(contentType, CloudEventContentType)
}

export function isJsonContentType(contentType: string): boolean {
  return isContentType(contentType, JSONContentType)
}

/**
 * `data_base64` content types. Dapr also base64-encodes `application/x-protobuf` bodies that
 * parse as a protobuf CloudEvent; mqtt-fn does not parse protobuf and sends those as text.
 */
export function isBinaryContentType(contentType: string): boolean {
  return isContentType(contentType, OctetStreamContentType) || isContentType(contentType, CloudEventProtobufContentType)
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

/** Go's `t.UTC().Format(time.RFC3339)`: seconds precision, `Z`. */
export function formatRfc3339(epochMs: number): string {
  const second = Math.floor(epochMs / 1000)
  // Every publish within the same second writes the same time; formatting it showed in profiles.
  if (second === lastSecond) return lastFormatted
  const d = new Date(second * 1000)
  const formatted =
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}Z`
  lastSecond = second
  lastFormatted = formatted
  return formatted
}

let lastSecond = Number.NaN
let lastFormatted = ''

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:Z|([+-])(\d{2}):(\d{2}))$/

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function daysIn(month: number, year: number): number {
  if (month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) return 29
  return DAYS_IN_MONTH[month - 1] ?? 0
}

/**
 * Go's `time.Parse(time.RFC3339, s)` as epoch milliseconds (with the fraction), or undefined
 * where Go errors. Go's fallback parser is a little lax and so is this: a one-digit hour,
 * a comma before the fraction, zone offsets up to 24:60.
 */
export function parseRfc3339(s: string): number | undefined {
  const m = RFC3339.exec(s)
  if (m === null) return undefined
  const [, ys, mos, ds, hs, mis, ss, frac, sign, tzh, tzm] = m
  const year = Number(ys)
  const month = Number(mos)
  const day = Number(ds)
  const hour = Number(hs)
  const minute = Number(mis)
  const second = Number(ss)
  if (month < 1 || month > 12 || day < 1 || day > daysIn(month, year)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  let offsetMinutes = 0
  if (sign !== undefined) {
    const oh = Number(tzh)
    const om = Number(tzm)
    if (oh > 24 || om > 60) return undefined
    offsetMinutes = (sign === '-' ? -1 : 1) * (oh * 60 + om)
  }
  const d = new Date(0)
  d.setUTCFullYear(year, month - 1, day)
  d.setUTCHours(hour, minute, second, 0)
  const fracMs = frac === undefined ? 0 : Number(`0.${frac.slice(0, 9)}`) * 1000
  return d.getTime() + fracMs - offsetMinutes * 60_000
}

export interface NewEnvelopeArgs {
  id: string
  source: string
  type: string
  subject: string
  topic: string
  pubsubName: string
  dataContentType: string
  data: Uint8Array
  traceParent: string
  traceState: string
  now: Date
  newId: () => string
}

/** components-contrib `NewCloudEventsEnvelope`: a new envelope around a body that is not a CloudEvent. */
export function newCloudEventsEnvelope(a: NewEnvelopeArgs): Record<string, unknown> {
  const id = a.id === '' ? a.newId() : a.id
  const source = a.source === '' ? DefaultCloudEventSource : a.source
  const type = a.type === '' ? DefaultCloudEventType : a.type
  const dataContentType = a.dataContentType === '' ? DefaultCloudEventDataContentType : a.dataContentType

  let dataField: string = DataField
  let data: unknown
  if (isJsonContentType(dataContentType)) {
    try {
      data = decodeJsonUseNumber(a.data)
    } catch {
      data = decodeGoString(a.data)
    }
  } else if (isBinaryContentType(dataContentType)) {
    data = Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).toString('base64')
    dataField = DataBase64Field
  } else {
    data = decodeGoString(a.data)
  }

  const ce: Record<string, unknown> = {
    [IDField]: id,
    [SpecVersionField]: CloudEventsSpecVersion,
    [DataContentTypeField]: dataContentType,
    [SourceField]: source,
    [TypeField]: type,
    [TopicField]: a.topic,
    [PubsubField]: a.pubsubName,
    [TraceIDField]: a.traceParent,
    [TraceParentField]: a.traceParent,
    [TraceStateField]: a.traceState,
    [TimeField]: formatRfc3339(a.now.getTime()),
  }
  ce[dataField] = data
  if (a.subject !== '') ce[SubjectField] = a.subject
  return ce
}

/** A decoded JSON object (not an array, null, or a JsonNumber, which is also a JS object). */
function isJsonObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype
}

/**
 * components-contrib `FromCloudEvent`: the body is already a CloudEvent. Throws MqttFnError
 * `ERR_PUBSUB_CLOUD_EVENTS_SER` when it is not a JSON object (daprd answers 500).
 */
export function fromCloudEvent(
  body: Uint8Array,
  topic: string,
  pubsubName: string,
  traceParent: string,
  traceState: string,
  now: Date,
): Record<string, unknown> {
  let m: unknown
  try {
    m = decodeJsonUseNumber(body)
  } catch (err) {
    throw new MqttFnError(ErrorCode.PubsubCloudEventsSer, `cannot create cloudevent: ${(err as Error).message}`, {
      cause: err,
    })
  }
  // Go decodes into map[string]any: other JSON types fail, and `null` leaves a nil map that
  // the next assignment panics on.
  if (!isJsonObject(m)) {
    throw new MqttFnError(
      ErrorCode.PubsubCloudEventsSer,
      `cannot create cloudevent: a body of type ${CloudEventContentType} must be a JSON object`,
    )
  }
  const ce = m
  if (!Object.hasOwn(ce, TimeField)) ce[TimeField] = formatRfc3339(now.getTime())
  if (!Object.hasOwn(ce, TraceIDField)) {
    ce[TraceIDField] = traceParent
    ce[TraceParentField] = traceParent
  }
  if (!Object.hasOwn(ce, TraceStateField)) ce[TraceStateField] = traceState
  ce[TopicField] = topic
  ce[PubsubField] = pubsubName
  // Go tests `m[key] == nil`: a missing key and a JSON null both take the default.
  if (ce[SourceField] == null) ce[SourceField] = DefaultCloudEventSource
  if (ce[TypeField] == null) ce[TypeField] = DefaultCloudEventType
  if (ce[SpecVersionField] == null) ce[SpecVersionField] = CloudEventsSpecVersion
  return ce
}

/**
 * components-contrib `FromRawPayload`: the envelope a `rawPayload` subscription delivers.
 * The id is new on every call, so a redelivery gets a new id, as in Dapr.
 */
export function fromRawPayload(
  payload: Uint8Array,
  topic: string,
  pubsubName: string,
  newId: () => string = randomUUID,
): Record<string, unknown> {
  return {
    [IDField]: newId(),
    [SpecVersionField]: CloudEventsSpecVersion,
    [DataContentTypeField]: OctetStreamContentType,
    [SourceField]: DefaultCloudEventSource,
    [TypeField]: DefaultCloudEventType,
    [TopicField]: topic,
    [PubsubField]: pubsubName,
    [DataBase64Field]: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('base64'),
  }
}

/**
 * components-contrib `ApplyMetadata` for a component without MESSAGE_TTL (MQTT): sets
 * `expiration` to now + TTL, truncated to the second. Returns the expiration, if any.
 */
export function applyMetadata(event: Record<string, unknown>, metadata: Metadata, now: Date): Date | undefined {
  const expiration = expirationFor(metadata, now)
  if (expiration !== undefined) event[ExpirationField] = formatRfc3339(expiration.getTime())
  return expiration
}

/** The `expiration` that `applyMetadata` sets (now + TTL, truncated to the second), if any. */
function expirationFor(metadata: Metadata, now: Date): Date | undefined {
  const ttl = tryGetTtl(metadata)
  if (ttl === undefined) return undefined
  const expiresNs = BigInt(now.getTime()) * 1_000_000n + ttl
  // Floor division, so the second is truncated as Format does for times after 1970.
  const sec = expiresNs >= 0n ? expiresNs / 1_000_000_000n : -((-expiresNs + 999_999_999n) / 1_000_000_000n)
  return new Date(Number(sec) * 1000)
}

/**
 * components-contrib `HasExpired`: true when `expiration` is an RFC 3339 time before `now`.
 * Missing, empty, non-string or malformed means not expired.
 */
export function hasExpired(event: Record<string, unknown>, now: Date = new Date()): boolean {
  const e = event[ExpirationField]
  if (typeof e !== 'string' || e === '') return false
  const t = parseRfc3339(e)
  return t !== undefined && t < now.getTime()
}

/**
 * The subscribe side's `json.Unmarshal(msg.Data, &cloudEvent)`: a JSON object, numbers as
 * float64. Throws MqttFnError `ERR_PUBSUB_CLOUD_EVENTS_SER` for anything else (daprd then
 * dead-letters the message or leaves it unacknowledged).
 */
export function decodeEvent(payload: Uint8Array): Record<string, unknown> {
  let v: unknown
  try {
    v = parseGoJsonFloat(payload)
  } catch (err) {
    throw new MqttFnError(ErrorCode.PubsubCloudEventsSer, `cannot decode cloudevent: ${(err as Error).message}`, {
      cause: err,
    })
  }
  if (!isJsonObject(v)) {
    throw new MqttFnError(
      ErrorCode.PubsubCloudEventsSer,
      `cannot decode cloudevent: the payload is JSON ${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}, not an object`,
    )
  }
  return v
}

/**
 * daprd's publish path (`onPublish` + `NewCloudEvent` + `ApplyMetadata` + `json.Marshal`):
 * the exact bytes a Dapr sidecar would hand to the MQTT component for this request.
 * Throws MqttFnError `ERR_PUBSUB_REQUEST_METADATA` (bad rawPayload) or
 * `ERR_PUBSUB_CLOUD_EVENTS_SER` (a cloudevents+json body that is not a JSON object).
 */
export function buildPublishPayload(req: PublishRequest): PublishPayload {
  const metadata = req.metadata ?? {}
  if (isRawPayload(metadata)) {
    return { payload: Buffer.from(req.data.buffer, req.data.byteOffset, req.data.byteLength), raw: true }
  }
  const now = req.now ?? new Date()
  const contentType = req.contentType ?? ''
  if (isCloudEventContentType(contentType)) {
    const event = fromCloudEvent(req.data, req.topic, req.pubsubName, req.traceparent ?? '', req.tracestate ?? '', now)
    const expiration = applyMetadata(event, metadata, now)
    const result: PublishPayload = { payload: Buffer.from(goMarshal(event), 'utf8'), raw: false, event }
    if (expiration !== undefined) result.expiration = expiration
    return result
  }
  const o = getCloudEventOverrides(metadata)
  let traceId = o.traceid ?? req.traceparent ?? ''
  if (o.traceparent !== undefined && o.traceparent !== '') traceId = o.traceparent
  const args: NewEnvelopeArgs = {
    id: o.id ?? '',
    source: o.source ?? req.appId ?? '',
    type: o.type ?? '',
    subject: o.subject ?? '',
    topic: req.topic,
    pubsubName: req.pubsubName,
    dataContentType: contentType,
    data: req.data,
    traceParent: traceId,
    traceState: o.tracestate ?? req.tracestate ?? '',
    now,
    newId: req.newId ?? randomUUID,
  }
  // The id is drawn once, here, so that the payload and the event built later agree on it.
  if (args.id === '') args.id = args.newId()
  const expiration = expirationFor(metadata, now)
  return new EnvelopePayload(Buffer.from(writeNewEnvelope(args, expiration), 'utf8'), args, expiration)
}

/**
 * The result for a new envelope. The event map is only needed for binary content mode,
 * tracing and callers that read it, so it is built on first use, from the same arguments:
 * most publishes never decode their body into a value tree.
 */
class EnvelopePayload implements PublishPayload {
  readonly raw = false
  readonly expiration?: Date
  private built: Record<string, unknown> | undefined

  constructor(
    readonly payload: Buffer,
    private readonly args: NewEnvelopeArgs,
    expiration: Date | undefined,
  ) {
    if (expiration !== undefined) this.expiration = expiration
  }

  get event(): Record<string, unknown> {
    if (this.built === undefined) {
      const event = newCloudEventsEnvelope(this.args)
      if (this.expiration !== undefined) event[ExpirationField] = formatRfc3339(this.expiration.getTime())
      this.built = event
    }
    return this.built
  }
}

/**
 * `json.Marshal` of what `newCloudEventsEnvelope(a)` (plus `expiration`) returns, written
 * straight from its fields: the keys are known, so they go out in Go's sorted order without
 * a map or a sort, and a JSON body that Go would re-encode unchanged goes out as it came in.
 * The unit tests compare this with goMarshal of the map on many inputs.
 */
export function writeNewEnvelope(a: NewEnvelopeArgs, expiration: Date | undefined): string {
  const id = a.id === '' ? a.newId() : a.id
  const source = a.source === '' ? DefaultCloudEventSource : a.source
  const type = a.type === '' ? DefaultCloudEventType : a.type
  const dataContentType = a.dataContentType === '' ? DefaultCloudEventDataContentType : a.dataContentType

  // Sorted as Go sorts map keys (bytes): data, data_base64, datacontenttype, expiration, id,
  // pubsubname, source, specversion, subject, time, topic, traceid, traceparent, tracestate, type.
  let out: string
  if (isJsonContentType(dataContentType)) {
    let json = goCompactJsonAsIs(a.data)
    if (json === undefined) {
      let data: unknown
      try {
        data = decodeJsonUseNumber(a.data)
      } catch {
        data = decodeGoString(a.data)
      }
      json = goMarshal(data)
    }
    out = '{"data":' + json
  } else if (isBinaryContentType(dataContentType)) {
    // Base64 needs no escaping.
    out = '{"data_base64":"' + Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).toString('base64') + '"'
  } else {
    out = '{"data":' + goQuote(decodeGoString(a.data))
  }
  out += ',"datacontenttype":' + goQuote(dataContentType)
  if (expiration !== undefined) out += ',"expiration":"' + formatRfc3339(expiration.getTime()) + '"'
  out +=
    ',"id":' + goQuote(id) +
    ',"pubsubname":' + goQuote(a.pubsubName) +
    ',"source":' + goQuote(source) +
    ',"specversion":"' + CloudEventsSpecVersion + '"'
  if (a.subject !== '') out += ',"subject":' + goQuote(a.subject)
  out +=
    ',"time":"' + formatRfc3339(a.now.getTime()) + '"' +
    ',"topic":' + goQuote(a.topic) +
    ',"traceid":' + goQuote(a.traceParent) +
    ',"traceparent":' + goQuote(a.traceParent) +
    ',"tracestate":' + goQuote(a.traceState) +
    ',"type":' + goQuote(type) +
    '}'
  return out
}
