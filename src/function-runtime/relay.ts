import { buildPublishPayload, parseGoBool } from '../core/envelope/index.js'
import { errorMessage, MqttFnError } from '../core/errors.js'
import { inBinaryMode, mqtt5PublishOptions } from '../core/pubsub/publish-properties.js'
import type { PublishOptions } from '../core/pubsub/types.js'
import { isPublishAllowed } from '../core/resources/scopes.js'
import type { PubsubComponent } from '../core/resources/types.js'
import { validatePublishTopic } from '../core/topics/index.js'
import type { Publisher } from './publisher.js'
import type { Span, Tracer } from '../tracing/types.js'

/**
 * One queue message (an SQS record, an Azure Storage Queue message) on its way to MQTT. The
 * rules are the HTTP publish API's, with the topic and the metadata taken from the message:
 *
 * - topic: a CloudEvent body's `topic`, else the `topic` attribute, else the function's
 *   default topic (`MQTTFN_TOPIC`). A topic that is present but invalid fails the message; it
 *   is never replaced by the default.
 * - a CloudEvent body (a JSON object with `specversion`) passes through, `topic` and
 *   `pubsubname` set, as daprd does for `application/cloudevents+json`;
 * - any other body is wrapped in Dapr's CloudEvent with the `contentType` attribute as its
 *   content type, else `application/json` for a body that parses as JSON, `text/plain` for
 *   other text and `application/octet-stream` for bytes that are not UTF-8;
 * - a `rawPayload` attribute that is true sends the body bytes as they are;
 * - the component's `allowedTopics`, `protectedTopics` and `publishingScopes` apply as they do
 *   to the HTTP API (a forbidden topic fails the message).
 */
export interface QueueMessage {
  /** Names the message in errors and logs (SQS messageId, Azure queue message id). */
  id: string
  /**
   * The body as the platform delivers it: a string (SQS), bytes, or a value the host already
   * decoded from JSON (Azure Storage Queue).
   */
  body: unknown
  /** Message attributes (SQS); Azure Storage Queue messages have none. */
  attributes?: MessageAttributes
}

export interface MessageAttributes {
  topic?: string
  contentType?: string
  rawPayload?: string
  /**
   * The other String / Number attributes, read as publish request metadata: on MQTT 5 they
   * become user properties (`ttlInSeconds` the expiry, `correlationData`, `responseTopic`), as
   * the publish API's `metadata.*` do.
   */
  metadata?: Record<string, string>
}

export interface RelayTarget {
  pubsub: PubsubComponent
  publisher: Publisher
  /** `MQTTFN_TOPIC`. */
  defaultTopic?: string
  /** `APP_ID`: CloudEvent `source`. */
  appId?: string
  /** A PRODUCER span per message when a Configuration turns tracing on. */
  tracer?: Tracer
}

/** A queue message that could not be relayed; names the message, never its payload. */
export class RelayError extends MqttFnError {
  override name = 'RelayError'
  readonly messageId: string

  constructor(messageId: string, message: string, options: { code?: string; retriable?: boolean; cause?: unknown } = {}) {
    super(options.code ?? 'ERR_RELAY_MESSAGE', `message ${JSON.stringify(messageId)}: ${message}`, options)
    this.messageId = messageId
  }
}

export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json'

/** What a message will publish, before any broker work: everything that can be wrong with the message itself. */
export interface RelayPlan {
  topic: string
  payload: Buffer
  raw: boolean
  /** MQTT 5 per-message fields (absent on 3.1.1 and when the message has none). */
  properties?: PublishOptions
  /** The message's PRODUCER span (traced relays), ended by `relayMessage`. */
  span?: Span
}

/** Decides topic and payload; throws RelayError for a message that can never be published. */
export function planRelay(message: QueueMessage, target: Omit<RelayTarget, 'publisher'>): RelayPlan {
  const planned: { span?: Span } = {}
  try {
    return planMessage(message, target, planned)
  } catch (err) {
    // A message that cannot be planned still shows in the trace, failed.
    planned.span?.fail(errorMessage(err))
    planned.span?.end()
    throw err
  }
}

function planMessage(message: QueueMessage, target: Omit<RelayTarget, 'publisher'>, planned: { span?: Span }): RelayPlan {
  const body = readBody(message)
  const attributes = message.attributes ?? {}
  const explicitType = attributes.contentType
  const cloudEvent =
    isCloudEvent(body.json) && (explicitType === undefined || isCloudEventsType(explicitType)) ? body.json : undefined

  const topic = chooseTopic(message, cloudEvent, attributes.topic, target.defaultTopic)
  // Its parent: the trace the message came with (a CloudEvent body's, or a `traceparent` attribute).
  const span = target.tracer?.startSpan(`publish ${topic}`, {
    kind: 'producer',
    parent: typeof cloudEvent?.traceparent === 'string' ? cloudEvent.traceparent : attributes.metadata?.['traceparent'],
    tracestate: typeof cloudEvent?.tracestate === 'string' ? cloudEvent.tracestate : attributes.metadata?.['tracestate'],
    attributes: { 'messaging.system': 'mqtt', 'messaging.operation.type': 'send', 'messaging.destination.name': topic, 'mqttfn.pubsub': target.pubsub.name, 'mqttfn.queue.message_id': message.id },
  })
  if (span) planned.span = span
  if (!isPublishAllowed(target.pubsub, topic, target.appId ?? '')) {
    throw new RelayError(
      message.id,
      `topic ${JSON.stringify(topic)} is not allowed for app id ${JSON.stringify(target.appId ?? '')} on pubsub ${JSON.stringify(target.pubsub.name)} (allowedTopics, protectedTopics or publishingScopes)`,
      { code: 'ERR_PUBSUB_FORBIDDEN' },
    )
  }

  let raw = false
  if (attributes.rawPayload !== undefined) {
    const parsed = parseGoBool(attributes.rawPayload)
    if (parsed === undefined) {
      throw new RelayError(message.id, `rawPayload attribute ${JSON.stringify(attributes.rawPayload)} is not a boolean`, {
        code: 'ERR_PUBSUB_REQUEST_METADATA',
      })
    }
    raw = parsed
  }

  const contentType =
    explicitType ??
    (cloudEvent !== undefined
      ? CLOUDEVENTS_CONTENT_TYPE
      : body.json !== undefined
        ? 'application/json'
        : body.text
          ? 'text/plain'
          : 'application/octet-stream')

  try {
    const built = buildPublishPayload({
      pubsubName: target.pubsub.name,
      topic,
      data: body.bytes,
      contentType,
      // The message's other attributes are request metadata (cloudevent.* overrides, the TTL), as on the publish API.
      metadata: { ...(attributes.metadata ?? {}), ...(raw ? { rawPayload: 'true' } : {}) },
      ...(target.appId === undefined ? {} : { appId: target.appId }),
      ...(span ? { traceparent: span.traceparent, tracestate: span.tracestate } : {}),
    })
    const plan: RelayPlan = { topic, payload: built.payload, raw: built.raw }
    if (span) plan.span = span
    const metadata = { ...(attributes.metadata ?? {}) }
    let properties: PublishOptions
    try {
      properties = mqtt5PublishOptions(metadata, built.raw ? contentType : CLOUDEVENTS_CONTENT_TYPE, target.pubsub.metadata.protocolVersion)
    } catch (err) {
      throw new RelayError(message.id, errorMessage(err), { code: 'ERR_MALFORMED_REQUEST', cause: err })
    }
    if (target.pubsub.metadata.contentMode === 'binary' && built.event !== undefined) {
      const binary = inBinaryMode(built.event, properties)
      plan.payload = binary.payload
      properties = binary.properties
    }
    if (Object.keys(properties).length > 0) plan.properties = properties
    return plan
  } catch (err) {
    if (err instanceof RelayError) throw err
    throw new RelayError(message.id, `cannot build the CloudEvent: ${errorMessage(err)}`, {
      code: 'ERR_PUBSUB_CLOUD_EVENTS_SER',
      cause: err,
    })
  }
}

/** Plans and publishes one message; resolves after the broker acknowledged it (QoS >= 1). */
export async function relayMessage(message: QueueMessage, target: RelayTarget): Promise<void> {
  const plan = planRelay(message, target)
  try {
    await target.publisher.publish(plan.topic, plan.payload, plan.properties)
  } catch (err) {
    plan.span?.fail(errorMessage(err))
    const retriable = err instanceof MqttFnError ? err.retriable : true
    throw new RelayError(message.id, errorMessage(err), {
      code: err instanceof MqttFnError ? err.code : 'ERR_PUBSUB_PUBLISH_MESSAGE',
      retriable,
      cause: err,
    })
  } finally {
    plan.span?.end()
  }
}

function chooseTopic(
  message: QueueMessage,
  cloudEvent: Record<string, unknown> | undefined,
  attributeTopic: string | undefined,
  defaultTopic: string | undefined,
): string {
  let topic: unknown
  let from: string
  if (cloudEvent !== undefined && Object.hasOwn(cloudEvent, 'topic')) {
    topic = cloudEvent['topic']
    from = 'CloudEvent topic'
  } else if (attributeTopic !== undefined) {
    topic = attributeTopic
    from = 'topic attribute'
  } else if (defaultTopic !== undefined) {
    topic = defaultTopic
    from = 'default topic (MQTTFN_TOPIC)'
  } else {
    throw new RelayError(
      message.id,
      'no topic: set it in a CloudEvent body, in a `topic` message attribute, or as MQTTFN_TOPIC',
      { code: 'ERR_TOPIC_NAME_EMPTY' },
    )
  }
  if (typeof topic !== 'string' || topic === '') {
    throw new RelayError(message.id, `${from} is ${topic === '' ? 'empty' : 'not a string'}`, { code: 'ERR_TOPIC_NAME_EMPTY' })
  }
  try {
    validatePublishTopic(topic)
  } catch (err) {
    throw new RelayError(message.id, `${from}: ${errorMessage(err)}`, {
      code: err instanceof MqttFnError ? err.code : 'ERR_TOPIC_INVALID',
      cause: err,
    })
  }
  return topic
}

interface Body {
  bytes: Buffer
  /** The parsed value when the body is JSON. */
  json?: unknown
  /** True when the bytes are UTF-8 text. */
  text: boolean
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function readBody(message: QueueMessage): Body {
  const body = message.body
  if (typeof body === 'string') return fromText(body, Buffer.from(body, 'utf8'))
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) {
    const bytes = Buffer.from(body instanceof ArrayBuffer ? new Uint8Array(body) : body)
    let text: string
    try {
      text = utf8.decode(bytes)
    } catch {
      return { bytes, text: false }
    }
    return fromText(text, bytes)
  }
  if (body === undefined || typeof body === 'function' || typeof body === 'symbol') {
    throw new RelayError(message.id, 'the message has no body')
  }
  // A value the host decoded from JSON (Azure parses every JSON-looking queue message).
  let serialized: string | undefined
  try {
    serialized = JSON.stringify(body)
  } catch (err) {
    throw new RelayError(message.id, `the body cannot be serialized as JSON: ${errorMessage(err)}`)
  }
  if (serialized === undefined) throw new RelayError(message.id, 'the body cannot be serialized as JSON')
  return { bytes: Buffer.from(serialized, 'utf8'), json: body, text: true }
}

function fromText(text: string, bytes: Buffer): Body {
  const json = tryJson(text)
  return json === NOT_JSON ? { bytes, text: true } : { bytes, json, text: true }
}

const NOT_JSON = Symbol('not json')

function tryJson(text: string): unknown {
  if (text.trim() === '') return NOT_JSON
  try {
    return JSON.parse(text) as unknown
  } catch {
    return NOT_JSON
  }
}

function isCloudEvent(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, 'specversion')
}

function isCloudEventsType(contentType: string): boolean {
  return contentType.split(';')[0]?.trim().toLowerCase() === CLOUDEVENTS_CONTENT_TYPE
}


