/**
 * What an MQTT 5 message carries besides its payload, passed on to the target: the concrete
 * topic it was published to, its Content Type, response topic and correlation data, and its
 * user properties.
 *
 * - HTTP targets get them as headers, the way daprd turns a component's message metadata into
 *   headers: `mqtt-topic`, `mqtt-content-type`, `mqtt-response-topic`, `mqtt-correlation-data`
 *   (base64), and each user property under its own name. A name that is not an HTTP token, a
 *   name that would replace a header of the delivery itself (content-type, traceparent,
 *   pubsubname, host, ...) or any `mqtt-` name, and a value that HTTP cannot carry (control
 *   characters, CR/LF, non-ASCII) are left out, never sent broken: no header injection.
 * - Lambda and queue targets get the CloudEvent with extension attributes (lower-case
 *   letters and digits, as CloudEvents requires): `mqtttopic`, `mqttcontenttype`,
 *   `mqttresponsetopic`, `mqttcorrelationdata`, and each user property whose lower-cased name is
 *   a valid attribute name and not one the event already has. They are added in front of the
 *   event's own members, so an attribute the publisher set wins.
 * At most MAX_PROPERTIES user properties and MAX_PROPERTY_BYTES of them are passed on.
 */
import type { IncomingMessage } from '../core/pubsub/types.js'

export const MAX_PROPERTIES = 32
export const MAX_PROPERTY_BYTES = 8 * 1024

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const HEADER_VALUE = /^[\t\x20-\x7e]*$/
const ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/

/** Headers a delivery sets itself or that HTTP gives a meaning of its own. */
const RESERVED_HEADERS = new Set([
  'content-type', 'content-length', 'content-encoding', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade',
  'host', 'te', 'trailer', 'expect', 'authorization', 'proxy-authorization', 'cookie', 'dapr-api-token',
  'traceparent', 'tracestate', 'grpc-trace-bin', 'pubsubname', 'retained',
])

/** CloudEvents attributes (required, optional and Dapr's) that a user property must not add. */
const EVENT_ATTRIBUTES = new Set([
  'id', 'source', 'specversion', 'type', 'datacontenttype', 'dataschema', 'subject', 'time', 'data', 'data_base64',
  'topic', 'pubsubname', 'traceid', 'traceparent', 'tracestate', 'expiration',
])

export interface PassedOn<T> {
  value: T
  /** Names left out, with why (for one warning). */
  skipped: string[]
}

/** The user properties within the limits, each value one string (a repeated key joined by ", "). */
function userProperties(message: IncomingMessage, skipped: string[]): [string, string][] {
  const props = message.properties?.userProperties
  if (!props) return []
  const out: [string, string][] = []
  let bytes = 0
  for (const [name, raw] of Object.entries(props)) {
    const value = Array.isArray(raw) ? raw.join(', ') : raw
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value)
    if (out.length >= MAX_PROPERTIES || bytes > MAX_PROPERTY_BYTES) {
      skipped.push(`${name} (beyond ${MAX_PROPERTIES} properties or ${MAX_PROPERTY_BYTES} bytes)`)
      continue
    }
    out.push([name, value])
  }
  return out
}

/** The headers of an MQTT 5 message for an HTTP target (empty for a message with no properties and `mqtt5` false). */
export function propertyHeaders(message: IncomingMessage, mqtt5: boolean): PassedOn<Record<string, string>> {
  const skipped: string[] = []
  const headers: Record<string, string> = {}
  if (!mqtt5) return { value: headers, skipped }
  const set = (name: string, value: string | undefined) => {
    if (value === undefined) return
    if (HEADER_VALUE.test(value)) headers[name] = value
    else skipped.push(`${name} (a value HTTP cannot carry)`)
  }
  set('mqtt-topic', message.topic)
  const p = message.properties
  set('mqtt-content-type', p?.contentType)
  set('mqtt-response-topic', p?.responseTopic)
  if (p?.correlationData !== undefined) headers['mqtt-correlation-data'] = p.correlationData.toString('base64')
  for (const [name, value] of userProperties(message, skipped)) {
    const lower = name.toLowerCase()
    if (!TOKEN.test(name)) skipped.push(`${JSON.stringify(name)} (not an HTTP header name)`)
    else if (RESERVED_HEADERS.has(lower) || lower.startsWith('mqtt-') || lower.startsWith('proxy-')) skipped.push(`${name} (a header the delivery sets itself)`)
    else if (!HEADER_VALUE.test(value)) skipped.push(`${name} (a value HTTP cannot carry)`)
    else if (Object.hasOwn(headers, lower)) skipped.push(`${name} (the same header name as another property)`)
    else headers[lower] = value
  }
  return { value: headers, skipped }
}

/**
 * The CloudEvent bytes with the message's MQTT 5 fields as extension attributes, spliced in
 * after the opening brace (no re-encoding: the event's own bytes stay as published).
 */
export function withEventAttributes(body: Buffer, event: Record<string, unknown>, message: IncomingMessage, mqtt5: boolean): PassedOn<Buffer> {
  const skipped: string[] = []
  if (!mqtt5) return { value: body, skipped }
  const attributes: [string, string][] = [['mqtttopic', message.topic]]
  const p = message.properties
  if (p?.contentType !== undefined) attributes.push(['mqttcontenttype', p.contentType])
  if (p?.responseTopic !== undefined) attributes.push(['mqttresponsetopic', p.responseTopic])
  if (p?.correlationData !== undefined) attributes.push(['mqttcorrelationdata', p.correlationData.toString('base64')])
  const taken = new Set(attributes.map(([name]) => name))
  for (const [name, value] of userProperties(message, skipped)) {
    const lower = name.toLowerCase()
    if (!ATTRIBUTE_NAME.test(lower)) skipped.push(`${JSON.stringify(name)} (not a CloudEvents attribute name: a-z, 0-9, at most 20)`)
    else if (EVENT_ATTRIBUTES.has(lower) || taken.has(lower) || Object.hasOwn(event, lower)) skipped.push(`${name} (an attribute the event has already)`)
    else {
      taken.add(lower)
      attributes.push([lower, value])
    }
  }
  const text = body.toString('utf8')
  const brace = text.indexOf('{')
  if (brace < 0) return { value: body, skipped }
  const rest = text.slice(brace + 1)
  const members = attributes.map(([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`).join(',')
  const empty = rest.trimStart().startsWith('}')
  return { value: Buffer.from(`${text.slice(0, brace + 1)}${members}${empty ? '' : ','}${rest}`, 'utf8'), skipped }
}
