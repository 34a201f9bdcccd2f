/**
 * What MQTT 5 carries per message, from a publish request's Dapr metadata: the keys Dapr
 * itself reads stay Dapr's (rawPayload, retain, ttl / ttlInSeconds, cloudevent.*), and every
 * other key becomes a user property, as Kafka's and Event Hubs' components turn request
 * metadata into message headers. The TTL becomes the Message Expiry Interval as well as the
 * CloudEvent `expiration`, so a broker holding the message for a persistent session drops it
 * when it is stale; `correlationData` and `responseTopic` set MQTT 5's request/response fields.
 * On MQTT 3.1.1 none of this exists, and nothing is sent.
 */
import { MqttFnError } from '../errors.js'
import { toBinaryMode, tryGetTtl } from '../envelope/index.js'
import { mqttStringProblem, publishTopicProblem } from '../topics/index.js'
import type { PublishOptions } from './types.js'

/** Request metadata keys (matched without case) that set MQTT 5 fields instead of user properties. */
export const CORRELATION_DATA_KEY = 'correlationData'
export const RESPONSE_TOPIC_KEY = 'responseTopic'

const DAPR_KEYS = new Set(['rawpayload', 'retain', 'ttl', 'ttlinseconds', CORRELATION_DATA_KEY.toLowerCase(), RESPONSE_TOPIC_KEY.toLowerCase()])

/** MQTT 5's Message Expiry Interval is a four-byte integer of seconds. */
const MAX_EXPIRY_SECONDS = 0xffff_ffff

const NONE: PublishOptions = Object.freeze({})

function isDaprKey(key: string): boolean {
  const lower = key.toLowerCase()
  return DAPR_KEYS.has(lower) || lower.startsWith('cloudevent.')
}

/**
 * The PUBLISH properties for `metadata` on a protocolVersion 5 connection; `{}` on 3.1.1.
 * `contentType` is what the payload is (`application/cloudevents+json` for an envelope, the
 * request's type for a raw payload). Throws MqttFnError `ERR_MALFORMED_REQUEST` naming the key
 * for a response topic that MQTT does not allow.
 */
export function mqtt5PublishOptions(metadata: Readonly<Record<string, string>>, contentType: string | undefined, protocolVersion: number): PublishOptions {
  if (protocolVersion !== 5) return NONE
  const options: PublishOptions = {}
  if (contentType !== undefined && contentType !== '') {
    const problem = mqttStringProblem(contentType)
    if (problem !== undefined) throw new MqttFnError('ERR_MALFORMED_REQUEST', `Content-Type ${JSON.stringify(contentType)}: the MQTT Content Type ${problem}`)
    options.contentType = contentType
  }
  let userProperties: Record<string, string> | undefined
  let correlationData: string | undefined
  let responseTopic: string | undefined
  for (const [key, value] of Object.entries(metadata)) {
    const lower = key.toLowerCase()
    if (lower === CORRELATION_DATA_KEY.toLowerCase()) correlationData ??= value
    else if (lower === RESPONSE_TOPIC_KEY.toLowerCase()) responseTopic ??= value
    else if (!isDaprKey(key)) {
      // A character MQTT refuses in a user property makes the broker drop the shared connection.
      const problem = mqttStringProblem(key) ?? mqttStringProblem(value)
      if (problem !== undefined) throw new MqttFnError('ERR_MALFORMED_REQUEST', `metadata.${key}: a user property name and value ${problem}`)
      ;(userProperties ??= {})[key] = value
    }
  }
  if (userProperties) options.userProperties = userProperties
  if (correlationData !== undefined && correlationData !== '') options.correlationData = Buffer.from(correlationData, 'utf8')
  if (responseTopic !== undefined && responseTopic !== '') {
    const problem = publishTopicProblem(responseTopic)
    if (problem !== undefined) throw new MqttFnError('ERR_MALFORMED_REQUEST', `metadata.${RESPONSE_TOPIC_KEY} ${JSON.stringify(responseTopic)}: ${problem}`)
    options.responseTopic = responseTopic
  }
  const ttl = tryGetTtl(metadata)
  // A TTL of 0 means "already stale": the shortest expiry MQTT can say (0 would mean none on some brokers).
  if (ttl !== undefined) options.messageExpiryInterval = Math.min(MAX_EXPIRY_SECONDS, Math.max(1, Math.ceil(Number(ttl) / 1e9)))
  return options
}

/**
 * A structured event and its publish options in the CloudEvents binary content mode: the data
 * as the payload, `datacontenttype` as the Content Type, the attributes as user properties
 * beside the request's own (the attributes win a clash).
 */
export function inBinaryMode(event: Record<string, unknown>, properties: PublishOptions): { payload: Buffer; properties: PublishOptions } {
  const binary = toBinaryMode(event)
  const { contentType: _structured, ...rest } = properties
  return {
    payload: binary.payload,
    properties: {
      ...rest,
      ...(binary.contentType === undefined ? {} : { contentType: binary.contentType }),
      userProperties: { ...(properties.userProperties ?? {}), ...binary.userProperties },
    },
  }
}
