/**
 * The soak's books, kept from three independent vantage points: the publisher (what was sent
 * and PUBACKed by the broker), the app (what it answered, and when it answered SUCCESS) and the
 * MQTT traffic that actually crossed the proxy to and from the broker (which PUBLISH carried
 * which message, which PUBACK reached the broker). From them: lost, duplicates and their
 * cause, and PUBACKs that reached the broker before the app had accepted the message.
 *
 * Time is `performance.now()` of this one process: the app, the proxy and the publisher all
 * run on its event loop, so "the app answered before the PUBACK passed" is an ordering of
 * events here, not a comparison of clocks.
 */
import type { Packet } from 'mqtt-packet'
import type { FaultKind } from './schedule.js'

/** How the app answered one attempt ('unheard': a SUCCESS written to a connection already closed). */
export type Answer = 'success' | 'slow-success' | 'retry' | 'http500' | 'hangup' | 'silent' | 'unheard'

export interface FaultWindow {
  kind: FaultKind
  /** 1-based count within its kind. */
  n: number
  startedAt: number
  /** The fault was removed (process restarted, broker up, proxy forwarding again). */
  endedAt?: number
  /** A marker published at `endedAt` was answered SUCCESS. */
  resumedAt?: number
  /** Every stream message published before `endedAt` was answered SUCCESS. */
  caughtUpAt?: number
}

interface IdRecord {
  /** Position in the stream; -1 for a marker. */
  seq: number
  confirmed: boolean
  /** PUBLISH packets the publisher wrote for it (more than one: resent after a broker restart). */
  publisherSends: number
  attempts: number
  /** When the app answered SUCCESS, each time. */
  successes: number[]
  /** When a PUBACK for it crossed the proxy towards the broker, each time. */
  brokerAcks: number[]
  /** PUBLISH packets for it that crossed the proxy towards the forwarder. */
  fromBroker: number
  /** When the broker sent it again after the first time (a redelivery), each time. */
  resentAt: number[]
  /** With tracing on: what happened to it, in order. */
  trace?: string[]
}

/** What the broker sent under one packet id: the message, and how often the app had accepted it by then. */
interface InFlight {
  id: string | undefined
  successesAtPublish: number
  acked: boolean
}

export interface EarlyAck {
  id: string
  packetId: number
  at: number
}

export interface BooksSummary {
  issued: number
  /** Messages the broker PUBACKed to the publisher. */
  published: number
  /** Issued, never PUBACKed to the publisher (the broker may still have them). */
  unconfirmed: number
  /** Distinct messages the app answered SUCCESS. */
  delivered: number
  /** Published and never answered SUCCESS. */
  lost: number
  lostSample: string[]
  /** SUCCESS answers beyond the first for a message. */
  duplicates: number
  duplicateCauses: Record<string, number>
  /** A few duplicated ids per cause. */
  duplicateSamples: Record<string, string[]>
  /** Duplicates no fault or publisher resend explains. */
  unexplainedDuplicates: number
  /** PUBACKs that reached the broker for a message the app had never answered SUCCESS. */
  earlyAcks: number
  earlyAckSamples: EarlyAck[]
  /** PUBACKs of a redelivery the app did not answer again (an earlier SUCCESS covered it). */
  staleAcks: number
  /** PUBACKs for a packet id the broker never sent: neither a stream message nor the session ledger. */
  unknownAcks: number
  /** PUBLISH packets the broker sent again for a message it had already sent. */
  redeliveries: number
  /** The broker sent a new message under a packet id still in flight (not yet PUBACKed) for another. */
  packetIdReuses: number
  answers: Record<Answer, number>
}

const UNEXPLAINED = new Set(['unexplained'])

export class Books {
  readonly #ids = new Map<string, IdRecord>()
  /** Session-wide: a resumed session resends in-flight messages under their old packet ids. */
  readonly #packets = new Map<number, InFlight>()
  readonly #topic: string
  readonly #answers: Record<Answer, number> = { success: 0, 'slow-success': 0, retry: 0, http500: 0, hangup: 0, silent: 0, unheard: 0 }
  readonly #early: EarlyAck[] = []
  #earlyAcks = 0
  #staleAcks = 0
  #unknownAcks = 0
  #pidReuses = 0
  #issued = 0
  #successCount = 0
  /** Stream messages below this seq have all been answered SUCCESS. */
  #streamDone = 0
  readonly #bySeq: IdRecord[] = []
  readonly #idWaiters = new Map<string, ((at: number) => void)[]>()
  #streamWaiters: { below: number; resolve: (at: number) => void }[] = []

  readonly #tracing: boolean
  readonly #t0 = performance.now()

  constructor(topic: string, tracing = false) {
    this.#topic = topic
    this.#tracing = tracing
  }

  #note(r: IdRecord, what: string): void {
    if (this.#tracing) (r.trace ??= []).push(`${Math.round(performance.now() - this.#t0)} ${what}`)
  }

  /** The trace of `id` (empty without tracing). */
  traceOf(id: string): string[] {
    return this.#ids.get(id)?.trace ?? []
  }


  get issuedCount(): number {
    return this.#issued
  }

  /** SUCCESS answers so far, duplicates included: the measure of progress. */
  get successCount(): number {
    return this.#successCount
  }

  get deliveredStream(): number {
    return this.#streamDone
  }

  /** A message is about to be published (`seq` -1: a marker). */
  issue(id: string, seq: number): void {
    const record: IdRecord = { seq, confirmed: false, publisherSends: 0, attempts: 0, successes: [], brokerAcks: [], fromBroker: 0, resentAt: [] }
    this.#ids.set(id, record)
    if (seq >= 0) this.#bySeq[seq] = record
    this.#issued++
  }

  sent(id: string): void {
    const r = this.#ids.get(id)
    if (!r) return
    r.publisherSends++
    this.#note(r, 'publisher sent')
  }

  confirmed(id: string): void {
    const r = this.#ids.get(id)
    if (r) r.confirmed = true
  }

  /** The app received a request for `id`: returns the attempt number (1-based, over all deliveries). */
  attempt(id: string): number {
    const r = this.#ids.get(id)
    if (!r) return 1
    this.#note(r, `app request ${r.attempts + 1}`)
    return ++r.attempts
  }

  /**
   * Called right before the app writes its answer: a PUBACK for a SUCCESS cannot precede this.
   * `heard`: the request's connection was still open.
   */
  answered(id: string | undefined, answer: Answer, heard: boolean): void {
    const accepted = answer === 'success' || answer === 'slow-success'
    this.#answers[accepted && !heard ? 'unheard' : answer]++
    const record = id === undefined ? undefined : this.#ids.get(id)
    if (record) this.#note(record, `app answered ${answer}${heard ? '' : ' (unheard)'}`)
    if (id === undefined || !accepted || !heard) return
    this.#successCount++
    const r = this.#ids.get(id)
    if (!r) return
    const at = performance.now()
    r.successes.push(at)
    if (r.successes.length > 1) return
    for (const resolve of this.#idWaiters.get(id) ?? []) resolve(at)
    this.#idWaiters.delete(id)
    if (r.seq === this.#streamDone) this.#advance(at)
  }

  #advance(at: number): void {
    while ((this.#bySeq[this.#streamDone]?.successes.length ?? 0) > 0) this.#streamDone++
    const due = this.#streamWaiters.filter((w) => w.below <= this.#streamDone)
    this.#streamWaiters = this.#streamWaiters.filter((w) => w.below > this.#streamDone)
    for (const w of due) w.resolve(at)
  }

  /** Resolves with the time `id` was first answered SUCCESS. */
  whenDelivered(id: string): Promise<number> {
    const first = this.#ids.get(id)?.successes[0]
    if (first !== undefined) return Promise.resolve(first)
    return new Promise((resolve) => this.#idWaiters.set(id, [...(this.#idWaiters.get(id) ?? []), resolve]))
  }

  /** Resolves once every stream message below `below` has been answered SUCCESS. */
  whenStreamDelivered(below: number): Promise<number> {
    if (below <= this.#streamDone) return Promise.resolve(performance.now())
    return new Promise((resolve) => this.#streamWaiters.push({ below, resolve }))
  }

  /** Every confirmed message has been answered SUCCESS. */
  allConfirmedDelivered(): boolean {
    for (const r of this.#ids.values()) if (r.confirmed && r.successes.length === 0) return false
    return true
  }

  /** When the proxy opened each connection to the broker. */
  readonly #opened: number[] = []

  opened(conn: number): void {
    this.#opened.push(performance.now())
    void conn
  }

  /** A packet that crossed the proxy from the broker to the forwarder. */
  fromBroker(packet: Packet, conn = 0): void {
    if (packet.cmd !== 'publish' || packet.qos === 0 || packet.messageId === undefined) return
    const id = packet.topic === this.#topic ? idOf(packet.payload) : undefined
    const r = id === undefined ? undefined : this.#ids.get(id)
    if (r) {
      if (++r.fromBroker > 1) r.resentAt.push(performance.now())
      this.#note(r, `broker PUBLISH pid ${packet.messageId}${packet.dup ? ' dup' : ''} conn ${conn}`)
    }
    const before = this.#packets.get(packet.messageId)
    if (before && !before.acked && before.id !== (r ? id : undefined)) {
      this.#pidReuses++
      const old = before.id === undefined ? undefined : this.#ids.get(before.id)
      if (old) this.#note(old, `pid ${packet.messageId} reused for ${id} conn ${conn}`)
      if (r) this.#note(r, `pid ${packet.messageId} was in flight for ${before.id}`)
    }
    this.#packets.set(packet.messageId, { id: r ? id : undefined, successesAtPublish: r?.successes.length ?? 0, acked: false })
  }

  /** A packet that crossed the proxy from the forwarder to the broker. */
  toBroker(packet: Packet, conn = 0): void {
    if (packet.cmd !== 'puback' || packet.messageId === undefined) return
    const sent = this.#packets.get(packet.messageId)
    if (!sent) {
      this.#unknownAcks++
      return
    }
    sent.acked = true
    // The session ledger's retained message, or something else that is not the stream's.
    if (sent.id === undefined) return
    const r = this.#ids.get(sent.id)
    if (!r) return
    const at = performance.now()
    r.brokerAcks.push(at)
    this.#note(r, `PUBACK pid ${packet.messageId} conn ${conn}`)
    if (r.successes.length === 0) {
      this.#earlyAcks++
      if (this.#early.length < 20) this.#early.push({ id: sent.id, packetId: packet.messageId, at })
    } else if (r.successes.length <= sent.successesAtPublish) {
      this.#staleAcks++
    }
  }

  summary(faults: readonly FaultWindow[]): BooksSummary {
    let published = 0
    let unconfirmed = 0
    let delivered = 0
    let duplicates = 0
    let redeliveries = 0
    const lostIds: string[] = []
    const causes: Record<string, number> = {}
    const samples: Record<string, string[]> = {}
    for (const [id, r] of this.#ids) {
      if (r.confirmed) published++
      else unconfirmed++
      if (r.successes.length > 0) delivered++
      else if (r.confirmed) lostIds.push(id)
      redeliveries += Math.max(0, r.fromBroker - 1)
      for (let k = 1; k < r.successes.length; k++) {
        duplicates++
        const cause = duplicateCause(r, r.successes[k - 1] ?? 0, r.successes[k] ?? 0, faults, this.#opened)
        causes[cause] = (causes[cause] ?? 0) + 1
        const sample = (samples[cause] ??= [])
        if (sample.length < 3 && !sample.includes(id)) sample.push(id)
      }
    }
    return {
      issued: this.#issued,
      published,
      unconfirmed,
      delivered,
      lost: lostIds.length,
      lostSample: lostIds.slice(0, 20),
      duplicates,
      duplicateCauses: causes,
      duplicateSamples: samples,
      unexplainedDuplicates: Object.entries(causes).reduce((n, [cause, count]) => n + (UNEXPLAINED.has(cause) ? count : 0), 0),
      earlyAcks: this.#earlyAcks,
      earlyAckSamples: [...this.#early],
      staleAcks: this.#staleAcks,
      unknownAcks: this.#unknownAcks,
      redeliveries,
      packetIdReuses: this.#pidReuses,
      answers: { ...this.#answers },
    }
  }
}

/**
 * Why the app was asked again after answering SUCCESS at `prev`:
 * - the PUBACK never reached the broker: a fault between the answer and the redelivery
 *   swallowed it, or the forwarder renewed its connection on its own (keepalive timeout,
 *   resubscribe timeout, renewal after released messages);
 * - the PUBACK was written to the broker's socket but the connection closed before the
 *   broker read it (Mosquitto reads one packet per loop pass and reads nothing while it saves
 *   its database: PUBACKs queue up unread);
 * - the broker held a second copy because the publisher resent it after a broker restart;
 * - a delivery from an older connection was still retrying when the redelivery succeeded, or
 *   still running when the broker redelivered it (the older connection gone, its PUBACK could
 *   no longer be written, so both deliveries ran to SUCCESS).
 */
function duplicateCause(r: IdRecord, prev: number, next: number, faults: readonly FaultWindow[], opened: readonly number[]): string {
  const ackReached = r.brokerAcks.some((t) => t >= prev && t <= next)
  let fault: FaultWindow | undefined
  // The first fault still unrecovered at the answer: the one that swallowed its PUBACK.
  for (const f of faults) {
    const end = f.resumedAt ?? f.endedAt ?? Infinity
    if (f.startedAt <= next && end >= prev) {
      fault = f
      break
    }
  }
  const reconnected = opened.some((t) => t >= prev && t <= next)
  if (!ackReached && r.resentAt.some((t) => t <= prev)) return 'redelivered while an older connection\'s delivery ran'
  if (!ackReached) return fault ? `ack lost: ${fault.kind}` : reconnected ? 'ack lost: forwarder reconnected' : 'unexplained'
  if (r.publisherSends > 1) return `publisher resent${fault ? `: ${fault.kind}` : ''}`
  if (reconnected) return `PUBACK unread by the broker at ${fault ? fault.kind : 'a reconnect'}`
  // Sent on several connections: a delivery from an older one kept retrying (its ack can no
  // longer be written) and reached the app after the redelivery had been acked.
  if (r.fromBroker > 1) return 'an older connection\'s delivery finished late'
  return 'unexplained'
}

/** The CloudEvent `id` of a payload. */
export function idOf(payload: Buffer | string): string | undefined {
  try {
    const id = (JSON.parse(payload.toString()) as { id?: unknown }).id
    return typeof id === 'string' ? id : undefined
  } catch {
    return undefined
  }
}
