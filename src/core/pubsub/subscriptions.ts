/**
 * SUBSCRIBE / UNSUBSCRIBE: the filters this client routes, which of them the broker's session
 * already holds, resubscription after a CONNACK, and the topic index inbound.ts routes by.
 */
import { TimeoutError, TopicError } from '../errors.js'
import { withTimeout } from '../timeout.js'
import { filterProblem, TopicMatcher } from '../topics/index.js'
import { noop, type ClientContext } from './context.js'
import type { Conn, Connection } from './connection.js'
import { errorMessage, SubscribeError, subscribeFailure } from './errors.js'
import { isPersistentSession } from './mqtt-options.js'
import type { MessageHandler, SubscribeOptions, Subscription } from './types.js'

interface FilterEntry {
  filter: string
  qos: 0 | 1 | 2
  /** MQTT 5 SUBSCRIBE options of the filter (the first subscriber's). */
  options: { rh?: 0 | 1 | 2; nl?: boolean }
  handlers: Set<MessageHandler>
  /** SUBSCRIBE in flight on a connection generation; shared by concurrent callers. */
  inFlight?: { gen: number; qos: number; promise: Promise<void> }
}

/** Concrete topics whose handlers handlersFor() keeps (all forgotten at once beyond this). */
const ROUTED_TOPICS_KEPT = 1024

export class Subscriptions {
  private readonly filters = new Map<string, FilterEntry>()
  /** The same entries, indexed for routing (wildcards, `$share/` stripped). */
  private readonly matcher = new TopicMatcher<FilterEntry>()
  /** Filters the broker's session holds (SUBACKed), with the granted QoS. */
  private readonly confirmed = new Map<string, number>()
  private _everSubscribed = false
  /**
   * handlersFor() answers by concrete topic, emptied whenever a handler or filter changes. A
   * forwarder sees the same few topics over and over, and the trie walk with its arrays and
   * Set was ~1 % of its CPU per message; bounded because wildcards make topics unbounded.
   */
  private readonly routed = new Map<string, ReadonlySet<MessageHandler>>()

  constructor(
    private readonly ctx: ClientContext,
    private readonly connection: Connection,
  ) {}

  /** A handler was registered once: the session is this client's (inbound.ts, strays). */
  get everSubscribed(): boolean {
    return this._everSubscribed
  }

  get size(): number {
    return this.filters.size
  }

  /** Every handler whose filter matches `topic`, once each. */
  handlersFor(topic: string): ReadonlySet<MessageHandler> {
    const known = this.routed.get(topic)
    if (known !== undefined) return known
    const handlers = new Set<MessageHandler>()
    for (const entry of this.matcher.match(topic)) for (const h of entry.handlers) handlers.add(h)
    if (this.routed.size >= ROUTED_TOPICS_KEPT) this.routed.clear()
    this.routed.set(topic, handlers)
    return handlers
  }

  /**
   * Routes messages matching `filter` to `handler`. The handler is registered before anything
   * is sent, so messages the broker pushes right after CONNACK (resumed session) find it.
   * Resolves after the SUBACK.
   */
  async subscribe(filter: string, handler: MessageHandler, opts: SubscribeOptions): Promise<Subscription> {
    if (this.ctx.closed) throw this.ctx.closedError()
    const problem = filterProblem(filter)
    if (problem !== undefined) throw new TopicError(filter, problem)
    const md = this.ctx.metadata
    const qos = opts.qos ?? md.qos
    const timeoutMs = opts.timeoutMs ?? md.connectTimeout + md.publishTimeout
    const started = Date.now()
    const left = () => Math.max(0, timeoutMs - (Date.now() - started))

    let entry = this.filters.get(filter)
    if (!entry) {
      const options: FilterEntry['options'] = {}
      if (md.protocolVersion === 5 && opts.retainHandling !== undefined) options.rh = opts.retainHandling
      if (md.protocolVersion === 5 && opts.noLocal) options.nl = true
      entry = { filter, qos, options, handlers: new Set() }
      this.filters.set(filter, entry)
      this.matcher.add(filter, entry)
    } else if (qos > entry.qos) {
      entry.qos = qos
    }
    entry.handlers.add(handler)
    this.routed.clear()
    this._everSubscribed = true
    const registered = entry
    const connection = this.connection

    try {
      connection.checkAlive()
      for (;;) {
        while (connection.state !== 'connected' || !connection.conn) await connection.waitReady(left())
        const granted = this.confirmed.get(filter)
        if (granted !== undefined && granted >= registered.qos) break
        try {
          await this.send(connection.conn, connection.gen, registered, left())
          break
        } catch (err) {
          // The connection dropped mid-SUBSCRIBE: the reconnect resubscribes; wait for it.
          const retry = err instanceof SubscribeError && err.reasonCode === undefined && err.retriable
          if (!retry || left() <= 0 || this.ctx.closed) throw err
        }
      }
    } catch (err) {
      const subscription: Subscription = { filter, unsubscribe: () => this.removeHandler(registered, handler) }
      const failure = err instanceof TimeoutError ? new SubscribeError(filter, `${this.ctx.url} not reachable within ${timeoutMs} ms`, { retriable: true, cause: err }) : err
      // No SUBACK yet is not a refusal: the SUBSCRIBE may be in the broker's session already
      // (a resumed session's backlog arrives before its SUBACK, and a slow app stalls the parser
      // in front of it). Dropping the handler here would ack and drop what the broker then sends
      // for a filter the caller still wants, so it stays until the caller gives up
      // (error.subscription.unsubscribe()) and every reconnect subscribes it again.
      if (failure instanceof SubscribeError && failure.reasonCode === undefined && failure.retriable && !this.ctx.closed) {
        failure.subscription = subscription
        throw failure
      }
      registered.handlers.delete(handler)
      if (registered.handlers.size === 0 && this.filters.get(filter) === registered) this.drop(registered)
      throw failure
    }
    return { filter, unsubscribe: () => this.removeHandler(registered, handler) }
  }

  /** UNSUBSCRIBE of a filter no handler wants (see PubsubClient.forget). */
  async forget(filter: string): Promise<void> {
    if (this.ctx.closed) throw this.ctx.closedError()
    const problem = filterProblem(filter)
    if (problem !== undefined) throw new TopicError(filter, problem)
    if (this.filters.has(filter)) throw new TopicError(filter, 'this client still routes it to a handler; unsubscribe the handler instead')
    await this.connection.waitReady(this.ctx.metadata.connectTimeout)
    const conn = this.connection.conn
    if (!conn) throw this.ctx.closedError()
    try {
      await withTimeout(conn.client.unsubscribeAsync(filter), this.ctx.metadata.publishTimeout, `UNSUBSCRIBE ${filter}`)
    } catch (err) {
      throw new SubscribeError(filter, `UNSUBSCRIBE: ${errorMessage(err)}`, { retriable: true, cause: err })
    }
    this.confirmed.delete(filter)
  }

  /** CONNACK without a session: the broker holds none of our filters any more. */
  sessionLost(): void {
    this.confirmed.clear()
  }

  /**
   * Resubscribes what the broker's session lacks. On a fresh session (clean, expired, or
   * broker restarted without persistence) that is every filter; on a resumed one only filters
   * never SUBACKed in this session. Re-SUBSCRIBE on a resumed session would be harmless for
   * routing but makes the broker resend retained messages (MQTT-3.8.4-3) after every
   * reconnect. Resolves with how many were sent, or undefined when one failed for want of a
   * connection; a filter the broker refuses is reported and the others still work.
   */
  async resubscribe(conn: Conn, gen: number): Promise<number | undefined> {
    const todo = [...this.filters.values()].filter((e) => (this.confirmed.get(e.filter) ?? -1) < e.qos)
    const results = await Promise.allSettled(todo.map((e) => this.send(conn, gen, e, this.ctx.metadata.publishTimeout)))
    if (conn !== this.connection.conn || gen !== this.connection.gen || this.ctx.closed) return todo.length
    let broken = false
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return
      const err = r.reason instanceof Error ? r.reason : new Error(String(r.reason))
      if (err instanceof SubscribeError && err.reasonCode !== undefined) {
        // subscribe() callers see the error too.
        this.ctx.reportError(err)
      } else {
        this.ctx.log.warn('resubscribe failed; reconnecting', { ...this.ctx.fields(), filter: todo[i]?.filter, error: err.message })
        broken = true
      }
    })
    return broken ? undefined : todo.length
  }

  clear(): void {
    this.filters.clear()
    this.matcher.clear()
    this.routed.clear()
    this.confirmed.clear()
  }

  /**
   * The SUBACK of `entry` on this connection generation, awaited at most `timeoutMs`. The
   * SUBSCRIBE stays outstanding after a waiter gives up: a caller that asks again waits for the
   * same SUBACK instead of sending a second SUBSCRIBE (which would resend retained messages).
   */
  private send(conn: Conn, gen: number, entry: FilterEntry, timeoutMs: number): Promise<void> {
    const qos = entry.qos
    let current = entry.inFlight
    if (!current || current.gen !== gen || current.qos < qos) {
      const url = this.ctx.url
      const promise = new Promise<void>((resolve, reject) => {
        // MQTT.js calls back on SUBACK, or with an error when the connection closes first.
        conn.client.subscribe(entry.filter, { qos, ...entry.options }, (err, granted) => {
          if (err) {
            reject(subscribeFailure(entry.filter, url, err))
            return
          }
          const g = granted?.[0]?.qos ?? qos
          if (gen === this.connection.gen && conn === this.connection.conn) this.confirmed.set(entry.filter, Math.max(g, qos))
          if (g < qos) this.ctx.log.warn('broker granted a lower QoS', { ...this.ctx.fields(), filter: entry.filter, requested: qos, granted: g })
          resolve()
        })
      })
      promise.catch(noop)
      current = { gen, qos, promise }
      entry.inFlight = current
    }
    return withTimeout(current.promise, Math.max(1, timeoutMs), `subscribe to ${entry.filter}`).catch((err: unknown) => {
      if (!(err instanceof TimeoutError)) throw err
      throw new SubscribeError(entry.filter, `no SUBACK from ${this.ctx.url} within ${timeoutMs} ms`, { retriable: true, cause: err })
    })
  }

  private drop(entry: FilterEntry): void {
    this.filters.delete(entry.filter)
    this.matcher.remove(entry.filter, entry)
    this.routed.clear()
  }

  private async removeHandler(entry: FilterEntry, handler: MessageHandler): Promise<void> {
    if (!entry.handlers.delete(handler)) return
    this.routed.clear()
    if (entry.handlers.size > 0 || this.filters.get(entry.filter) !== entry) return
    this.drop(entry)
    // A persistent session keeps the subscription so the broker queues for the next run.
    if (isPersistentSession(this.ctx.metadata) || this.ctx.closed) return
    this.confirmed.delete(entry.filter)
    const conn = this.connection.conn
    if (this.connection.state !== 'connected' || !conn) return // a clean session forgets it anyway
    try {
      await withTimeout(conn.client.unsubscribeAsync(entry.filter), this.ctx.metadata.publishTimeout, `UNSUBSCRIBE ${entry.filter}`)
    } catch (err) {
      this.ctx.log.warn('unsubscribe failed', { ...this.ctx.fields(), filter: entry.filter, error: errorMessage(err) })
    }
  }
}
