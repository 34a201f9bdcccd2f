/**
 * An MQTT connection for one pubsub component: lazy connect, bounded publish, explicit-ack
 * subscribe, its own jittered reconnect loop and a watchdog. This file is the public API and
 * the wiring; each MQTT concern has a file of its own:
 *
 * | file | what it does |
 * |---|---|
 * | connection.ts | connection lifecycle, backoff, watchdog, generations, readiness |
 * | mqtt-options.ts | pure mapping of component metadata to MQTT.js options and properties |
 * | outbound.ts | PUBLISH: in-flight slots, the publish timer, withdrawal on timeout |
 * | inbound.ts | deliveries, deferred acks and corking, release and renewals (the ack design note) |
 * | subscriptions.ts | SUBSCRIBE / UNSUBSCRIBE, resubscription, the routing index |
 * | mqtt-internals.ts | the only file that touches MQTT.js private members |
 * | errors.ts | every pubsub error, reason-code and TLS classification |
 */
import { EventEmitter } from 'node:events'
import { ClosedError } from '../errors.js'
import type { MqttMetadata } from '../resources/types.js'
import { authProviderFor } from './auth/index.js'
import { Connection } from './connection.js'
import { DEFAULTS, type ClientContext } from './context.js'
import { ConnectError } from './errors.js'
import { Inbound } from './inbound.js'
import { positiveInt } from './mqtt-options.js'
import { NO_OPTIONS, Outbound } from './outbound.js'
import { Subscriptions } from './subscriptions.js'
import type { ConnectionState, Logger, MessageHandler, PublishOptions, PubsubClientOptions, SubscribeOptions, Subscription } from './types.js'

type PubsubEvents = { state: [ConnectionState]; error: [Error]; unrouted: [string] }

const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} }

/**
 * Events: `state`, `error` (emitted only when someone listens; always logged), `unrouted` (a
 * message no handler matched, acked and dropped).
 */
export class PubsubClient extends EventEmitter<PubsubEvents> {
  readonly metadata: MqttMetadata
  readonly name: string

  private readonly connection: Connection
  private readonly outbound: Outbound
  private readonly subscriptions: Subscriptions
  private readonly inbound: Inbound
  private readonly ctx: ClientContext
  private closing: Promise<void> | undefined

  /** `component` is a loaded `PubsubComponent` or any `{ name, metadata }`. */
  constructor(component: { name: string; metadata: MqttMetadata }, options: PubsubClientOptions = {}) {
    super()
    this.metadata = component.metadata
    this.name = component.name
    const log = options.logger ?? SILENT
    const url = component.metadata.url.redacted
    const fields = (): Record<string, unknown> => ({ component: this.name, url, clientId: this.metadata.consumerID })
    const auth = options.auth ?? authProviderFor(component.metadata)
    const ctx: ClientContext = {
      metadata: this.metadata,
      name: this.name,
      url,
      log,
      ...(auth ? { auth } : {}),
      opts: {
        maxUnacked: positiveInt(options.maxUnacked, DEFAULTS.maxUnacked),
        renewAfterReleased: positiveInt(options.renewAfterReleased, DEFAULTS.renewAfterReleased),
        renewAfterReleaseMs: positiveInt(options.renewAfterReleaseMs, DEFAULTS.renewAfterReleaseMs),
        renewBackoffBaseMs: positiveInt(options.renewBackoffBaseMs, DEFAULTS.renewBackoffBaseMs),
        reconnectBaseMs: positiveInt(options.reconnectBaseMs, DEFAULTS.reconnectBaseMs),
        reconnectMaxMs: positiveInt(options.reconnectMaxMs, DEFAULTS.reconnectMaxMs),
        watchdogGraceMs: positiveInt(options.watchdogGraceMs, DEFAULTS.watchdogGraceMs),
        closeTimeoutMs: positiveInt(options.closeTimeoutMs, DEFAULTS.closeTimeoutMs),
      },
      get closed() {
        return connection.closed
      },
      fields,
      reportError: (err) => {
        const level = err instanceof ConnectError && err.reasonCode === undefined && err.retriable ? 'warn' : 'error'
        log[level]('mqtt error', { ...fields(), error: err.message })
        if (this.listenerCount('error') > 0) this.emit('error', err)
      },
      closedError: () => new ClosedError(`pubsub client ${JSON.stringify(this.name)} is closed`),
    }
    this.ctx = ctx
    // The parts reach each other only through these hooks and the references handed below.
    const connection = new Connection(ctx, {
      incoming: (conn, packet, cb) => this.inbound.onIncoming(conn, packet, cb),
      connack: (conn, connack) => {
        if (connack.sessionPresent !== true) {
          this.subscriptions.sessionLost()
          this.inbound.sessionLost(conn)
        }
        this.outbound.onConnack(connack)
      },
      resubscribe: (conn, gen) => this.subscriptions.resubscribe(conn, gen),
      generationEnded: () => this.inbound.reset(),
      replaced: (old, reason) => this.outbound.failPending(old, reason),
      state: (state) => this.emit('state', state),
    })
    this.connection = connection
    this.outbound = new Outbound(ctx, connection)
    this.subscriptions = new Subscriptions(ctx, connection)
    this.inbound = new Inbound(ctx, connection, this.subscriptions, (topic) => {
      if (this.listenerCount('unrouted') > 0) this.emit('unrouted', topic)
    })
  }

  get state(): ConnectionState {
    return this.connection.state
  }

  get closed(): boolean {
    return this.connection.closed
  }

  /** Connects (if not yet) and resolves once connected and resubscribed, within connectTimeout. */
  async connect(): Promise<void> {
    await this.connection.waitReady(this.metadata.connectTimeout)
  }

  /**
   * Resolves after the PUBACK (QoS 1) / PUBCOMP (QoS 2), or once written (QoS 0). Waits for a
   * connection and an in-flight slot first; the whole call is bounded by `timeoutMs`
   * (component `publishTimeout`). Rejects PublishError (TimeoutError as cause when the bound
   * was hit; the message is then withdrawn so it is not sent later), TopicError, ClosedError.
   */
  publish(topic: string, payload: Buffer | Uint8Array | string, opts: PublishOptions = NO_OPTIONS): Promise<void> {
    return this.outbound.publish(topic, payload, opts)
  }

  /**
   * Routes messages matching `filter` (wildcards, `$share/group/...`) to `handler`. The handler
   * is registered before anything is sent, so messages the broker pushes right after CONNACK
   * (resumed session) find it. Resolves after the SUBACK. Nothing is acked until `ack()`.
   */
  subscribe(filter: string, handler: MessageHandler, opts: SubscribeOptions = {}): Promise<Subscription> {
    return this.subscriptions.subscribe(filter, handler, opts)
  }

  /**
   * UNSUBSCRIBEs a filter that this client routes to no handler: one that a persistent session
   * keeps from an earlier run of the same consumer (the broker would go on queueing its
   * messages for it, and they count against the session's queue limit). Resolves after the
   * UNSUBACK, within connectTimeout + publishTimeout; a filter with handlers is refused.
   */
  forget(filter: string): Promise<void> {
    return this.subscriptions.forget(filter)
  }

  /**
   * Whether given-back messages are moving: how many wait on this connection for a renewal,
   * since when (epoch ms), and how many renewals came one after another (reset after a quiet
   * spell of 2 x renewAfterReleaseMs). A high streak means messages fail on every
   * redelivery, and meanwhile they hold the broker's in-flight window.
   */
  get redelivery(): { waiting: number; waitingSince?: number; renewalsInARow: number } {
    return this.inbound.redelivery
  }

  /** Messages acked because no handler matched them (see the `unrouted` event). */
  get unroutedMessages(): number {
    return this.inbound.unroutedMessages
  }

  /**
   * Graceful DISCONNECT bounded by closeTimeoutMs (in-flight PUBACKs may still arrive), then
   * the socket is destroyed. Never hangs. Afterwards every call rejects ClosedError and
   * `ack()` returns false.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose()
    return this.closing
  }

  private async doClose(): Promise<void> {
    const closing = this.connection.close()
    this.outbound.close()
    await closing
    this.outbound.abandonAll()
    this.inbound.reset()
    this.subscriptions.clear()
    this.ctx.log.info('closed', this.ctx.fields())
  }
}
