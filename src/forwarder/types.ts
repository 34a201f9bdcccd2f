import type { ResourceLocation } from '../core/errors.js'
import type { IncomingMessage } from '../core/pubsub/types.js'
import type { Span } from '../tracing/types.js'

/**
 * What a stage decides about one message, in daprd's words: `success` (ack), `retry`
 * (retriable error: the retry policy decides, then dead-letter or no ack) and `drop`
 * (ErrMessageDropped: dead-letter topic if set, then ack).
 */
export type Outcome =
  | { kind: 'success' }
  | { kind: 'retry'; reason: string }
  | { kind: 'drop'; reason: string }

export const SUCCESS: Outcome = Object.freeze({ kind: 'success' })

/** What a target answered, before the outcome rules read it. */
export type TargetReply =
  /** The target answered: an HTTP status (Lambda: 200, queue: 201) and its body. */
  | { ok: true; status: number; body: string }
  /** No usable answer: connection refused, timeout, Lambda FunctionError, SDK error. Retriable. */
  | { ok: false; reason: string }

/** One request to a target: the bytes and the headers daprd would send. */
export interface TargetRequest {
  body: Buffer
  /** `application/cloudevents+json` for one event, `application/json` for a bulk envelope. */
  contentType: string
  /** Lower-case names: `pubsubname`, `retained`, `traceparent`, `tracestate`. */
  headers: Record<string, string>
  /** Aborted by a forced shutdown. */
  signal: AbortSignal
  /** Bound of this attempt, ms; each target enforces it (a timer, not a signal per request: cheaper on the hot path). */
  timeoutMs: number
  /** The MQTT topic the message came on (a gRPC app's TopicEventRequest.topic, as daprd sends msg.Topic). */
  topic?: string
}

export type TargetKind = 'http' | 'lambda' | 'azqueue' | 'grpc'

/** A place deliveries go; one instance per distinct route, shared by every subscription. */
export interface Target {
  kind: TargetKind
  /** For logs and metrics: the URL, function name or queue name (no credentials). */
  name: string
  send(request: TargetRequest): Promise<TargetReply>
}

/** Jittered backoff, the shape of a Dapr Resiliency retry policy. */
export interface RetryPolicy {
  policy: 'constant' | 'exponential'
  /** constant: the interval; exponential: the first interval. */
  initialIntervalMs: number
  /** exponential only: the cap of one interval. */
  maxIntervalMs: number
  /** Retries after the first attempt; -1 = no limit (Dapr's meaning). */
  maxRetries: number
  /** exponential only: growth per retry. */
  multiplier: number
  /** Each interval is drawn from [d*(1-f), d*(1+f)]. */
  randomizationFactor: number
}

export interface BulkSettings {
  maxMessagesCount: number
  maxAwaitDurationMs: number
}

/** A compiled route rule: CEL program (absent = always matches) and its target. */
export interface CompiledRule {
  /** The CEL source, `''` for the default route. */
  match: string
  /** Returns true/false, or an Error when the expression fails on this event. */
  test?: (event: Record<string, unknown>) => boolean | Error
  /** The route as written: a path, `http(s)://...`, `lambda:...`, `azqueue:...`. */
  path: string
  target: Target
}

/** Where a subscription came from, for errors and logs. */
export interface SubscriptionSource extends ResourceLocation {
  /** `yaml` (a Subscription resource) or `app` (`GET /dapr/subscribe`). */
  origin: 'yaml' | 'app'
}

/** A subscription ready to run: validated, routes compiled, targets resolved. */
export interface ForwardSubscription {
  /** Stable label for logs and metrics: the resource name, or `pubsub/topic` for app ones. */
  id: string
  source: SubscriptionSource
  pubsubname: string
  /** The filter as given to the broker (may be `$share/group/...`). */
  topic: string
  rules: CompiledRule[]
  deadLetterTopic?: string
  rawPayload: boolean
  /** `metadata.ordered`: one delivery at a time per concrete topic. */
  ordered: boolean
  bulk?: BulkSettings
  metadata: Record<string, string>
  /** The pubsub speaks MQTT 5: its messages' topic and properties reach the target (message-properties.ts). */
  mqtt5?: boolean
  /** MQTT 5 subscribe options (Subscription metadata `retainHandling`, `noLocal`). */
  retainHandling?: 0 | 1 | 2
  noLocal?: boolean
  /** Read CloudEvents in the MQTT binding's binary content mode (Subscription or Component `contentMode: binary`). */
  binaryMode?: boolean
}

/** A message as the dispatcher tracks it. */
export interface Received {
  subscription: ForwardSubscription
  message: IncomingMessage
  /** Monotonic ms at arrival, for the latency histogram. */
  receivedAt: number
  /** The CloudEvent id, once decoded (for observers). */
  eventId?: string
  /** Settled once: acked, or left for redelivery. */
  settled?: boolean
  /** Delivery attempts made so far, and what the last one said (a dead letter tells them). */
  attempts?: number
  lastOutcome?: string
  /** Its CONSUMER span, when tracing is on (tracing.ts). */
  span?: Span
}

/**
 * What happened to one message, for observers such as the `mqtt-fn dev` log. Called
 * synchronously; an observer must not throw or block.
 */
export type DeliveryEvent =
  | { kind: 'routed'; subscription: string; topic: string; id?: string; target: string; rule: string }
  | { kind: 'settled'; subscription: string; topic: string; id?: string; acked: boolean; how: string; target?: string; ms: number }

export type DeliveryObserver = (event: DeliveryEvent) => void
