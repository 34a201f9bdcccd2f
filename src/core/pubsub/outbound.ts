/**
 * Outbound PUBLISH: in-flight slots (component `maxInflight`, capped by the broker's Receive
 * Maximum), one timer bounding every pending publish, and withdrawal of a publish that timed
 * out so that a reconnect does not send it after its caller was told it failed.
 */
import { performance } from 'node:perf_hooks'
import { ErrorWithReasonCode, type IClientPublishOptions, type PacketCallback } from 'mqtt'
import { ClosedError, MqttFnError, PublishError, TimeoutError, TopicError } from '../errors.js'
import { publishTopicProblem } from '../topics/index.js'
import { noop, type ClientContext, type Waiter } from './context.js'
import type { ConnackPacket, Conn, Connection } from './connection.js'
import { errorMessage, publishRefusal } from './errors.js'
import { unqueuePublish } from './mqtt-internals.js'
import { boundMs, MAX_RECEIVE_MAXIMUM, publishOptions } from './mqtt-options.js'
import type { PublishOptions } from './types.js'

/** A publish handed to MQTT.js and not settled yet. */
class PendingPublish {
  /** What MQTT.js calls back; its identity marks our entry in MQTT.js's outgoing map. */
  readonly cb: PacketCallback
  messageId: number | undefined = undefined
  settled = false
  resolve: () => void = noop
  reject: (err: Error) => void = noop
  /** Neighbours in the list of unsettled publishes. */
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

export const NO_OPTIONS: PublishOptions = Object.freeze({})

export class Outbound {
  private inflight = 0
  private inflightLimit: number
  /** MQTT 5 CONNACK Maximum QoS (2 when absent). */
  private maxQoS = 2
  private readonly slotWaiters: Waiter[] = []
  /**
   * Publishes handed to MQTT.js and not settled, on any connection, oldest first: an
   * intrusive list (no per-publish allocation, O(1) removal).
   */
  private head: PendingPublish | undefined
  private tail: PendingPublish | undefined
  private count = 0
  /** The one timer bounding them all, armed for `timerAt` (performance.now() clock). */
  private timer: ReturnType<typeof setTimeout> | undefined
  private timerAt = 0
  /** The stream gatherPublishes holds corked until the check phase, if any. */
  private corked: Conn['client']['stream'] | undefined
  /** The last topic that passed validation (publishers mostly repeat a topic). */
  private lastValidTopic: string | undefined

  constructor(
    private readonly ctx: ClientContext,
    private readonly connection: Connection,
  ) {
    this.inflightLimit = Math.max(1, ctx.metadata.maxInflight)
  }

  /**
   * Resolves after the PUBACK (QoS 1) / PUBCOMP (QoS 2), or once written (QoS 0). See
   * PubsubClient.publish for the contract.
   */
  publish(topic: string, payload: Buffer | Uint8Array | string, opts: PublishOptions): Promise<void> {
    // Not `async`: the common case (connected, a slot free) costs one promise, like
    // MQTT.js's publishAsync. Every synchronous throw still becomes a rejection.
    try {
      if (this.ctx.closed) throw this.ctx.closedError()
      if (topic !== this.lastValidTopic) {
        const problem = publishTopicProblem(topic)
        if (problem !== undefined) throw new TopicError(topic, problem)
        this.lastValidTopic = topic
      }
      const qos = opts.qos ?? this.ctx.metadata.qos
      const timeoutMs = boundMs(opts.timeoutMs ?? this.ctx.metadata.publishTimeout)
      const connection = this.connection
      connection.checkAlive()
      const conn = connection.conn
      if (
        connection.state === 'connected' &&
        conn !== undefined &&
        (qos === 0 || (this.inflight < this.inflightLimit && this.slotWaiters.length === 0))
      ) {
        if (qos > 0) this.inflight++
        return this.send(conn, topic, payload, opts, qos, performance.now() + timeoutMs, timeoutMs)
      }
      return this.publishAfterWait(topic, payload, opts, qos, timeoutMs)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** CONNACK: the broker's Maximum QoS and Receive Maximum bound what may be sent. */
  onConnack(connack: ConnackPacket): void {
    this.maxQoS = connack.properties?.maximumQoS ?? 2
    const serverMax = connack.properties?.receiveMaximum
    this.inflightLimit = Math.max(1, Math.min(this.ctx.metadata.maxInflight, serverMax ?? MAX_RECEIVE_MAXIMUM))
    this.pumpSlots()
  }

  /** Fails every unsettled publish sent on `conn` (it was discarded). */
  failPending(conn: Conn, reason: string): void {
    for (const p of this.unsettled()) {
      if (p.conn === conn) this.settle(p, new PublishError(p.topic, `connection to ${this.ctx.url} replaced (${reason}) before the ack`))
    }
  }

  /** At close: waiting and pending publishes reject ClosedError. */
  close(): void {
    for (const w of this.slotWaiters.splice(0)) w.reject(this.ctx.closedError())
  }

  /** After the graceful close: what is still pending will not be acked any more. */
  abandonAll(): void {
    for (const p of this.unsettled()) this.settle(p, this.ctx.closedError())
    clearTimeout(this.timer)
    this.timer = undefined
  }

  // ---------------------------------------------------------------- waits

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
    const connection = this.connection
    let slot = false
    let conn: Conn | undefined
    try {
      if (qos > 0) {
        await this.acquireSlot(left())
        slot = true
      }
      connection.checkAlive()
      // A connection can drop between the ready signal and this continuation: check again.
      while (connection.state !== 'connected') await connection.waitReady(left())
      conn = connection.conn
    } catch (err) {
      if (slot) this.releaseSlot()
      throw this.waitError(topic, err)
    }
    if (this.ctx.closed || !conn) {
      if (qos > 0) this.releaseSlot()
      throw this.ctx.closed ? this.ctx.closedError() : new PublishError(topic, `no connection to ${this.ctx.url}`)
    }
    return this.send(conn, topic, payload, opts, qos, deadline, timeoutMs)
  }

  private acquireSlot(timeoutMs: number): Promise<void> {
    if (this.ctx.closed) return Promise.reject(this.ctx.closedError())
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

  private waitError(topic: string, err: unknown): Error {
    if (err instanceof ClosedError) return err
    if (err instanceof TimeoutError) return new PublishError(topic, err.message, { cause: err })
    if (err instanceof MqttFnError) return new PublishError(topic, err.message, { retriable: err.retriable, cause: err })
    return new PublishError(topic, errorMessage(err), { cause: err })
  }

  // ---------------------------------------------------------------- send and settle

  /**
   * Hands the PUBLISH to MQTT.js on `conn`. The caller holds the in-flight slot (QoS > 0);
   * it is released exactly once, when the publish settles. `deadline` is on the
   * performance.now() clock, which a wall-clock step cannot move.
   */
  private send(
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
        new PublishError(topic, `${this.ctx.url} accepts QoS up to ${this.maxQoS}, not ${qos}`, { retriable: false }),
      )
    }
    let body: string | Buffer
    let pubOpts: IClientPublishOptions
    try {
      body = typeof payload === 'string' || Buffer.isBuffer(payload)
        ? payload
        : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
      pubOpts = publishOptions(this.ctx.metadata, opts, qos)
    } catch (err) {
      if (qos > 0) this.releaseSlot()
      return Promise.reject(err)
    }

    const p = new PendingPublish(this.onCallback, conn, topic, qos, deadline, totalMs)
    const promise = new Promise<void>((resolve, reject) => {
      p.resolve = resolve
      p.reject = reject
    })
    const tail = this.tail
    if (tail === undefined) this.head = p
    else {
      tail.next = p
      p.prev = tail
    }
    this.tail = p
    // While nothing is pending the timer is unref'd (see settle).
    if (++this.count === 1) this.timer?.ref()
    if (this.timer === undefined || deadline < this.timerAt) this.armTimer(deadline)
    const client = conn.client
    this.gatherPublishes(client.stream)
    try {
      client.publish(topic, body, pubOpts, p.cb)
    } catch (err) {
      this.settle(p, new PublishError(topic, errorMessage(err), { retriable: false, cause: err }))
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

  /**
   * Holds the connection's writes until the check phase of this turn of the event loop, so
   * that the PUBLISHes of every request handled in the turn leave in one write. mqtt-packet
   * corks only until the next tick, which under load meant one writev per publish: the
   * largest single item of `mqtt-fn serve`'s CPU per request. Corking is counted, so
   * mqtt-packet's own cork/uncork nests inside this one; order on the stream is unchanged
   * and a publish waits at most for the rest of the turn.
   */
  private gatherPublishes(stream: Conn['client']['stream'] | undefined): void {
    if (stream === undefined || stream === this.corked || typeof stream.cork !== 'function') return
    this.corked = stream
    stream.cork()
    setImmediate(() => {
      if (this.corked === stream) this.corked = undefined
      stream.uncork()
    })
  }

  /** MQTT.js called back (ack, write, removal, or connection loss). */
  private readonly onCallback = (p: PendingPublish, err: Error | undefined): void => {
    if (p.settled) return
    this.settle(p, err ? this.callbackError(p, err) : undefined)
  }

  private settle(p: PendingPublish, err?: Error): void {
    if (p.settled) return
    p.settled = true
    const { prev, next } = p
    if (prev === undefined) this.head = next
    else prev.next = next
    if (next === undefined) this.tail = prev
    else next.prev = prev
    p.prev = p.next = undefined
    // Armed for a later deadline, the timer must not keep an idle process alive.
    if (--this.count === 0) this.timer?.unref()
    if (p.qos > 0) this.releaseSlot()
    const { resolve, reject } = p
    // MQTT.js may still hold p (through cb) for a while; it must not keep the promise alive.
    p.resolve = p.reject = noop
    if (err) reject(err)
    else resolve()
  }

  private callbackError(pending: PendingPublish, err: Error): Error {
    const { topic, conn } = pending
    if (err instanceof ErrorWithReasonCode) return publishRefusal(topic, this.ctx.url, err)
    if (err.message === 'Connection closed' && pending.messageId !== undefined) {
      // MQTT.js dropped the callback but kept the packet in its store: it would be sent again
      // after reconnect with nobody waiting. The caller hears "retriable" instead.
      conn.client.outgoingStore.del({ messageId: pending.messageId }, noop)
    }
    if (this.ctx.closed) return this.ctx.closedError()
    return new PublishError(topic, `connection to ${this.ctx.url} lost before the ack (${err.message})`, { cause: err })
  }

  // ---------------------------------------------------------------- the timer and withdrawal

  /**
   * One timer for every pending publish, armed for the earliest deadline. A publish that
   * settles leaves it alone; when it fires it times out whatever is due and re-arms for the
   * next deadline, so under steady load it fires about once per publishTimeout, not once
   * per publish. It holds the process open only while a publish is pending.
   */
  private armTimer(deadline: number): void {
    clearTimeout(this.timer)
    this.timerAt = deadline
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil(deadline - performance.now())))
    if (this.count === 0) this.timer.unref()
  }

  private readonly onTimer = (): void => {
    this.timer = undefined
    const now = performance.now()
    let next = Infinity
    const due: PendingPublish[] = []
    for (let p = this.head; p !== undefined; p = p.next) {
      if (p.deadline <= now) due.push(p)
      else if (p.deadline < next) next = p.deadline
    }
    for (const p of due) this.timeOut(p)
    if (next !== Infinity && (this.timer === undefined || next < this.timerAt)) this.armTimer(next)
  }

  private timeOut(p: PendingPublish): void {
    if (p.settled) return
    const { conn, topic, qos, totalMs } = p
    const what = qos === 0 ? `writing to ${this.ctx.url}` : `${qos === 2 ? 'PUBCOMP' : 'PUBACK'} from ${this.ctx.url}`
    this.settle(p, new PublishError(topic, `no ${what} within ${totalMs} ms`, { cause: new TimeoutError(`publish to ${topic}`, totalMs) }))
    this.withdraw(conn, p)
    this.ctx.log.warn('publish timed out', { ...this.ctx.fields(), topic, qos, timeoutMs: totalMs })
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
    unqueuePublish(client, pending.cb)
  }

  private idHeldByAnother(conn: Conn, pending: PendingPublish, id: number): boolean {
    for (let p = this.head; p !== undefined; p = p.next) {
      if (p !== pending && p.conn === conn && p.messageId === id) return true
    }
    return false
  }

  /** A copy: settling unlinks. */
  private unsettled(): PendingPublish[] {
    const all: PendingPublish[] = []
    for (let p = this.head; p !== undefined; p = p.next) all.push(p)
    return all
  }
}
