/**
 * The Dapr HTTP API of `mqtt-fn serve` and the functions: one class, because every route shares
 * the resolved components, the API token, the in-flight limit and the tracer; publish and bulk
 * publish are the bulk of it (daprd's checks in daprd's order, then the envelope and the send).
 * The runtime endpoints (healthz, metadata) are in runtime-endpoints.ts, the request decoding in
 * request-metadata.ts and bulk-entries.ts, the error bodies in dapr-errors.ts.
 */
import { timingSafeEqual } from 'node:crypto'
import pLimit from 'p-limit'
import { buildPublishPayload, type PublishPayload, type PublishRequest } from '../core/envelope/index.js'
import { MqttFnError } from '../core/errors.js'
import { getPubsubClient } from '../core/pubsub/index.js'
import { inBinaryMode, mqtt5PublishOptions } from '../core/pubsub/publish-properties.js'
import { publisherComponent } from '../core/pubsub/publisher-identity.js'
import type { PublishOptions } from '../core/pubsub/types.js'
import type { Logger } from '../core/pubsub/types.js'
import { publishTopicFinding, WarnOnce } from '../core/resources/broker-profile.js'
import { inScope, isPublishAllowed } from '../core/resources/scopes.js'
import type { PubsubComponent } from '../core/resources/types.js'
import { validatePublishTopic } from '../core/topics/index.js'
import { BulkDecodeError, convertEventToBytes, decodeBulkEntries, entryMetadata } from './bulk-entries.js'
import * as daprErrors from './dapr-errors.js'
import { goQuote as goString } from '../core/envelope/index.js'
import {
  BULK_PUBLISH_CONCURRENCY,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_IN_FLIGHT,
  type PublishApiHandler,
  type PublishApiOptions,
  type PublishClient,
} from './options.js'
import { metadataFromQuery, rawPayloadFlag, retainFlag } from './request-metadata.js'
import { healthzResponse, metadataResponse } from './runtime-endpoints.js'
import { emptyResponse, jsonResponse } from './responses.js'
import { isExcludedFromApiToken, matchRoute, pathUnescape, UnescapeError, type RouteMatch } from './router.js'
import type { ApiRequest, ApiResponse } from './types.js'
import type { Span, Tracer } from '../tracing/types.js'

/** Beyond the client's own bounds (connect + PUBACK), how long the handler waits before answering 500 itself. */

/**
 * The Dapr publish API (daprd `pkg/api/http`), platform-neutral: `POST|PUT
 * /v1.0/publish/{pubsub}/{topic...}`, bulk publish, healthz and metadata. The handler never
 * throws: every failure is a Dapr-shaped answer, unexpected ones are logged.
 */
export function createPublishApi(options: PublishApiOptions): PublishApiHandler {
  const api = new PublishApi(options)
  const handler = (request: ApiRequest): Promise<ApiResponse> => api.handle(request)
  return Object.defineProperties(handler, {
    maxBodyBytes: { value: api.maxBodyBytes, enumerable: true },
    maxInFlight: { value: api.maxInFlight, enumerable: true },
    inFlight: { get: () => api.inFlight, enumerable: true },
  }) as PublishApiHandler
}

interface ResolvedTarget {
  component: PubsubComponent
  name: string
  topic: string
  /** False when the decoded topic bytes are not UTF-8 (MQTT requires UTF-8). */
  topicIsUtf8: boolean
  requestMetadata: Record<string, string>
}

/** The spans of one traced publish request: the request's, and (once the target is known) the publish's. */
interface PublishTrace {
  tracer: Tracer
  server: Span
  producer?: Span
}

interface PreparedMessage {
  payload: Buffer
  metadata: Record<string, string>
}

class PublishApi {
  readonly maxBodyBytes: number
  readonly maxInFlight: number
  private readonly retryAfterSeconds: number
  /** Publish requests past `accept` and not yet answered. */
  inFlight = 0
  private readonly appId: string
  private readonly components: Map<string, PubsubComponent>
  private readonly token: Buffer | undefined
  private readonly getClient: (component: PubsubComponent) => PublishClient
  private readonly log: Logger
  /** brokerProfile warnings, once per pubsub and topic. */
  private readonly profileWarnings = new WarnOnce()
  private readonly runtimeVersion: string
  private readonly tracer: Tracer | undefined

  constructor(options: PublishApiOptions) {
    this.appId = options.appId ?? ''
    const pubsubs = Array.isArray(options.resources)
      ? (options.resources as readonly PubsubComponent[])
      : (options.resources as { pubsubs: readonly PubsubComponent[] }).pubsubs
    this.components = new Map()
    for (const component of pubsubs) {
      if (inScope(component.scopes, this.appId)) this.components.set(component.name, component)
    }
    this.token = options.apiToken ? Buffer.from(options.apiToken, 'utf8') : undefined
    const max = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`maxBodyBytes must be a non-negative integer, got ${max}`)
    this.maxBodyBytes = max
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT
    if (!Number.isSafeInteger(this.maxInFlight) || this.maxInFlight <= 0) throw new RangeError(`maxInFlight must be a positive integer, got ${this.maxInFlight}`)
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1
    if (!Number.isSafeInteger(this.retryAfterSeconds) || this.retryAfterSeconds < 0) throw new RangeError(`retryAfterSeconds must be a non-negative integer, got ${this.retryAfterSeconds}`)
    // It only publishes: a client id of its own and a clean session, so that it never takes over
    // (and never resumes) the session of a forwarder configured with the same consumerID.
    this.getClient = options.getClient ?? ((component) => getPubsubClient(publisherComponent(component)))
    const noop = (): void => {}
    this.log = {
      debug: options.logger?.debug ?? noop,
      info: options.logger?.info ?? noop,
      warn: options.logger?.warn ?? noop,
      error: options.logger?.error ?? ((msg, fields) => console.error(msg, fields ?? '')),
    }
    this.runtimeVersion = options.runtimeVersion ?? 'edge'
    this.tracer = options.tracer
  }

  async handle(request: ApiRequest): Promise<ApiResponse> {
    try {
      return await this.route(request)
    } catch (err) {
      this.log.error('publish API: unexpected error', { error: describe(err), method: safeString(request?.method) })
      return daprErrors.internalError()
    }
  }

  private async route(request: ApiRequest): Promise<ApiResponse> {
    const method = String(request.method)
    const path = String(request.path)
    if (this.token && !isExcludedFromApiToken(method, path) && !this.tokenMatches(request.headers['dapr-api-token'])) {
      return daprErrors.invalidApiToken()
    }
    const match = matchRoute(path, (name) => this.components.has(name))
    if (!match) return daprErrors.noRoute()
    if (!match.methods.includes(method)) return daprErrors.methodNotAllowed(method, path, match.methods)
    switch (match.name) {
      case 'healthz':
        return healthzResponse(request, this.appId)
      case 'healthzOutbound':
        return emptyResponse()
      case 'metadata':
        return metadataResponse([...this.components.values()], this.appId, this.runtimeVersion)
      case 'publish':
        return this.tracer ? this.traced(this.tracer, request, match) : this.publish(request, match)
      case 'bulkPublish':
        return this.tracer ? this.traced(this.tracer, request, match) : this.bulkPublish(request, match)
    }
  }

  /**
   * A publish under a SERVER span (the caller's `traceparent` header its parent) and a PRODUCER
   * span for the publish itself, whose context the CloudEvent carries as `traceparent`, the way
   * daprd writes its publish span there: a subscriber's spans continue the same trace.
   */
  private async traced(tracer: Tracer, request: ApiRequest, match: RouteMatch): Promise<ApiResponse> {
    const method = String(request.method)
    const version = String(request.path).split('/')[1] ?? 'v1.0'
    const route = match.name === 'publish' ? `/${version}/publish/{pubsubname}/{topic}` : `/${version}/publish/bulk/{pubsubname}/{topic}`
    const server = tracer.startSpan(`${method} ${route}`, {
      kind: 'server',
      parent: header(request, 'traceparent'),
      tracestate: header(request, 'tracestate'),
      attributes: { 'http.request.method': method, 'http.route': route, 'url.path': String(request.path) },
    })
    const trace: PublishTrace = { tracer, server }
    try {
      const response = await (match.name === 'publish' ? this.publish(request, match, trace) : this.bulkPublish(request, match, trace))
      server.setAttribute('http.response.status_code', response.status)
      if (response.status >= 500) server.fail(`HTTP ${response.status}`)
      return response
    } finally {
      trace.producer?.end()
      server.end()
    }
  }

  /** The PRODUCER span of a traced publish, child of its SERVER span. */
  private producer(trace: PublishTrace | undefined, target: ResolvedTarget, messages: number): void {
    if (!trace) return
    trace.producer = trace.tracer.startSpan(`publish ${target.topic}`, {
      kind: 'producer',
      parent: trace.server,
      attributes: {
        'messaging.system': 'mqtt',
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.destination.name': target.topic,
        'mqttfn.pubsub': target.name,
        ...(messages > 1 ? { 'messaging.batch.message_count': messages } : {}),
      },
    })
  }

  /** Constant time for equal lengths; a length mismatch fails after a same-cost compare. */
  private tokenMatches(header: string | undefined): boolean {
    const token = this.token as Buffer
    const given = Buffer.from(header ?? '', 'utf8')
    if (given.length !== token.length) {
      timingSafeEqual(token, token)
      return false
    }
    return timingSafeEqual(given, token)
  }

  /**
   * daprd `validateAndGetPubsubAndTopic`, with the parameters decoded by Go's `url.PathUnescape`
   * where daprd uses `url.QueryUnescape` (router.ts says why).
   */
  private resolveTarget(request: ApiRequest, match: RouteMatch): ResolvedTarget | ApiResponse {
    const requestMetadata = metadataFromQuery(request.query)
    let name: string
    let topic: string
    let topicIsUtf8 = true
    let param = 'pubsubname'
    try {
      name = pathUnescape(match.rawPubsub ?? '')
      param = '*'
      const strict = pathUnescape(match.rawTopic ?? '', true)
      topicIsUtf8 = strict !== null
      topic = strict ?? pathUnescape(match.rawTopic ?? '')
    } catch (err) {
      if (err instanceof UnescapeError) {
        return daprErrors.malformedRequest(`failed to unescape request parameter ${JSON.stringify(param)}. Error: ${err.message}`)
      }
      throw err
    }
    if (name === '') return daprErrors.pubsubNameEmpty(requestMetadata)
    const component = this.components.get(name)
    if (!component) return daprErrors.pubsubNotFound(name, requestMetadata)
    if (topic === '') return daprErrors.topicEmpty(name, requestMetadata)
    return { component, name, topic, topicIsUtf8, requestMetadata }
  }

  /**
   * mqtt-fn: what daprd would hand to the broker but MQTT or the broker forbids (wildcards, NUL
   * and other control characters, noncharacters, not UTF-8, longer than 65535 bytes, more than
   * 200 `/`) is 400 ERR_MALFORMED_REQUEST before anything is published, instead of a broker
   * disconnect that fails every other publish on the shared connection.
   */
  private topicProblem(target: ResolvedTarget): ApiResponse | undefined {
    if (!target.topicIsUtf8) {
      return daprErrors.malformedRequest(`topic ${JSON.stringify(target.topic)}: not valid UTF-8 after percent-decoding`)
    }
    try {
      validatePublishTopic(target.topic)
    } catch (err) {
      if (err instanceof MqttFnError) return daprErrors.malformedRequest(err.message)
      throw err
    }
    // What the component's brokerProfile knows the broker does with this topic (NATS drops
    // the connection on a `.`: 400 here instead of a 500 after publishTimeout).
    const profile = target.component.metadata.brokerProfile
    const finding = profile === undefined ? undefined : publishTopicFinding(profile, target.topic)
    if (finding?.level === 'error') return daprErrors.malformedRequest(finding.text)
    if (finding) this.profileWarnings.warn(`${target.name}\u0000${target.topic}`, () => this.log.warn(finding.text, { pubsub: target.name }))
    return undefined
  }

  /** What single and bulk publish check first, in daprd's order: target, body size, rawPayload. */
  private accept(request: ApiRequest, match: RouteMatch): { target: ResolvedTarget; raw: boolean } | ApiResponse {
    const target = this.resolveTarget(request, match)
    if (isResponse(target)) return target
    if (request.body.length > this.maxBodyBytes) return daprErrors.bodyTooLarge(this.maxBodyBytes)
    const raw = rawPayloadFlag(target.requestMetadata)
    if ('error' in raw) return daprErrors.metadataDeserialize(target.name, target.requestMetadata, raw.error)
    return { target, raw: raw.value }
  }

  /**
   * Runs `work` in one of the maxInFlight slots, or answers 429 at once: a broker that stops
   * answering then holds at most maxInFlight requests (each until publishTimeout fails it), not
   * every request that arrives meanwhile.
   */
  private async limited(target: ResolvedTarget, work: () => Promise<ApiResponse>): Promise<ApiResponse> {
    if (this.inFlight >= this.maxInFlight) {
      return daprErrors.tooManyInFlight(target.name, target.topic, this.maxInFlight, this.retryAfterSeconds)
    }
    this.inFlight++
    try {
      return await work()
    } finally {
      this.inFlight--
    }
  }

  /** daprd `onPublish`, in its order: target, body, rawPayload, CloudEvent, scopes, publish. */
  private async publish(request: ApiRequest, match: RouteMatch, trace?: PublishTrace): Promise<ApiResponse> {
    const accepted = this.accept(request, match)
    if (isResponse(accepted)) return accepted
    return this.limited(accepted.target, () => this.publishAccepted(request, accepted, trace))
  }

  private async publishAccepted(request: ApiRequest, accepted: { target: ResolvedTarget; raw: boolean }, trace?: PublishTrace): Promise<ApiResponse> {
    const { target, raw } = accepted
    const { component, name, topic, requestMetadata } = target
    this.producer(trace, target, 1)

    let payload: Buffer = request.body
    // The payload's source, read only when needed (tracing, binary mode): the event map of a
    // new envelope is built on first read (buildPublishPayload).
    let built: PublishPayload | undefined
    if (!raw) {
      const envelope = this.envelope(target, request, request.body, header(request, 'content-type'), requestMetadata, trace?.producer)
      if (isResponse(envelope)) return envelope
      built = envelope
      payload = envelope.payload
      if (trace?.producer) {
        const id = envelope.event?.id
        if (typeof id === 'string') trace.producer.setAttribute('messaging.message.id', id)
      }
    }

    if (!isPublishAllowed(component, topic, this.appId)) return daprErrors.publishForbidden(name, topic, this.appId)
    const topicProblem = this.topicProblem(target)
    if (topicProblem) return topicProblem

    const retain = retainFlag(requestMetadata)
    if ('error' in retain) return daprErrors.metadataDeserialize(name, requestMetadata, retain.error)

    const properties = this.properties(target, requestMetadata, raw ? header(request, 'content-type') : CLOUDEVENTS_CONTENT_TYPE)
    if (isResponse(properties)) return properties
    const message = binaryMode(component, payload, built, properties)

    const failure = await this.send(component, topic, message.payload, retain.value, message.properties)
    if (failure !== undefined) trace?.producer?.fail(failure)
    if (failure !== undefined) return daprErrors.publishMessage(name, topic, failure)
    return emptyResponse()
  }

  /** daprd `onBulkPublish` with the default bulk publisher (the MQTT component has no BulkPublish). */
  private async bulkPublish(request: ApiRequest, match: RouteMatch, trace?: PublishTrace): Promise<ApiResponse> {
    const accepted = this.accept(request, match)
    if (isResponse(accepted)) return accepted
    return this.limited(accepted.target, () => this.bulkPublishAccepted(request, accepted, trace))
  }

  private async bulkPublishAccepted(request: ApiRequest, accepted: { target: ResolvedTarget; raw: boolean }, trace?: PublishTrace): Promise<ApiResponse> {
    const { target, raw } = accepted
    const { component, name, topic, requestMetadata } = target

    let entries: { entryId: string; contentType: string; metadata: Record<string, string> | null; bytes: () => Buffer }[]
    if (request.bulkEntries !== undefined) {
      // gRPC: each event is bytes already (daprd's gRPC API takes them as they are).
      entries = request.bulkEntries.map((e) => ({ entryId: e.entryId, contentType: e.contentType, metadata: e.metadata, bytes: () => e.event }))
    } else {
      try {
        entries = decodeBulkEntries(request.body).map((e) => ({ entryId: e.entryId, contentType: e.contentType, metadata: e.metadata, bytes: () => convertEventToBytes(e.event, e.contentType) }))
      } catch (err) {
        if (err instanceof BulkDecodeError) return daprErrors.unmarshalEvents(name, topic, this.appId, err.message)
        throw err
      }
    }

    const seen = new Set<string>()
    const messages: (PreparedMessage & { entryId: string; contentType: string })[] = []
    for (const entry of entries) {
      let data: Buffer
      try {
        data = entry.bytes()
      } catch (err) {
        return daprErrors.marshalEnvelope(name, topic, this.appId, (err as Error).message)
      }
      if (entry.entryId === '' || seen.has(entry.entryId)) {
        return daprErrors.marshalEvents(name, topic, this.appId, 'entryId is duplicated or not present for entry')
      }
      seen.add(entry.entryId)
      messages.push({
        entryId: entry.entryId,
        contentType: entry.contentType,
        payload: data,
        metadata: entryMetadata(requestMetadata, entry.metadata),
      })
    }

    this.producer(trace, target, messages.length)
    const events: (PublishPayload | undefined)[] = []
    if (!raw) {
      for (const message of messages) {
        // daprd decides rawPayload for the whole request; an entry's own rawPayload is ignored.
        const { rawPayload: _ignored, ...envelopeMetadata } = message.metadata
        const built = this.envelope(target, request, message.payload, message.contentType, envelopeMetadata, trace?.producer)
        if (isResponse(built)) return built
        message.payload = built.payload
        events.push(built)
      }
    }

    if (!isPublishAllowed(component, topic, this.appId)) return daprErrors.publishForbidden(name, topic, this.appId)
    const topicProblem = this.topicProblem(target)
    if (topicProblem) return topicProblem

    const properties: PublishOptions[] = []
    for (const [i, message] of messages.entries()) {
      const p = this.properties(target, message.metadata, raw ? message.contentType : CLOUDEVENTS_CONTENT_TYPE)
      if (isResponse(p)) return p
      const binary = binaryMode(component, message.payload, events[i], p)
      message.payload = binary.payload
      properties.push(binary.properties)
    }

    const limit = pLimit(BULK_PUBLISH_CONCURRENCY)
    const results = await Promise.all(
      messages.map((message, i) =>
        limit(async () => {
          const retain = retainFlag(message.metadata)
          if ('error' in retain) return retain.error
          return this.send(component, topic, message.payload, retain.value, properties[i] as PublishOptions)
        }),
      ),
    )
    const failed = messages.flatMap((message, i) => {
      const error = results[i]
      return error === undefined ? [] : [`{"entryId":${goString(message.entryId)},"error":${goString(error)}}`]
    })
    if (failed.length > 0) trace?.producer?.fail(`${failed.length} of ${messages.length} entries failed`)
    if (failed.length === 0) return emptyResponse()
    return jsonResponse(500, `{"failedEntries":[${failed.join(',')}],"errorCode":"ERR_PUBSUB_PUBLISH_MESSAGE"}`)
  }

  /** The CloudEvent bytes (daprd `NewCloudEvent` + `ApplyMetadata` + `json.Marshal`), or its error response. */
  private envelope(
    target: ResolvedTarget,
    request: ApiRequest,
    data: Buffer,
    contentType: string | undefined,
    metadata: Record<string, string>,
    producer?: Span,
  ): PublishPayload | ApiResponse {
    // Traced: the publish span is the parent the subscribers see. Untraced: the caller's context, as before.
    const traceparent = producer ? producer.traceparent : header(request, 'traceparent')
    const tracestate = producer ? producer.tracestate || header(request, 'tracestate') : header(request, 'tracestate')
    try {
      const publish: PublishRequest = { pubsubName: target.name, topic: target.topic, data, metadata, appId: this.appId }
      if (contentType !== undefined) publish.contentType = contentType
      if (traceparent !== undefined) publish.traceparent = traceparent
      if (tracestate !== undefined) publish.tracestate = tracestate
      return buildPublishPayload(publish)
    } catch (err) {
      if (err instanceof MqttFnError && err.code === 'ERR_PUBSUB_CLOUD_EVENTS_SER') {
        return daprErrors.cloudEventCreation(target.name, this.appId, err.message)
      }
      if (err instanceof MqttFnError && err.code === 'ERR_PUBSUB_REQUEST_METADATA') {
        const error = err.message.replace(/^failed deserializing metadata\. Error: /, '')
        return daprErrors.metadataDeserialize(target.name, target.requestMetadata, error)
      }
      throw err
    }
  }

  /** MQTT 5's per-message fields from the request metadata (nothing on 3.1.1), or the 400 naming a bad one. */
  private properties(target: ResolvedTarget, metadata: Record<string, string>, contentType: string | undefined): PublishOptions | ApiResponse {
    try {
      return mqtt5PublishOptions(metadata, contentType, target.component.metadata.protocolVersion)
    } catch (err) {
      if (err instanceof MqttFnError) return daprErrors.malformedRequest(err.message)
      throw err
    }
  }

  /**
   * Publishes and waits for the PUBACK. Resolves undefined on success, else the error text
   * daprd's component would give (`failed to publish: ...`). Bounded even if the client is not.
   */
  private async send(component: PubsubComponent, topic: string, payload: Buffer, retain: boolean | undefined, properties: PublishOptions): Promise<string | undefined> {
    // No timer of our own here: the client bounds every publish itself (connect wait and
    // PUBACK within publishTimeout; see PublishClient), and a second timer per request showed
    // in the warm handler's p99.
    try {
      await this.getClient(component).publish(topic, payload, retain === undefined ? properties : { ...properties, retain })
      return undefined
    } catch (err) {
      const text = `failed to publish: ${describe(err)}`
      this.log.warn('publish failed', { pubsub: component.name, topic, error: describe(err) })
      return text
    }
  }
}

const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json'

/** A Component in binary content mode sends the event that way (publish-properties.ts); otherwise as is. */
function binaryMode(component: PubsubComponent, payload: Buffer, built: PublishPayload | undefined, properties: PublishOptions): { payload: Buffer; properties: PublishOptions } {
  if (component.metadata.contentMode !== 'binary') return { payload, properties }
  const event = built?.event
  if (event === undefined) return { payload, properties }
  return inBinaryMode(event, properties)
}

function isResponse(value: unknown): value is ApiResponse {
  return typeof value === 'object' && value !== null && 'status' in value && 'body' in value && 'headers' in value
}

function header(request: ApiRequest, name: string): string | undefined {
  const value = request.headers[name]
  return typeof value === 'string' ? value : undefined
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message
  return safeString(err)
}

function safeString(value: unknown): string {
  try {
    return String(value)
  } catch {
    return '(unprintable)'
  }
}
