/**
 * The CloudEvents MQTT protocol binding's binary content mode (MQTT 5): the payload is the
 * event's data, `datacontenttype` is the PUBLISH Content Type, and every other attribute is a
 * user property of its own name. The structured mode (the whole event as JSON in the payload)
 * is what daprd and every Dapr SDK read, so mqtt-fn converts at the edges: a Component with
 * `contentMode: binary` publishes this way, and a subscription in binary mode turns such
 * messages back into the structured event a Dapr app expects.
 */
import { goMarshal } from './go-json-write.js'

/** The attributes without which a message is not a CloudEvent (CloudEvents 1.0, required). */
export const REQUIRED_ATTRIBUTES = ['id', 'source', 'specversion', 'type'] as const

const JSON_TYPE = /^application\/(?:[^;\s]+\+)?json(?:\s*;|$)/i

function isJsonType(contentType: string | undefined): boolean {
  return contentType !== undefined && JSON_TYPE.test(contentType.trim())
}

/** A structured CloudEvent content type: the payload is the whole event, whichever mode was asked for. */
export function isStructuredContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/cloudevents(?:-batch)?\+json/i.test(contentType.trim())
}

export interface BinaryMessage {
  payload: Buffer
  contentType?: string
  userProperties: Record<string, string>
}

/** The structured event (as the envelope builds it) in binary mode. */
export function toBinaryMode(event: Record<string, unknown>): BinaryMessage {
  const userProperties: Record<string, string> = {}
  for (const [name, value] of Object.entries(event)) {
    if (name === 'data' || name === 'data_base64' || name === 'datacontenttype' || value === undefined) continue
    userProperties[name] = typeof value === 'string' ? value : goMarshal(value)
  }
  const contentType = typeof event['datacontenttype'] === 'string' && event['datacontenttype'] !== '' ? event['datacontenttype'] : undefined
  let payload: Buffer
  if (typeof event['data_base64'] === 'string') payload = Buffer.from(event['data_base64'], 'base64')
  else if (event['data'] === undefined) payload = Buffer.alloc(0)
  else if (typeof event['data'] === 'string' && !isJsonType(contentType)) payload = Buffer.from(event['data'], 'utf8')
  else payload = Buffer.from(goMarshal(event['data']), 'utf8')
  return { payload, ...(contentType === undefined ? {} : { contentType }), userProperties }
}

export type FromBinary = { ok: true; event: Record<string, unknown> } | { ok: false; reason: string }

/**
 * The structured event of a binary-mode message. `topic` and `pubsubname` are added when the
 * publisher did not set them (daprd adds them too). A missing required attribute, or data that
 * is not the JSON its content type says, is a reason: such a message can never be delivered.
 */
export function fromBinaryMode(
  payload: Buffer,
  properties: { contentType?: string; userProperties?: Record<string, string | string[]> } | undefined,
  topic: string,
  pubsubName: string,
): FromBinary {
  const event: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(properties?.userProperties ?? {})) {
    // A repeated property: the binding has one value per attribute; the first wins.
    event[name] = Array.isArray(value) ? value[0] : value
  }
  const missing = REQUIRED_ATTRIBUTES.filter((a) => typeof event[a] !== 'string' || event[a] === '')
  if (missing.length > 0) {
    return { ok: false, reason: `binary-mode CloudEvent without the user propert${missing.length === 1 ? 'y' : 'ies'} ${missing.join(', ')}` }
  }
  const contentType = properties?.contentType
  if (contentType !== undefined && contentType !== '') event['datacontenttype'] = contentType
  if (payload.length > 0) {
    if (isJsonType(contentType)) {
      try {
        event['data'] = JSON.parse(payload.toString('utf8')) as unknown
      } catch {
        return { ok: false, reason: `binary-mode CloudEvent whose payload is not the JSON its Content Type ${JSON.stringify(contentType)} says` }
      }
    } else if (contentType !== undefined && /^text\//i.test(contentType.trim())) {
      event['data'] = payload.toString('utf8')
    } else {
      event['data_base64'] = payload.toString('base64')
    }
  }
  event['topic'] ??= topic
  event['pubsubname'] ??= pubsubName
  return { ok: true, event }
}
