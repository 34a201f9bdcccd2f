import type { AuthProvider } from './auth/types.js'
export interface PublishOptions {
  /** Overrides the component's `retain`. */
  retain?: boolean
  /** Overrides the component's `qos`. */
  qos?: 0 | 1 | 2
  /** Overrides the component's `publishTimeout` (ms). */
  timeoutMs?: number
  /** MQTT 5 only: message expiry in seconds (ignored on 3.1.1). */
  messageExpiryInterval?: number
  /** MQTT 5 only: PUBLISH Content Type (ignored on 3.1.1). */
  contentType?: string
  /** MQTT 5 only: user properties (ignored on 3.1.1); an empty map is not sent. */
  userProperties?: Record<string, string | string[]>
  /** MQTT 5 only: request/response correlation data (ignored on 3.1.1). */
  correlationData?: Buffer
  /** MQTT 5 only: the topic a responder should answer on (ignored on 3.1.1). */
  responseTopic?: string
}

/** MQTT 5 PUBLISH properties carried to subscribers (absent on 3.1.1). */
export interface MessageProperties {
  contentType?: string
  /** A key sent more than once arrives as an array. */
  userProperties?: Record<string, string | string[]>
  messageExpiryInterval?: number
  correlationData?: Buffer
  responseTopic?: string
}

/** A message handed to a subscriber. Nothing is acknowledged to the broker until `ack()`. */
export interface IncomingMessage {
  /** The concrete PUBLISH topic (never the filter or `$share/...`). */
  topic: string
  payload: Buffer
  qos: 0 | 1 | 2
  retained: boolean
  /** Set by the broker on a redelivery. */
  dup: boolean
  /** MQTT 5 properties, when the PUBLISH had any. */
  properties?: MessageProperties
  /**
   * Send the PUBACK (QoS 1) / PUBCOMP (QoS 2) now. Returns true when it went out on the
   * connection the message arrived on; false when that connection is gone (the broker will
   * redeliver on a resumed session), after close, or for QoS 0. Idempotent. When one PUBLISH
   * matched several handlers, each gets its own message and the PUBACK leaves with the last ack.
   */
  ack(): boolean
  /**
   * Give the message back: it will not be acked, and should come again. MQTT has no NACK: the
   * broker redelivers only on a new connection that resumes the session, and meanwhile the
   * message takes a slot of the broker's in-flight window. So released messages (a few, or one
   * for a while) make the client renew its connection on a persistent session. Returns false
   * when there is nothing to release (acked, released, QoS 0, or its connection is gone).
   */
  release(): boolean
}

export type MessageHandler = (message: IncomingMessage) => void

export interface Subscription {
  filter: string
  /** Stop routing to this handler and UNSUBSCRIBE when the session is clean. */
  unsubscribe(): Promise<void>
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed'

export interface PubsubClientEvents {
  state: (state: ConnectionState) => void
  error: (error: Error) => void
  /** A QoS 0/1/2 message that matched no handler: acked (so it cannot block the session) and dropped. */
  unrouted: (topic: string) => void
}

export interface SubscribeOptions {
  /** Overrides the component's `qos` for this filter. */
  qos?: 0 | 1 | 2
  /** Bound on reaching the broker and getting the SUBACK, ms (default connectTimeout + publishTimeout). */
  timeoutMs?: number
  /** MQTT 5 only: 0 send retained messages (default), 1 only for a new subscription, 2 never. */
  retainHandling?: 0 | 1 | 2
  /** MQTT 5 only: do not receive what this connection publishes itself. */
  noLocal?: boolean
}

/** Structured log sink; `fields` never hold secrets (URLs are the redacted form). */
export type LogFn = (msg: string, fields?: Record<string, unknown>) => void

export interface Logger {
  debug: LogFn
  info: LogFn
  warn: LogFn
  error: LogFn
}

/** Runtime knobs of a PubsubClient that are not part of the component metadata. */
export interface PubsubClientOptions {
  /** Default: silent. */
  logger?: Logger
  /** A computed credential; default: the one the component's metadata configures (auth/index.ts), if any. */
  auth?: AuthProvider
  /**
   * Deliveries handed to handlers and not yet acked, per connection. At the cap the client stops
   * reading from the socket until an ack frees a slot. On MQTT 5 also sent as CONNECT Receive
   * Maximum, so the broker itself holds back. Default 100.
   */
  maxUnacked?: number
  /** First reconnect delay (before jitter), ms. Default 500. */
  reconnectBaseMs?: number
  /** Cap of the exponential reconnect delay, ms. Default 30000. */
  reconnectMaxMs?: number
  /**
   * Extra time, beyond connectTimeout + publishTimeout, that one connection attempt may take
   * before the watchdog discards the MQTT.js client and builds a fresh one, ms. Default 2000.
   */
  watchdogGraceMs?: number
  /** Bound on a graceful close (waiting for in-flight PUBACKs, DISCONNECT) before forcing, ms. Default 1000. */
  closeTimeoutMs?: number
  /**
   * On a persistent session, renew the connection (so the broker redelivers) once this many
   * messages were released on it. Default 10: half of Mosquitto's default in-flight window, which
   * released messages would otherwise fill until the stream stops.
   */
  renewAfterReleased?: number
  /** ... or this long after the first release, ms. Default 30000. */
  renewAfterReleaseMs?: number
  /**
   * Renewals that follow one another back off: the second waits this long after the first, the
   * next twice as long, up to renewAfterReleaseMs, ms. Default 1000.
   */
  renewBackoffBaseMs?: number
}
