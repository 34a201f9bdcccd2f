export interface PublishOptions {
  /** Overrides the component's `retain`. */
  retain?: boolean
  /** Overrides the component's `qos`. */
  qos?: 0 | 1 | 2
  /** Overrides the component's `publishTimeout` (ms). */
  timeoutMs?: number
  /** MQTT 5 only: message expiry in seconds (ignored on 3.1.1). */
  messageExpiryInterval?: number
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
  /**
   * Send the PUBACK (QoS 1) / PUBCOMP (QoS 2) now. Resolves true when it went out on the
   * connection the message arrived on; false when that connection is gone (the broker will
   * redeliver on a resumed session) or for QoS 0. Idempotent.
   */
  ack(): boolean
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
}
