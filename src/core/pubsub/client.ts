import { EventEmitter } from 'node:events'
import { performance } from 'node:perf_hooks'
import {
  connect as mqttConnect,
  ErrorWithReasonCode,
  ReasonCodes,
  type IClientOptions,
  type IClientPublishOptions,
  type IStore,
  type MqttClient,
  type OnConnectCallback,
  type PacketCallback,
} from 'mqtt'
import { ClosedError, MqttFnError, PublishError, TimeoutError, TopicError } from '../errors.js'
import type { MqttMetadata } from '../resources/types.js'
import { ConnectError, SubscribeError } from './errors.js'
import { filterProblem, publishTopicProblem, TopicMatcher } from '../topics/index.js'
import type {
  ConnectionState,
  IncomingMessage,
  Logger,
  MessageHandler,
  MessageProperties,
  PublishOptions,
  PubsubClientOptions,
  SubscribeOptions,
  Subscription,
} from './types.js'

/*
 * ACKNOWLEDGEMENT DESIGN — deliveries decoupled from MQTT.js's packet queue, acks explicit.
 *
 * MQTT.js parses incoming packets one at a time: the next PUBLISH is handled only after
 * `client.handleMessage(packet, cb)` calls back, and that callback is also what sends the
 * PUBACK (handlers/publish.js; for QoS 2, PUBCOMP after PUBREL in handlers/pubrel.js).
 * Awaiting the caller's work inside handleMessage therefore serializes the connection
 * (throughput = 1 / processing latency; a slow target also starves PINGRESP).
 *
 * Here handleMessage hands the message to the handlers and, for QoS 1/2, calls
 * `cb(DEFERRED)` at once: MQTT.js treats a callback error as "done, send no ack" and moves on
 * to the next packet. When the caller calls `message.ack()`, we write the PUBACK ourselves
 * (QoS 2: drop the stored PUBLISH, release the inbound id, write PUBCOMP), exactly what
 * MQTT.js would have written. Many deliveries are in the caller's hands at once.
 *
 * Hazards and their answers:
 * - Message ids are per connection. A PUBACK written on a newer connection could ack a
 *   different message that reuses the id. Each delivery records the connection generation
 *   (bumped on every 'close' and on client replacement); an ack of an older generation writes
 *   nothing and returns false. The broker redelivers on a resumed session (at-least-once,
 *   duplicates possible). Packets that MQTT.js still feeds from a stream that already closed
 *   (client.connected false) are dropped unacked for the same reason.
 * - Unbounded buffering: at most `maxUnacked` deliveries are un-acked per connection; at the
 *   cap the MQTT.js callback is held, the parser stalls and TCP pushes back on the broker. A
 *   stall longer than 1.5 × keepalive ends in a keepalive timeout and a reconnect (the
 *   un-acked messages come back on a resumed session). On MQTT 5 the same number is sent as
 *   CONNECT Receive Maximum, so the broker stops before the parser has to.
 * - MQTT.js private members are reached through the narrow `MqttInternals` interface below.
 *
 * Alternatives considered: several connections in one `$share` group (parallelism = number
 * of connections, each still serialized; needs MQTT 5 or a broker that takes `$share` on
 * 3.1.1, and a shared-subscription member that goes away strands its in-flight messages);
 * `customHandleAcks` (MQTT 5 only — MQTT.js ignores it on 3.1.1 — and it is awaited inside
 * the same serialized handler, so it delays but does not decouple).
 */

/** A callback error that MQTT.js reads as "handled, write no PUBACK/PUBCOMP". */
const DEFERRED = new Error('mqtt-fn: acknowledgement deferred to the caller')

const DEFAULTS = {
  maxUnacked: 100,
  reconnectBaseMs: 500,
  reconnectMaxMs: 30_000,
  watchdogGraceMs: 2000,
  closeTimeoutMs: 1000,
  renewAfterReleased: 10,
  renewAfterReleaseMs: 30_000,
  renewBackoffBaseMs: 1000,
} as const

/**
 * MQTT 5 session expiry when cleanSession is false and none is configured.
 * - consumerID configured: 0xFFFFFFFF (never expires), which is what a 3.1.1 clean=false
 *   session is, i.e. what Dapr users of cleanSession=false get today.
 * - consumerID generated per process: nobody can resume that session after the process is
 *   gone, so 300 s — long enough to resume across reconnects, short enough not to pile up
 *   dead sessions on the broker (one per cold start).
 */
const SESSION_NEVER_EXPIRES = 0xffffffff
const SESSION_EXPIRY_PER_PROCESS_S = 300

const MAX_RECEIVE_MAXIMUM = 0xffff
/** PUBACK reason codes that will not change on retry. */
const TERMINAL_PUBACK_CODES = new Set([0x83, 0x87, 0x90, 0x99])
/** CONNACK codes worth retrying (server unavailable / busy / quota / rate). */
const RETRIABLE_CONNACK_CODES = new Set([3, 0x88, 0x89, 0x97, 0x9f])
const TLS_ERROR_CODE = /^(ERR_TLS|ERR_SSL|UNABLE_TO_|CERT_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_OSSL)/

/** Acks of inbound messages: meaningless (and dangerous) on any connection but their own. */
const INBOUND_ACK_CMDS = new Set(['puback', 'pubrec', 'pubcomp'])

const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} }
const noop = (): void => {}

type PublishPacket = Parameters<MqttClient['handleMessage']>[0]
type ConnackPacket = Parameters<OnConnectCallback>[0]
type AckPacket = { cmd: 'puback' | 'pubcomp'; messageId: number }

/**
 * MQTT.js 5.x members that its typings mark private but this layer must reach
 * (read in node_modules/mqtt/build/lib/client.js, 5.16):
 * - `_sendPacket`: write the PUBACK / PUBCOMP when the caller acks (see the design above).
 * - `_releaseIncomingQoS2Publish`: forget an inbound QoS 2 id after its PUBCOMP, as pubrel.js does.
 * - `_storeProcessingQueue`: a publish queued behind a store replay has no message id yet;
 *   on timeout it is removed from here so it is never sent.
 * - `connackTimer`: stopped when a client is discarded without end() (end() can hang).
 */
interface MqttInternals {
  _sendPacket(packet: AckPacket, cb?: (err?: Error) => void): void
  _releaseIncomingQoS2Publish(messageId: number): void
  _storeProcessingQueue?: Array<{ callback?: unknown }>
  connackTimer?: ReturnType<typeof setTimeout> | null
}

/** One MQTT.js client; replaced as a whole by the watchdog. */
interface Conn {
  client: MqttClient
  internals: MqttInternals
  serial: number
  /** When the broker last sent anything on this client (CONNACK, PUBACK, PINGRESP...). */
  lastInboundAt: number
  /** When an inbound PUBLISH last pushed MQTT.js's keepalive timeout back. */
  pingRescheduledAt: number
  /** The socket is corked until the end of this event-loop turn, gathering acks. */
  acksCorked?: boolean
}

/** A publish handed to MQTT.js and not settled yet. */
class PendingPublish {
  /** What MQTT.js calls back; its identity marks our entry in MQTT.js's outgoing map. */
  readonly cb: PacketCallback
  messageId: number | undefined = undefined
  settled = false
  resolve: () => void = noop
  reject: (err: Error) => void = noop
  /** Neighbours in the client's list of unsettled publishes. */
  prev: PendingPublish | undefined = undefined
  next: PendingPublish | undefined = undefined

  constructor(
    done: (p: PendingPublish, err: Error | undefined) => void,
    readonly conn: Conn,
    readonly topic: string,
    readonly qos: 0 | 1 | 2,
    /** performance.now() clock. */
    readonly deadline: number,
    readonly totalMs: number,
  ) {
    this.cb = (err) => done(this, err)
  }
}

const NO_OPTIONS: PublishOptions = Object.freeze({})
/** MQTT.js spreads publish options into a new object: these are never mutated. Index: qos + (retain ? 3 : 0). */
const PUBLISH_OPTIONS: readonly IClientPublishOptions[] = [0, 1, 2, 0, 1, 2].map((qos, i) =>
  Object.freeze({ qos: qos as 0 | 1 | 2, retain: i >= 3 }),
)

/** One inbound QoS 1/2 PUBLISH handed to `remaining` handlers. */
interface Delivery {
  conn: Conn
  gen: number
  packet: PublishPacket
  remaining: number
  released?: boolean
}

interface FilterEntry {
  filter: string
  qos: 0 | 1 | 2
  handlers: Set<MessageHandler>
  /** SUBSCRIBE in flight on a connection generation; shared by concurrent callers. */
  inFlight?: { gen: number; qos: number; promise: Promise<void> }
}

interface Waiter {
  resolve(): void
  reject(err: Error): void
}

type PubsubEvents = { state: [ConnectionState]; error: [Error]; unrouted: [string] }

/** How often the "no matching handler" warning may repeat. */
const UNROUTED_LOG_INTERVAL_MS = 60_000

/**
 * An MQTT connection for one pubsub component: lazy connect, bounded publish, explicit-ack
 * subscribe, its own jittered reconnect loop and a watchdog. Events: `state`, `error`
 * (emitted only when someone listens; always logged).
 */
export class PubsubClient extends EventEmitter<PubsubEvents> {
  readonly metadata: MqttMetadata
  readonly name: string

  private readonly opts: Required<Omit<PubsubClientOptions, 'logger'>>
  private readonly log: Logger
  private readonly url: string

  private _state: ConnectionState = 'idle'
  private conn: Conn | undefined
  private connSerial = 0
  /** Connection generation: bumped on every close and client replacement. */
  private gen = 0
  private closed = false
  private closing: Promise<void> | undefined
  private lastError: Error | undefined

  private attempting = false
  private lastAttemptAt = 0
  private backoffAttempt = 0
  private backoffTimer: ReturnType<typeof setTimeout> | undefined
  private backoffDueAt = 0
  private watchdogTimer: ReturnType<typeof setTimeout> | undefined
  private readonly readyWaiters = new Set<Waiter>()

  private readonly filters = new Map<string, FilterEntry>()
  /** The same entries, indexed for routing (wildcards, `$share/` stripped). */
  private readonly matcher = new TopicMatcher<FilterEntry>()
  /** Filters the broker's session holds (SUBACKed), with the granted QoS. */
  private readonly confirmed = new Map<string, number>()
  private unacked = 0
  /** Messages released on this connection generation, waiting for a renewal to come again. */
  private released = 0
  private renewTimer: NodeJS.Timeout | undefined
  private renewDueAt = 0
  private firstReleaseAt = 0
  /** Renewals for released messages one after another, and when the last one was. */
  private renewStreak = 0
  private lastRenewAt = -Infinity
  private held: Array<() => void> = []
  /** Inbound QoS 2 ids whose PUBLISH sits in the incoming store until the caller acks. */
  private readonly qos2Unacked = new Set<number>()

  private inflight = 0
  /**
   * Publishes handed to MQTT.js and not settled, on any connection, oldest first: an
   * intrusive list (no per-publish allocation, O(1) removal).
   */
  private publishHead: PendingPublish | undefined
  private publishTail: PendingPublish | undefined
  private publishCount = 0
  /** The one timer bounding them all, armed for `publishTimerAt` (performance.now() clock). */
  private publishTimer: ReturnType<typeof setTimeout> | undefined
  private publishTimerAt = 0
  /** The last topic that passed validation (publishers mostly repeat a topic). */
  private lastValidTopic: string | undefined
  private inflightLimit: number
  /** MQTT 5 CONNACK Maximum QoS (2 when absent). */
  private maxQoS = 2
  private readonly slotWaiters: Waiter[] = []
  private unroutedCount = 0
  /** A handler was registered once: the session is this client's, its strays are its own to ack. */
  private everSubscribed = false
  private unroutedLoggedAt = -Infinity
  private unroutedSuppressed = 0

  /** `component` is a loaded `PubsubComponent` or any `{ name, metadata }`. */
  constructor(component: { name: string; metadata: MqttMetadata }, options: PubsubClientOptions = {}) {
    super()
    const metadata = component.metadata
    this.metadata = metadata
    this.name = component.name
    this.log = options.logger ?? SILENT
    this.url = metadata.url.redacted
    this.opts = {
      maxUnacked: positiveInt(options.maxUnacked, DEFAULTS.maxUnacked),
      renewAfterReleased: positiveInt(options.renewAfterReleased, DEFAULTS.renewAfterReleased),
      renewAfterReleaseMs: positiveInt(options.renewAfterReleaseMs, DEFAULTS.renewAfterReleaseMs),
      renewBackoffBaseMs: positiveInt(options.renewBackoffBaseMs, DEFAULTS.renewBackoffBaseMs),
      reconnectBaseMs: positiveInt(options.reconnectBaseMs, DEFAULTS.reconnectBaseMs),
      reconnectMaxMs: positiveInt(options.reconnectMaxMs, DEFAULTS.reconnectMaxMs),
      watchdogGraceMs: positiveInt(options.watchdogGraceMs, DEFAULTS.watchdogGraceMs),
      closeTimeoutMs: positiveInt(options.closeTimeoutMs, DEFAULTS.closeTimeoutMs),
    }
    this.inflightLimit = Math.max(1, metadata.maxInflight)
  }

  get state(): ConnectionState {
    return this._state
  }

  /** Connects (if not yet) and resolves once connected and resubscribed, within connectTimeout. */
  async connect(): Promise<void> {
    await this.waitReady(this.metadata.connectTimeout)
  }

  /**
   * Resolves after the PUBACK (QoS 1) / PUBCOMP (QoS 2), or once written (QoS 0). Waits for a
   * connection and an in-flight slot first; the whole call is bounded by `timeoutMs`
   * (component `publishTimeout`). Rejects PublishError (TimeoutError as cause when the bound
   * was hit; the message is then withdrawn so it is not sent later), TopicError, ClosedError.
   */
  publish(topic: string, payload: Buffer | Uint8Array | string, opts: PublishOptions = NO_OPTIONS): Promise<void> {
    // Not `async`: the common case (connected, a slot free) costs one promise, like
    // MQTT.js's publishAsync. Every synchronous throw still becomes a rejection.
    try {
      if (this.closed) throw this.closedError()
      if (topic !== this.lastValidTopic) {
        const problem = publishTopicProblem(topic)
        if (problem !== undefined) throw new TopicError(topic, problem)
        this.lastValidTopic = topic
      }
      const qos = opts.qos ?? this.metadata.qos
      const timeoutMs = boundMs(opts.timeoutMs ?? this.metadata.publishTimeout)
      this.checkAlive()
      const conn = this.conn
      if (
        this._state === 'connected' &&
        conn !== undefined &&
        (qos === 0 || (this.inflight < this.inflightLimit && this.slotWaiters.length === 0))
      ) {
        if (qos > 0) this.inflight++
        return this.sendPublish(conn, topic, payload, opts, qos, performance.now() + timeoutMs, timeoutMs)
      }
      return this.publishAfterWait(topic, payload, opts, qos, timeoutMs)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /**
   * Routes messages matching `filter` (wildcards, `$share/group/...`) to `handler`. The handler
   * is registered before anything is sent, so messages the broker pushes right after CONNACK
   * (resumed session) find it. Resolves after the SUBACK. Nothing is acked until `ack()`.
   */
  async subscribe(filter: string, handler: MessageHandler, opts: SubscribeOptions = {}): Promise<Subscription> {
    if (this.closed) throw this.closedError()
    const problem = filterProblem(filter)
    if (problem !== undefined) throw new TopicError(filter, problem)
    const qos = opts.qos ?? this.metadata.qos
    const timeoutMs = opts.timeoutMs ?? this.metadata.connectTimeout + this.metadata.publishTimeout
    const started = Date.now()
    const left = () => Math.max(0, timeoutMs - (Date.now() - started))

    let entry = this.filters.get(filter)
    if (!entry) {
      entry = { filter, qos, handlers: new Set() }
      this.filters.set(filter, entry)
      this.matcher.add(filter, entry)
    } else if (qos > entry.qos) {
      entry.qos = qos
    }
    entry.handlers.add(handler)
    this.everSubscribed = true
    const registered = entry

    try {
      this.checkAlive()
      for (;;) {
        while (this._state !== 'connected' || !this.conn) await this.waitReady(left())
        const granted = this.confirmed.get(filter)
        if (granted !== undefined && granted >= registered.qos) break
        try {
          await this.sendSubscribe(this.conn, this.gen, registered, left())
          break
        } catch (err) {
          // The connection dropped mid-SUBSCRIBE: the reconnect resubscribes; wait for it.
          const retry = err instanceof SubscribeError && err.reasonCode === undefined && err.retriable
          if (!retry || left() <= 0 || this.closed) throw err
        }
      }
    } catch (err) {
      registered.handlers.delete(handler)
      if (registered.handlers.size === 0 && this.filters.get(filter) === registered) this.dropFilter(registered)
      if (err instanceof TimeoutError) {
        throw new SubscribeError(filter, `${this.url} not reachable within ${timeoutMs} ms`, { retriable: true, cause: err })
      }
      throw err
    }
    return { filter, unsubscribe: () => this.removeHandler(registered, handler) }
  }

  /**
   * UNSUBSCRIBEs a filter that this client routes to no handler: one that a persistent session
   * keeps from an earlier run of the same consumer (the broker would go on queueing its
   * messages for it, and they count against the session's queue limit). Resolves after the
   * UNSUBACK, within connectTimeout + publishTimeout; a filter with handlers is refused.
   */
  async forget(filter: string): Promise<void> {
    if (this.closed) throw this.closedError()
    const problem = filterProblem(filter)
    if (problem !== undefined) throw new TopicError(filter, problem)
    if (this.filters.has(filter)) throw new TopicError(filter, 'this client still routes it to a handler; unsubscribe the handler instead')
    await this.waitReady(this.metadata.connectTimeout)
    const conn = this.conn
    if (!conn) throw this.closedError()
    try {
      await withTimeout(conn.client.unsubscribeAsync(filter), this.metadata.publishTimeout)
    } catch (err) {
      throw new SubscribeError(filter, `UNSUBSCRIBE: ${errorMessage(err)}`, { retriable: true, cause: err })
    }
    this.confirmed.delete(filter)
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

  // ---------------------------------------------------------------- connection lifecycle

  private createConn(incomingStore?: IStore): Conn {
    const client = mqttConnect(this.mqttOptions(incomingStore))
    const conn: Conn = {
      client,
      internals: client as unknown as MqttInternals,
      serial: ++this.connSerial,
      lastInboundAt: 0,
      pingRescheduledAt: 0,
    }
    client.on('packetreceive', (packet) => {
      const now = Date.now()
      // MQTT.js counts only acks and PINGRESP as signs of life, so a subscriber that only
      // receives PUBLISHes (and acks them) runs into 'Keepalive timeout' under sustained load,
      // when its PINGRESP waits behind the backlog. A QoS 1/2 PUBLISH proves the broker alive
      // just as well, and the PUBACK it gets keeps the broker's side of the keepalive
      // satisfied, so no PINGREQ is needed (QoS 0 gets no ack: there the pings must go on).
      // At most once a second, so the hot path does not rebuild a timer per message.
      if (packet.cmd === 'publish' && packet.qos > 0 && now - conn.pingRescheduledAt > 1000) {
        conn.pingRescheduledAt = now
        client.reschedulePing()
      }
      conn.lastInboundAt = now
    })
    client.handleMessage = (packet, cb) => this.onIncoming(conn, packet, cb)
    client.on('connect', (connack) => this.onMqttConnect(conn, connack))
    client.on('close', () => this.onMqttClose(conn))
    // MQTT.js's own 'error' listener is a no-op: without this one, errors vanish.
    client.on('error', (err) => this.onMqttError(conn, err))
    client.on('disconnect', (packet) => {
      if (conn !== this.conn) return
      const code = packet.reasonCode ?? 0
      this.log.warn('broker sent DISCONNECT', { ...this.fields(), reasonCode: code, reason: ReasonCodes[code as keyof typeof ReasonCodes] })
    })
    return conn
  }

  private mqttOptions(incomingStore?: IStore): IClientOptions {
    const md = this.metadata
    const u = md.url
    const o: IClientOptions = {
      protocol: u.protocol,
      host: u.host,
      hostname: u.host,
      port: u.port,
      clientId: md.consumerID,
      clean: md.cleanSession,
      keepalive: md.keepAlive,
      connectTimeout: md.connectTimeout,
      protocolVersion: md.protocolVersion,
      // We own reconnects (jittered backoff, watchdog) and resubscription.
      reconnectPeriod: 0,
      resubscribe: false,
      manualConnect: true,
      // We never publish while disconnected; a stray QoS 0 must fail, not sit in a queue.
      queueQoSZero: false,
      rejectUnauthorized: true,
    }
    // MQTT.js calls its `debug` logger about ten times per publish + PUBACK; even disabled
    // that costs CPU and about a third of the garbage per message. Without DEBUG in the
    // environment nothing can be enabled, so it gets a no-op; DEBUG=mqttjs* works as before.
    if (!process.env.DEBUG) o.log = noop
    if (u.protocol === 'ws' || u.protocol === 'wss') o.path = u.path
    if (u.username !== undefined) o.username = u.username
    if (u.password !== undefined) o.password = u.password
    if (md.caCert) o.ca = md.caCert
    if (md.clientCert && md.clientKey) {
      o.cert = md.clientCert
      o.key = md.clientKey
    } else if (md.clientCert || md.clientKey) {
      this.log.warn('clientCert and clientKey must both be set; neither is used', this.fields())
    }
    if (md.protocolVersion === 5) {
      const properties: NonNullable<IClientOptions['properties']> = {
        receiveMaximum: Math.min(this.opts.maxUnacked, MAX_RECEIVE_MAXIMUM),
      }
      const expiry = this.sessionExpiry()
      if (expiry !== undefined) properties.sessionExpiryInterval = expiry
      o.properties = properties
    }
    // Kept across client replacement: an un-acked inbound QoS 2 PUBLISH lives only there,
    // and a resumed session sends just the PUBREL for it.
    if (incomingStore) o.incomingStore = incomingStore
    return o
  }

  private sessionExpiry(): number | undefined {
    const md = this.metadata
    if (md.protocolVersion !== 5) return undefined
    if (md.sessionExpiryInterval !== undefined) return md.sessionExpiryInterval
    if (md.cleanSession) return undefined
    return md.consumerIDConfigured ? SESSION_NEVER_EXPIRES : SESSION_EXPIRY_PER_PROCESS_S
  }

  private get persistentSession(): boolean {
    if (!this.metadata.cleanSession) return true
    return (this.sessionExpiry() ?? 0) > 0
  }

  /** A caller needs the connection: start it, or cut a long backoff short (bounded rate). */
  private demandConnection(): void {
    if (this.closed) return
    if (!this.conn) {
      this.conn = this.createConn()
      this.setState('connecting')
      this.attempt()
      return
    }
    if (this.attempting || !this.backoffTimer) return
    const earliest = this.lastAttemptAt + this.opts.reconnectBaseMs
    const now = Date.now()
    if (now >= earliest) {
      this.attempt()
    } else if (this.backoffDueAt > earliest) {
      this.scheduleAttempt(earliest - now)
    }
  }

  private attempt(): void {
    clearTimeout(this.backoffTimer)
    this.backoffTimer = undefined
    if (this.closed || !this.conn) return
    const conn = this.conn
    // MQTT.js can latch with `disconnecting` set (reference §1.8): it would never connect again.
    if (conn.client.disconnecting || conn.client.connected) {
      this.replaceConn('MQTT.js client is stuck (disconnecting/connected without a live session)')
      return
    }
    // MQTT.js queues packets written while disconnected and sends them after the next CONNACK.
    // An ack queued that way (e.g. the PUBREC MQTT.js writes for a QoS 2 PUBLISH it parsed
    // after the socket closed) would carry an id of the old connection: drop it.
    conn.client.queue = conn.client.queue.filter((e) => !INBOUND_ACK_CMDS.has(e.packet.cmd))
    this.attempting = true
    this.lastAttemptAt = Date.now()
    this.armWatchdog()
    this.log.debug('connecting', { ...this.fields(), attempt: this.backoffAttempt })
    try {
      conn.client.connect()
    } catch (err) {
      this.attempting = false
      this.disarmWatchdog()
      const e = new ConnectError(this.url, errorMessage(err), { retriable: false, cause: err })
      this.lastError = e
      this.failReadyWaiters(e)
      this.reportError(e)
      this.scheduleReconnect()
    }
  }

  private onMqttConnect(conn: Conn, connack: ConnackPacket): void {
    if (conn !== this.conn || this.closed) return
    const gen = this.gen
    const sessionPresent = connack.sessionPresent === true
    if (!sessionPresent) {
      this.confirmed.clear()
      // The broker forgot the session: un-acked inbound QoS 2 PUBLISHes will never see a PUBREL.
      for (const id of this.qos2Unacked) conn.client.incomingStore.del({ messageId: id }, noop)
      this.qos2Unacked.clear()
    }
    this.maxQoS = connack.properties?.maximumQoS ?? 2
    const serverMax = connack.properties?.receiveMaximum
    this.inflightLimit = Math.max(1, Math.min(this.metadata.maxInflight, serverMax ?? MAX_RECEIVE_MAXIMUM))
    this.pumpSlots()
    this.finishConnect(conn, gen, sessionPresent).catch((err: unknown) => this.reportError(err instanceof Error ? err : new Error(String(err))))
  }

  /**
   * Resubscribes what the broker's session lacks, then declares the client ready. On a fresh
   * session (clean, expired, or broker restarted without persistence) that is every filter;
   * on a resumed one only filters never SUBACKed in this session. Re-SUBSCRIBE on a resumed
   * session would be harmless for routing but makes the broker resend retained messages
   * (MQTT-3.8.4-3) after every reconnect.
   */
  private async finishConnect(conn: Conn, gen: number, sessionPresent: boolean): Promise<void> {
    const todo = [...this.filters.values()].filter((e) => (this.confirmed.get(e.filter) ?? -1) < e.qos)
    const results = await Promise.allSettled(
      todo.map((e) => this.sendSubscribe(conn, gen, e, this.metadata.publishTimeout)),
    )
    if (conn !== this.conn || gen !== this.gen || this.closed) return
    let broken = false
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return
      const err = r.reason instanceof Error ? r.reason : new Error(String(r.reason))
      if (err instanceof SubscribeError && err.reasonCode !== undefined) {
        // The broker refuses this filter; others still work. subscribe() callers see the error.
        this.reportError(err)
      } else {
        this.log.warn('resubscribe failed; reconnecting', { ...this.fields(), filter: todo[i]?.filter, error: err.message })
        broken = true
      }
    })
    if (broken) {
      conn.client.stream?.destroy()
      return
    }
    this.attempting = false
    this.disarmWatchdog()
    this.backoffAttempt = 0
    this.lastError = undefined
    this.log.info('connected', { ...this.fields(), sessionPresent, resubscribed: todo.length })
    this.setState('connected')
    for (const w of [...this.readyWaiters]) w.resolve()
  }

  private onMqttClose(conn: Conn): void {
    if (conn !== this.conn) return
    this.gen++
    this.resetUnacked()
    this.attempting = false
    this.disarmWatchdog()
    if (this.closed) return
    if (this._state === 'connected') {
      this.log.warn('connection lost', this.fields())
      this.setState('reconnecting')
    }
    this.scheduleReconnect()
    // Someone is waiting for the connection: no need to sit out the backoff (rate-limited).
    if (this.readyWaiters.size > 0) this.demandConnection()
  }

  private onMqttError(conn: Conn, err: Error): void {
    if (conn !== this.conn || this.closed) {
      this.log.debug('error on a discarded connection', { ...this.fields(), error: err.message })
      return
    }
    const e = this.classify(err)
    this.lastError = e
    if (e instanceof ConnectError && (e.reasonCode !== undefined || !e.retriable)) this.failReadyWaiters(e)
    this.reportError(e)
  }

  private classify(err: Error): Error {
    if (err instanceof ErrorWithReasonCode && err.message.startsWith('Connection refused')) {
      const code = err.code
      const kind = this.metadata.protocolVersion === 5 ? 'reason code' : 'return code'
      return new ConnectError(this.url, `refused by the broker: ${reasonText(code)} (${kind} ${code})`, {
        reasonCode: code,
        retriable: RETRIABLE_CONNACK_CODES.has(code),
        cause: err,
      })
    }
    const code = (err as NodeJS.ErrnoException).code
    if ((typeof code === 'string' && TLS_ERROR_CODE.test(code)) || err.message === 'TLS not authorized') {
      return new ConnectError(this.url, `TLS: ${tlsProblem(err.message, code)}`, { retriable: false, cause: err })
    }
    if (err.message === 'connack timeout') {
      return new ConnectError(this.url, `no CONNACK within ${this.metadata.connectTimeout} ms`, { cause: err })
    }
    if (typeof code === 'string') return new ConnectError(this.url, err.message, { cause: err })
    return err
  }

  private scheduleReconnect(): void {
    if (this.closed || this.backoffTimer) return
    const exp = Math.min(this.opts.reconnectMaxMs, this.opts.reconnectBaseMs * 2 ** Math.min(this.backoffAttempt, 30))
    this.backoffAttempt++
    // "Equal jitter": never zero, and instances that lost the broker together spread out.
    this.scheduleAttempt(exp / 2 + Math.random() * (exp / 2))
  }

  private scheduleAttempt(delayMs: number): void {
    clearTimeout(this.backoffTimer)
    this.backoffDueAt = Date.now() + delayMs
    this.log.debug('reconnect scheduled', { ...this.fields(), delayMs: Math.round(delayMs) })
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined
      this.attempt()
    }, delayMs)
  }

  /**
   * One attempt (TCP, TLS, CONNACK, store replay, resubscribe) must end in 'connected' or
   * 'close' within its bounds. If neither happens the MQTT.js client is wedged: replace it.
   */
  private armWatchdog(): void {
    this.disarmWatchdog()
    const ms = this.metadata.connectTimeout + this.metadata.publishTimeout + this.opts.watchdogGraceMs
    this.watchdogTimer = setTimeout(() => {
      this.watchdogTimer = undefined
      if (!this.closed && this._state !== 'connected') this.replaceConn(`no connection after ${ms} ms`)
    }, ms)
  }

  private disarmWatchdog(): void {
    clearTimeout(this.watchdogTimer)
    this.watchdogTimer = undefined
  }

  private replaceConn(reason: string): void {
    const old = this.conn
    this.log.warn('replacing the MQTT client', { ...this.fields(), reason })
    this.gen++
    this.resetUnacked()
    this.attempting = false
    if (old) {
      this.discard(old)
      this.failPending(old, (p) => new PublishError(p.topic, `connection to ${this.url} replaced (${reason}) before the ack`))
    }
    this.conn = this.createConn(old?.client.incomingStore)
    this.attempt()
  }

  /** Drops a client without end() (which can wait forever for acks). */
  private discard(conn: Conn): void {
    const c = conn.client
    c.removeAllListeners()
    // A late socket error on a discarded client must not become an unhandled 'error'.
    c.on('error', noop)
    clearTimeout(conn.internals.connackTimer ?? undefined)
    c.keepaliveManager?.destroy()
    c.stream?.destroy()
  }

  private async doClose(): Promise<void> {
    this.closed = true
    clearTimeout(this.backoffTimer)
    this.backoffTimer = undefined
    this.disarmWatchdog()
    this.failReadyWaiters(this.closedError())
    for (const w of this.slotWaiters.splice(0)) w.reject(this.closedError())
    this.setState('closed')
    const conn = this.conn
    if (conn) {
      if (conn.client.connected) {
        // end(false) waits for in-flight PUBACKs and may never return (reference §1.3).
        await withTimeout(conn.client.endAsync(false), this.opts.closeTimeoutMs).catch((err: unknown) =>
          this.log.debug('graceful close did not finish', { ...this.fields(), error: errorMessage(err) }),
        )
      }
      this.discard(conn)
    }
    for (const p of this.unsettledPublishes()) this.settlePublish(p, this.closedError())
    clearTimeout(this.publishTimer)
    this.publishTimer = undefined
    this.resetUnacked()
    this.filters.clear()
    this.matcher.clear()
    this.confirmed.clear()
    this.log.info('closed', this.fields())
  }

  private setState(state: ConnectionState): void {
    if (this._state === state) return
    this._state = state
    this.emit('state', state)
  }

  private waitReady(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError())
    this.checkAlive()
    if (this._state === 'connected') return Promise.resolve()
    this.demandConnection()
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer)
          this.readyWaiters.delete(waiter)
          resolve()
        },
        reject: (err) => {
          clearTimeout(timer)
          this.readyWaiters.delete(waiter)
          reject(err)
        },
      }
      const timer = setTimeout(() => {
        const err = new TimeoutError(`connect to ${this.url}`, timeoutMs)
        if (this.lastError) {
          err.message += ` (last error: ${this.lastError.message})`
          err.cause = this.lastError
        }
        waiter.reject(err)
      }, timeoutMs)
      this.readyWaiters.add(waiter)
    })
  }

  /**
   * "Checked before use". Pings go out on timers, so a connection that has heard nothing from
   * the broker for 1.5 × keepalive was frozen with its process (a Lambda between invocations)
   * or its event loop: the broker has dropped it (MQTT-3.1.2-24). Writing into it would only
   * find out after the publish timeout. Drop it now and reconnect.
   */
  private checkAlive(): void {
    const conn = this.conn
    if (this._state !== 'connected' || !conn) return
    const keepaliveS = conn.client.keepalive
    if (!keepaliveS || conn.lastInboundAt === 0) return
    const silentMs = Date.now() - conn.lastInboundAt
    if (silentMs <= keepaliveS * 1500) return
    this.log.info('connection silent beyond 1.5 x keepalive (process frozen?); reconnecting', { ...this.fields(), silentMs })
    this.setState('reconnecting')
    this.armWatchdog() // in case the close never comes
    conn.client.stream?.destroy()
  }

  private failReadyWaiters(err: Error): void {
    for (const w of [...this.readyWaiters]) w.reject(err)
  }

  // ---------------------------------------------------------------- publish

  /**
   * The path of a publish that has to wait: for an in-flight slot, for the connection, or both.
   * The bound covers the waits and the ack together.
   */
  private async publishAfterWait(
    topic: string,
    payload: Buffer | Uint8Array | string,
    opts: PublishOptions,
    qos: 0 | 1 | 2,
    timeoutMs: number,
  ): Promise<void> {
    const deadline = performance.now() + timeoutMs
    const left = (): number => Math.max(0, deadline - performance.now())
    let slot = false
    let conn: Conn | undefined
    try {
      if (qos > 0) {
        await this.acquireSlot(left())
        slot = true
      }
      this.checkAlive()
      // A connection can drop between the ready signal and this continuation: check again.
      while (this._state !== 'connected') await this.waitReady(left())
      conn = this.conn
    } catch (err) {
      if (slot) this.releaseSlot()
      throw this.publishWaitError(topic, err)
    }
    if (this.closed || !conn) {
      if (qos > 0) this.releaseSlot()
      throw this.closed ? this.closedError() : new PublishError(topic, `no connection to ${this.url}`)
    }
    return this.sendPublish(conn, topic, payload, opts, qos, deadline, timeoutMs)
  }

  private acquireSlot(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError())
    if (this.inflight < this.inflightLimit && this.slotWaiters.length === 0) {
      this.inflight++
      return Promise.resolve()
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
        reject: (err) => {
          clearTimeout(timer)
          reject(err)
        },
      }
      const timer = setTimeout(() => {
        const i = this.slotWaiters.indexOf(waiter)
        if (i >= 0) this.slotWaiters.splice(i, 1)
        reject(new TimeoutError(`waiting for one of ${this.inflightLimit} in-flight slots`, timeoutMs))
      }, timeoutMs)
      this.slotWaiters.push(waiter)
    })
  }

  private releaseSlot(): void {
    this.inflight--
    if (this.slotWaiters.length > 0) this.pumpSlots()
  }

  private pumpSlots(): void {
    while (this.inflight < this.inflightLimit && this.slotWaiters.length > 0) {
      this.inflight++
      this.slotWaiters.shift()?.resolve()
    }
  }

  /**
   * Hands the PUBLISH to MQTT.js on `conn`. The caller holds the in-flight slot (QoS > 0);
   * it is released exactly once, when the publish settles. `deadline` is on the
   * performance.now() clock, which a wall-clock step cannot move.
   */
  private sendPublish(
    conn: Conn,
    topic: string,
    payload: Buffer | Uint8Array | string,
    opts: PublishOptions,
    qos: 0 | 1 | 2,
    deadline: number,
    totalMs: number,
  ): Promise<void> {
    if (qos > this.maxQoS) {
      if (qos > 0) this.releaseSlot()
      // Sending it anyway is a protocol error that costs the connection (MQTT-3.3.1-4).
      return Promise.reject(
        new PublishError(topic, `${this.url} accepts QoS up to ${this.maxQoS}, not ${qos}`, { retriable: false }),
      )
    }
    let body: string | Buffer
    let pubOpts: IClientPublishOptions
    try {
      body = typeof payload === 'string' || Buffer.isBuffer(payload)
        ? payload
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
      pubOpts = this.publishOptions(opts, qos)
    } catch (err) {
      if (qos > 0) this.releaseSlot()
      return Promise.reject(err)
    }

    const p = new PendingPublish(this.onPublishCallback, conn, topic, qos, deadline, totalMs)
    const promise = new Promise<void>((resolve, reject) => {
      p.resolve = resolve
      p.reject = reject
    })
    const tail = this.publishTail
    if (tail === undefined) this.publishHead = p
    else {
      tail.next = p
      p.prev = tail
    }
    this.publishTail = p
    // While nothing is pending the timer is unref'd (see settlePublish).
    if (++this.publishCount === 1) this.publishTimer?.ref()
    if (this.publishTimer === undefined || deadline < this.publishTimerAt) this.armPublishTimer(deadline)
    const client = conn.client
    try {
      client.publish(topic, body, pubOpts, p.cb)
    } catch (err) {
      this.settlePublish(p, new PublishError(topic, errorMessage(err), { retriable: false, cause: err }))
      return promise
    }
    if (qos > 0 && !p.settled) {
      // The id is allocated synchronously inside publish() unless MQTT.js queued the call
      // behind a store replay; the callback identity tells which.
      const id = client.getLastMessageId()
      if (client.outgoing[id]?.cb === p.cb) p.messageId = id
    }
    return promise
  }

  /** MQTT.js copies the options it is given, so the common ones are shared, frozen objects. */
  private publishOptions(opts: PublishOptions, qos: 0 | 1 | 2): IClientPublishOptions {
    const retain = opts.retain ?? this.metadata.retain
    if (
      this.metadata.protocolVersion === 5 &&
      (opts.messageExpiryInterval !== undefined || opts.contentType !== undefined || opts.userProperties !== undefined)
    ) {
      const properties = publishProperties(opts)
      if (properties) return { qos, retain, properties }
    }
    return PUBLISH_OPTIONS[retain ? qos + 3 : qos]!
  }

  /** MQTT.js called back (ack, write, removal, or connection loss). */
  private readonly onPublishCallback = (p: PendingPublish, err: Error | undefined): void => {
    if (p.settled) return
    this.settlePublish(p, err ? this.publishCallbackError(p.conn, p, err) : undefined)
  }

  private settlePublish(p: PendingPublish, err?: Error): void {
    if (p.settled) return
    p.settled = true
    const { prev, next } = p
    if (prev === undefined) this.publishHead = next
    else prev.next = next
    if (next === undefined) this.publishTail = prev
    else next.prev = prev
    p.prev = p.next = undefined
    // Armed for a later deadline, the timer must not keep an idle process alive.
    if (--this.publishCount === 0) this.publishTimer?.unref()
    if (p.qos > 0) this.releaseSlot()
    const { resolve, reject } = p
    // MQTT.js may still hold p (through cb) for a while; it must not keep the promise alive.
    p.resolve = p.reject = noop
    if (err) reject(err)
    else resolve()
  }

  /**
   * One timer for every pending publish, armed for the earliest deadline. A publish that
   * settles leaves it alone; when it fires it times out whatever is due and re-arms for the
   * next deadline, so under steady load it fires about once per publishTimeout, not once
   * per publish. It holds the process open only while a publish is pending.
   */
  private armPublishTimer(deadline: number): void {
    clearTimeout(this.publishTimer)
    this.publishTimerAt = deadline
    this.publishTimer = setTimeout(this.onPublishTimer, Math.max(1, Math.ceil(deadline - performance.now())))
    if (this.publishCount === 0) this.publishTimer.unref()
  }

  private readonly onPublishTimer = (): void => {
    this.publishTimer = undefined
    const now = performance.now()
    let next = Infinity
    const due: PendingPublish[] = []
    for (let p = this.publishHead; p !== undefined; p = p.next) {
      if (p.deadline <= now) due.push(p)
      else if (p.deadline < next) next = p.deadline
    }
    for (const p of due) this.timeOutPublish(p)
    if (next !== Infinity && (this.publishTimer === undefined || next < this.publishTimerAt)) this.armPublishTimer(next)
  }

  private timeOutPublish(p: PendingPublish): void {
    if (p.settled) return
    const { conn, topic, qos, totalMs } = p
    const what = qos === 0 ? `writing to ${this.url}` : `${qos === 2 ? 'PUBCOMP' : 'PUBACK'} from ${this.url}`
    this.settlePublish(
      p,
      new PublishError(topic, `no ${what} within ${totalMs} ms`, { cause: new TimeoutError(`publish to ${topic}`, totalMs) }),
    )
    this.withdraw(conn, p)
    this.log.warn('publish timed out', { ...this.fields(), topic, qos, timeoutMs: totalMs })
  }

  /** Takes a timed-out publish back from MQTT.js so that a reconnect does not replay it. */
  private withdraw(conn: Conn, pending: PendingPublish): void {
    const { client } = conn
    const id = pending.messageId
    // Ours while MQTT.js holds our callback under that id — or a wrapper of it: a store replay
    // after a reconnect wraps the callback, so identity alone would miss a replayed publish
    // (which would then be replayed, and refused, on every reconnect). Ids are reused once
    // freed, so a wrapped entry counts as ours only when no other pending publish of this
    // connection holds the same id.
    if (id !== undefined && client.outgoing[id] !== undefined && (client.outgoing[id]?.cb === pending.cb || !this.idHeldByAnother(conn, pending, id))) {
      client.removeOutgoingMessage(id)
      return
    }
    const queue = conn.internals._storeProcessingQueue
    if (queue) {
      const i = queue.findIndex((e) => e.callback === pending.cb)
      if (i >= 0) queue.splice(i, 1)
    }
  }

  private idHeldByAnother(conn: Conn, pending: PendingPublish, id: number): boolean {
    for (let p = this.publishHead; p !== undefined; p = p.next) {
      if (p !== pending && p.conn === conn && p.messageId === id) return true
    }
    return false
  }

  private publishCallbackError(conn: Conn, pending: PendingPublish, err: Error): Error {
    const { topic } = pending
    if (err instanceof ErrorWithReasonCode) {
      const code = err.code
      return new PublishError(topic, `refused by ${this.url}: ${reasonText(code)} (reason code 0x${code.toString(16)})`, {
        retriable: !TERMINAL_PUBACK_CODES.has(code),
        cause: err,
      })
    }
    if (err.message === 'Connection closed' && pending.messageId !== undefined) {
      // MQTT.js dropped the callback but kept the packet in its store: it would be sent again
      // after reconnect with nobody waiting. The caller hears "retriable" instead.
      conn.client.outgoingStore.del({ messageId: pending.messageId }, noop)
    }
    if (this.closed) return this.closedError()
    return new PublishError(topic, `connection to ${this.url} lost before the ack (${err.message})`, { cause: err })
  }

  private publishWaitError(topic: string, err: unknown): Error {
    if (err instanceof ClosedError) return err
    if (err instanceof TimeoutError) return new PublishError(topic, err.message, { cause: err })
    if (err instanceof MqttFnError) return new PublishError(topic, err.message, { retriable: err.retriable, cause: err })
    return new PublishError(topic, errorMessage(err), { cause: err })
  }

  private failPending(conn: Conn, make: (p: PendingPublish) => Error): void {
    for (const p of this.unsettledPublishes()) if (p.conn === conn) this.settlePublish(p, make(p))
  }

  /** A copy: settling unlinks. */
  private unsettledPublishes(): PendingPublish[] {
    const all: PendingPublish[] = []
    for (let p = this.publishHead; p !== undefined; p = p.next) all.push(p)
    return all
  }

  // ---------------------------------------------------------------- subscribe / deliver

  private sendSubscribe(conn: Conn, gen: number, entry: FilterEntry, timeoutMs: number): Promise<void> {
    const qos = entry.qos
    const current = entry.inFlight
    if (current && current.gen === gen && current.qos >= qos) return current.promise
    const promise = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new SubscribeError(entry.filter, `no SUBACK from ${this.url} within ${timeoutMs} ms`, {
            retriable: true,
            cause: new TimeoutError(`subscribe to ${entry.filter}`, timeoutMs),
          }),
        )
      }, Math.max(1, timeoutMs))
      conn.client.subscribe(entry.filter, { qos }, (err, granted) => {
        clearTimeout(timer)
        if (err) {
          const code = (err as { packet?: { granted?: unknown[] } }).packet?.granted?.[0]
          if (typeof code === 'number' && (code & 0x80) !== 0) {
            reject(new SubscribeError(entry.filter, `refused by ${this.url}: ${reasonText(code)} (reason code 0x${code.toString(16)})`, { reasonCode: code }))
          } else {
            reject(new SubscribeError(entry.filter, err.message, { retriable: true, cause: err }))
          }
          return
        }
        const g = granted?.[0]?.qos ?? qos
        if (gen === this.gen && conn === this.conn) this.confirmed.set(entry.filter, Math.max(g, qos))
        if (g < qos) this.log.warn('broker granted a lower QoS', { ...this.fields(), filter: entry.filter, requested: qos, granted: g })
        resolve()
      })
    })
    entry.inFlight = { gen, qos, promise }
    promise.catch(noop)
    return promise
  }

  private dropFilter(entry: FilterEntry): void {
    this.filters.delete(entry.filter)
    this.matcher.remove(entry.filter, entry)
  }

  private async removeHandler(entry: FilterEntry, handler: MessageHandler): Promise<void> {
    if (!entry.handlers.delete(handler)) return
    if (entry.handlers.size > 0 || this.filters.get(entry.filter) !== entry) return
    this.dropFilter(entry)
    // A persistent session keeps the subscription so the broker queues for the next run.
    if (this.persistentSession || this.closed) return
    this.confirmed.delete(entry.filter)
    const conn = this.conn
    if (this._state !== 'connected' || !conn) return // a clean session forgets it anyway
    try {
      await withTimeout(conn.client.unsubscribeAsync(entry.filter), this.metadata.publishTimeout)
    } catch (err) {
      this.log.warn('unsubscribe failed', { ...this.fields(), filter: entry.filter, error: errorMessage(err) })
    }
  }

  private onIncoming(conn: Conn, packet: PublishPacket, cb: (err?: Error) => void): void {
    const qos = packet.qos
    // A packet parsed from a stream that has closed: its ack could only reach a later
    // connection, where the id means something else. Leave it to redelivery.
    if (conn !== this.conn || this.closed || !conn.client.connected) {
      cb(qos > 0 ? DEFERRED : undefined)
      return
    }
    const topic = packet.topic
    const handlers = new Set<MessageHandler>()
    for (const entry of this.matcher.match(topic)) for (const h of entry.handlers) handlers.add(h)
    if (handlers.size === 0) {
      if (this.filters.size === 0 && !this.everSubscribed) {
        // A client that subscribes to nothing was handed someone else's session (a publisher
        // sharing a subscriber's consumerID and cleanSession false): acking would take the
        // messages from their owner. Left for the owner, who gets them when it resumes.
        this.log.warn('message on a client that subscribes to nothing left un-acked: its consumerID names a session that another client subscribes with', { ...this.fields(), topic, qos })
        cb(qos > 0 ? DEFERRED : undefined)
        return
      }
      this.unrouted(topic, qos)
      // Acked (MQTT.js writes the PUBACK / PUBREC): left un-acked it would hold a slot of the
      // broker's in-flight window for good, and a filter that a persistent session keeps from an
      // earlier run would stop every other subscription of the session (issue 17).
      cb()
      return
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload)
    const properties = incomingProperties(packet)
    if (qos === 0) {
      for (const h of handlers) this.deliver(h, this.message(packet, topic, payload, properties, () => false, () => false))
      cb()
      return
    }

    const delivery: Delivery = { conn, gen: this.gen, packet, remaining: handlers.size }
    this.unacked++
    if (qos === 2 && packet.messageId !== undefined) this.qos2Unacked.add(packet.messageId)
    for (const h of handlers) {
      let result: boolean | undefined
      const ack = () => {
        result ??= this.ack(delivery)
        return result
      }
      const release = () => {
        if (result !== undefined) return false
        result = false
        return this.release(delivery)
      }
      this.deliver(h, this.message(packet, topic, payload, properties, ack, release))
    }
    if (this.unacked < this.opts.maxUnacked) cb(DEFERRED)
    else this.held.push(() => cb(DEFERRED)) // parser stalls here until an ack frees a slot
  }

  private message(
    packet: PublishPacket,
    topic: string,
    payload: Buffer,
    properties: MessageProperties | undefined,
    ack: () => boolean,
    release: () => boolean,
  ): IncomingMessage {
    const m: IncomingMessage = { topic, payload, qos: packet.qos, retained: packet.retain, dup: packet.dup, ack, release }
    if (properties) m.properties = properties
    return m
  }

  private deliver(handler: MessageHandler, message: IncomingMessage): void {
    const fail = (err: unknown) => {
      // The message stays un-acked: redelivered after a reconnect on a resumed session.
      const e = err instanceof Error ? err : new Error(String(err))
      this.log.error('message handler failed', { ...this.fields(), topic: message.topic, error: e.message })
      this.reportError(e)
    }
    try {
      // Handlers are typed as returning void; an async one still returns a promise.
      const r: unknown = handler(message)
      if (r && typeof (r as PromiseLike<unknown>).then === 'function') (r as PromiseLike<unknown>).then(undefined, fail)
    } catch (err) {
      fail(err)
    }
  }

  private ack(delivery: Delivery): boolean {
    const { conn, gen, packet } = delivery
    if (this.closed || delivery.released || conn !== this.conn || gen !== this.gen || !conn.client.connected) return false
    delivery.remaining--
    if (delivery.remaining > 0) return true
    this.unacked--
    const id = packet.messageId
    if (id !== undefined) {
      this.gatherAcks(conn)
      if (packet.qos === 1) {
        conn.internals._sendPacket({ cmd: 'puback', messageId: id })
      } else {
        // What handlers/pubrel.js does after handleMessage calls back.
        conn.client.incomingStore.del({ messageId: id }, noop)
        conn.internals._releaseIncomingQoS2Publish(id)
        this.qos2Unacked.delete(id)
        conn.internals._sendPacket({ cmd: 'pubcomp', messageId: id })
      }
    }
    this.releaseHeld()
    return true
  }

  /**
   * Acks of one event-loop turn leave in one write. Deliveries finish one by one (each on its
   * own HTTP response), and mqtt-packet uncorks after every packet, so each PUBACK used to be
   * a syscall of its own: measured here, writes were over a third of the forwarder's CPU.
   * Corking is counted, so mqtt-packet's own cork/uncork nests inside this one; the PUBACKs
   * wait at most until the check phase of the same turn.
   */
  private gatherAcks(conn: Conn): void {
    const stream = conn.client.stream
    if (conn.acksCorked || !stream || typeof stream.cork !== 'function') return
    conn.acksCorked = true
    stream.cork()
    setImmediate(() => {
      conn.acksCorked = false
      stream.uncork()
    })
  }

  /**
   * MQTT has no NACK: a message the caller gives up on comes again only on a new connection
   * that resumes the session, and until then it holds a slot of the broker's in-flight window
   * (Mosquitto: 20), so enough of them stop the stream for good. Released messages therefore
   * renew the connection, after a few or after a while. Other deliveries still running then
   * lose their acks (older generation) and come again too: duplicates, never losses. On a clean
   * session renewing would only drop them, so it does not happen there.
   */
  private release(delivery: Delivery): boolean {
    const { conn, gen } = delivery
    if (this.closed || delivery.released || conn !== this.conn || gen !== this.gen) return false
    delivery.released = true
    this.unacked--
    this.releaseHeld()
    if (!this.persistentSession) return true
    const now = Date.now()
    if (this.released++ === 0) this.firstReleaseAt = now
    // Never from inside the caller's stack (it may be a handler MQTT.js is still running).
    const wanted = this.released >= this.opts.renewAfterReleased ? now : this.firstReleaseAt + this.opts.renewAfterReleaseMs
    const due = Math.max(wanted, this.earliestRenewal())
    if (this.renewTimer === undefined || due < this.renewDueAt) {
      clearTimeout(this.renewTimer)
      this.renewDueAt = due
      this.renewTimer = setTimeout(() => this.renewForRedelivery(), Math.max(0, due - now))
    }
    return true
  }

  /**
   * Renewals back off while they come one after another: messages that fail on every
   * redelivery would otherwise have the connection replaced as fast as the broker resends
   * them (seen: every 10 ms). The first renewal after a quiet spell is immediate, then 1 s,
   * 2 s, ... up to renewAfterReleaseMs.
   */
  private earliestRenewal(): number {
    if (this.renewStreak === 0 || Date.now() - this.lastRenewAt > 2 * this.opts.renewAfterReleaseMs) return 0
    const backoff = Math.min(this.opts.renewAfterReleaseMs, this.opts.renewBackoffBaseMs * 2 ** Math.min(this.renewStreak - 1, 20))
    return this.lastRenewAt + backoff
  }

  private renewForRedelivery(): void {
    clearTimeout(this.renewTimer)
    this.renewTimer = undefined
    if (this.closed || this.released === 0) return
    const now = Date.now()
    if (now - this.lastRenewAt > 2 * this.opts.renewAfterReleaseMs) this.renewStreak = 0
    this.renewStreak++
    this.lastRenewAt = now
    this.replaceConn(`${this.released} released message(s) wait for redelivery`)
  }

  /**
   * Whether given-back messages are moving: how many wait on this connection for a renewal,
   * since when (epoch ms), and how many renewals came one after another (reset after a quiet
   * spell of 2 x renewAfterReleaseMs). A high streak means messages fail on every redelivery,
   * and meanwhile they hold the broker's in-flight window.
   */
  get redelivery(): { waiting: number; waitingSince?: number; renewalsInARow: number } {
    const quiet = Date.now() - this.lastRenewAt > 2 * this.opts.renewAfterReleaseMs
    return {
      waiting: this.released,
      ...(this.released > 0 ? { waitingSince: this.firstReleaseAt } : {}),
      renewalsInARow: quiet ? 0 : this.renewStreak,
    }
  }

  /** Messages acked because no handler matched them (see `unrouted`). */
  get unroutedMessages(): number {
    return this.unroutedCount
  }

  private releaseHeld(): void {
    while (this.held.length > 0 && this.unacked < this.opts.maxUnacked) this.held.shift()?.()
  }

  /** A new connection generation: old deliveries no longer count, held callbacks run (their packets are dropped). */
  private resetUnacked(): void {
    this.unacked = 0
    this.released = 0
    clearTimeout(this.renewTimer)
    this.renewTimer = undefined
    const held = this.held
    this.held = []
    for (const release of held) release()
  }

  /**
   * A message that matches no handler: only a filter left in a persistent session by an earlier
   * run (handlers are registered before the first CONNECT) or a broker that routes more than it
   * should. Counted, told to listeners, logged at most once per topic filter a minute.
   */
  private unrouted(topic: string, qos: number): void {
    this.unroutedCount++
    if (this.listenerCount('unrouted') > 0) this.emit('unrouted', topic)
    const now = Date.now()
    if (now - this.unroutedLoggedAt < UNROUTED_LOG_INTERVAL_MS) {
      this.unroutedSuppressed++
      return
    }
    const suppressed = this.unroutedSuppressed
    this.unroutedLoggedAt = now
    this.unroutedSuppressed = 0
    this.log.warn('message with no matching handler acked and dropped (a filter the session keeps from an earlier run?)', {
      ...this.fields(),
      topic,
      qos,
      ...(suppressed > 0 ? { alsoDroppedSinceLastLine: suppressed } : {}),
    })
  }

  // ---------------------------------------------------------------- helpers

  private reportError(err: Error): void {
    const level = err instanceof ConnectError && err.reasonCode === undefined && err.retriable ? 'warn' : 'error'
    this.log[level]('mqtt error', { ...this.fields(), error: err.message })
    if (this.listenerCount('error') > 0) this.emit('error', err)
  }

  private closedError(): ClosedError {
    return new ClosedError(`pubsub client ${JSON.stringify(this.name)} is closed`)
  }

  private fields(): Record<string, unknown> {
    return { component: this.name, url: this.url, clientId: this.metadata.consumerID }
  }
}

/** Largest setTimeout delay Node honours (beyond it, it fires after 1 ms). */
const MAX_TIMER_MS = 0x7fffffff

/** A publish bound that always ends: NaN and negatives are 0, Infinity is the timer maximum. */
function boundMs(ms: number): number {
  return ms >= 0 ? Math.min(ms, MAX_TIMER_MS) : 0
}

function positiveInt(v: number | undefined, dflt: number): number {
  return v !== undefined && Number.isFinite(v) && v > 0 ? Math.floor(v) : dflt
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function reasonText(code: number): string {
  return (ReasonCodes as Record<number, string>)[code] || 'unknown reason'
}

/** OpenSSL's one-line errors, cut to their reason, plus what to check. */
function tlsProblem(message: string, code: string | undefined): string {
  const reason = /SSL routines:[^:]*:([^:]+)/.exec(message)?.[1] ?? message.trim()
  let hint = ''
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE') {
    hint = '; the broker wants a client certificate (clientCert + clientKey)'
  } else if (code === 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' || code === 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE') {
    hint = '; the broker does not accept the client certificate'
  } else if (code && /^(UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|CERT_)/.test(code)) {
    hint = "; the broker's certificate is not trusted (caCert)"
  } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
    hint = "; the broker's certificate does not name this host"
  }
  return `${reason}${code ? ` (${code})` : ''}${hint}`
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError('operation', ms)), ms)
  })
  return Promise.race([p, bound]).finally(() => clearTimeout(timer))
}

function publishProperties(opts: PublishOptions): IClientPublishOptions['properties'] | undefined {
  const p: NonNullable<IClientPublishOptions['properties']> = {}
  if (opts.messageExpiryInterval !== undefined) p.messageExpiryInterval = opts.messageExpiryInterval
  if (opts.contentType !== undefined) p.contentType = opts.contentType
  if (opts.userProperties) {
    // mqtt-packet throws on undefined values and silently writes nothing for an empty map.
    const up: Record<string, string | string[]> = {}
    for (const [k, v] of Object.entries(opts.userProperties)) {
      if (v === undefined || v === null) continue
      up[k] = Array.isArray(v) ? v.map(String) : String(v)
    }
    if (Object.keys(up).length > 0) p.userProperties = up
  }
  return Object.keys(p).length > 0 ? p : undefined
}

function incomingProperties(packet: PublishPacket): MessageProperties | undefined {
  const p = packet.properties
  if (!p) return undefined
  const out: MessageProperties = {}
  if (p.contentType !== undefined) out.contentType = p.contentType
  if (p.messageExpiryInterval !== undefined) out.messageExpiryInterval = p.messageExpiryInterval
  if (p.userProperties) out.userProperties = { ...p.userProperties }
  return Object.keys(out).length > 0 ? out : undefined
}
