/**
 * Inbound PUBLISH: delivery to the handlers, explicit acks (PUBACK / PUBCOMP written when the
 * caller acks, gathered per event-loop turn), the un-acked bound, release() and the
 * connection renewals it causes, and messages no handler matches.
 */
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
 * - MQTT.js private members are reached only in mqtt-internals.ts.
 *
 * Alternatives considered: several connections in one `$share` group (parallelism = number
 * of connections, each still serialized; needs MQTT 5 or a broker that takes `$share` on
 * 3.1.1, and a shared-subscription member that goes away strands its in-flight messages);
 * `customHandleAcks` (MQTT 5 only — MQTT.js ignores it on 3.1.1 — and it is awaited inside
 * the same serialized handler, so it delays but does not decouple).
 */
import type { MessageHandler, IncomingMessage, MessageProperties } from './types.js'
import { noop, type ClientContext } from './context.js'
import type { Conn, Connection } from './connection.js'
import { completeQoS2, writePuback } from './mqtt-internals.js'
import { incomingProperties, isPersistentSession, type PublishPacket } from './mqtt-options.js'
import type { Subscriptions } from './subscriptions.js'

/** A callback error that MQTT.js reads as "handled, write no PUBACK/PUBCOMP". */
const DEFERRED = new Error('mqtt-fn: acknowledgement deferred to the caller')

/** How often the "no matching handler" warning may repeat. */
const UNROUTED_LOG_INTERVAL_MS = 60_000

/** One inbound QoS 1/2 PUBLISH handed to `remaining` handlers. */
interface Delivery {
  conn: Conn
  gen: number
  packet: PublishPacket
  remaining: number
  released?: boolean
}

export class Inbound {
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
  private unroutedCount = 0
  private unroutedLoggedAt = -Infinity
  private unroutedSuppressed = 0

  constructor(
    private readonly ctx: ClientContext,
    private readonly connection: Connection,
    private readonly subscriptions: Subscriptions,
    private readonly onUnrouted: (topic: string) => void,
  ) {}

  /** MQTT.js's handleMessage: never awaits the caller. */
  readonly onIncoming = (conn: Conn, packet: PublishPacket, cb: (err?: Error) => void): void => {
    const qos = packet.qos
    const connection = this.connection
    // A packet parsed from a stream that has closed: its ack could only reach a later
    // connection, where the id means something else. Leave it to redelivery.
    if (conn !== connection.conn || this.ctx.closed || !conn.client.connected) {
      cb(qos > 0 ? DEFERRED : undefined)
      return
    }
    const topic = packet.topic
    const handlers = this.subscriptions.handlersFor(topic)
    if (handlers.size === 0) {
      if (this.subscriptions.size === 0 && !this.subscriptions.everSubscribed) {
        // A client that subscribes to nothing was handed someone else's session (a publisher
        // sharing a subscriber's consumerID and cleanSession false): acking would take the
        // messages from their owner. Left for the owner, who gets them when it resumes.
        this.ctx.log.warn('message on a client that subscribes to nothing left un-acked: its consumerID names a session that another client subscribes with', { ...this.ctx.fields(), topic, qos })
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
      for (const h of handlers) this.deliver(h, message(packet, topic, payload, properties, () => false, () => false))
      cb()
      return
    }

    const delivery: Delivery = { conn, gen: connection.gen, packet, remaining: handlers.size }
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
      this.deliver(h, message(packet, topic, payload, properties, ack, release))
    }
    if (this.unacked < this.ctx.opts.maxUnacked) cb(DEFERRED)
    else this.held.push(() => cb(DEFERRED)) // parser stalls here until an ack frees a slot
  }

  /** CONNACK without a session: un-acked inbound QoS 2 PUBLISHes will never see a PUBREL. */
  sessionLost(conn: Conn): void {
    for (const id of this.qos2Unacked) conn.client.incomingStore.del({ messageId: id }, noop)
    this.qos2Unacked.clear()
  }

  /** A new connection generation: old deliveries no longer count, held callbacks run (their packets are dropped). */
  reset(): void {
    this.unacked = 0
    this.released = 0
    clearTimeout(this.renewTimer)
    this.renewTimer = undefined
    const held = this.held
    this.held = []
    for (const release of held) release()
  }

  /** See PubsubClient.redelivery. */
  get redelivery(): { waiting: number; waitingSince?: number; renewalsInARow: number } {
    const quiet = Date.now() - this.lastRenewAt > 2 * this.ctx.opts.renewAfterReleaseMs
    return {
      waiting: this.released,
      ...(this.released > 0 ? { waitingSince: this.firstReleaseAt } : {}),
      renewalsInARow: quiet ? 0 : this.renewStreak,
    }
  }

  get unroutedMessages(): number {
    return this.unroutedCount
  }

  private deliver(handler: MessageHandler, m: IncomingMessage): void {
    const fail = (err: unknown) => {
      // The message stays un-acked: redelivered after a reconnect on a resumed session.
      const e = err instanceof Error ? err : new Error(String(err))
      this.ctx.log.error('message handler failed', { ...this.ctx.fields(), topic: m.topic, error: e.message })
      this.ctx.reportError(e)
    }
    try {
      // Handlers are typed as returning void; an async one still returns a promise.
      const r: unknown = handler(m)
      if (r && typeof (r as PromiseLike<unknown>).then === 'function') (r as PromiseLike<unknown>).then(undefined, fail)
    } catch (err) {
      fail(err)
    }
  }

  private ack(delivery: Delivery): boolean {
    const { conn, gen, packet } = delivery
    const connection = this.connection
    if (this.ctx.closed || delivery.released || conn !== connection.conn || gen !== connection.gen || !conn.client.connected) return false
    delivery.remaining--
    if (delivery.remaining > 0) return true
    this.unacked--
    const id = packet.messageId
    if (id !== undefined) {
      this.gatherAcks(conn)
      if (packet.qos === 1) {
        writePuback(conn.client, id)
      } else {
        completeQoS2(conn.client, id)
        this.qos2Unacked.delete(id)
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
    const connection = this.connection
    if (this.ctx.closed || delivery.released || conn !== connection.conn || gen !== connection.gen) return false
    delivery.released = true
    this.unacked--
    this.releaseHeld()
    if (!isPersistentSession(this.ctx.metadata)) return true
    const now = Date.now()
    if (this.released++ === 0) this.firstReleaseAt = now
    // Never from inside the caller's stack (it may be a handler MQTT.js is still running).
    const { renewAfterReleased, renewAfterReleaseMs } = this.ctx.opts
    const wanted = this.released >= renewAfterReleased ? now : this.firstReleaseAt + renewAfterReleaseMs
    const due = Math.max(wanted, this.earliestRenewal())
    if (this.renewTimer === undefined || due < this.renewDueAt) {
      clearTimeout(this.renewTimer)
      this.renewDueAt = due
      this.renewTimer = setTimeout(() => this.renew(), Math.max(0, due - now))
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
    const { renewAfterReleaseMs, renewBackoffBaseMs } = this.ctx.opts
    if (this.renewStreak === 0 || Date.now() - this.lastRenewAt > 2 * renewAfterReleaseMs) return 0
    return this.lastRenewAt + Math.min(renewAfterReleaseMs, renewBackoffBaseMs * 2 ** Math.min(this.renewStreak - 1, 20))
  }

  private renew(): void {
    clearTimeout(this.renewTimer)
    this.renewTimer = undefined
    if (this.ctx.closed || this.released === 0) return
    const now = Date.now()
    if (now - this.lastRenewAt > 2 * this.ctx.opts.renewAfterReleaseMs) this.renewStreak = 0
    this.renewStreak++
    this.lastRenewAt = now
    this.connection.replace(`${this.released} released message(s) wait for redelivery`)
  }

  private releaseHeld(): void {
    while (this.held.length > 0 && this.unacked < this.ctx.opts.maxUnacked) this.held.shift()?.()
  }

  /**
   * A message that matches no handler: only a filter left in a persistent session by an earlier
   * run (handlers are registered before the first CONNECT) or a broker that routes more than it
   * should. Counted, told to listeners, logged at most once a minute.
   */
  private unrouted(topic: string, qos: number): void {
    this.unroutedCount++
    this.onUnrouted(topic)
    const now = Date.now()
    if (now - this.unroutedLoggedAt < UNROUTED_LOG_INTERVAL_MS) {
      this.unroutedSuppressed++
      return
    }
    const suppressed = this.unroutedSuppressed
    this.unroutedLoggedAt = now
    this.unroutedSuppressed = 0
    this.ctx.log.warn('message with no matching handler acked and dropped (a filter the session keeps from an earlier run?)', {
      ...this.ctx.fields(),
      topic,
      qos,
      ...(suppressed > 0 ? { alsoDroppedSinceLastLine: suppressed } : {}),
    })
  }
}

function message(
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
