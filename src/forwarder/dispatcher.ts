/**
 * The dispatcher wires the stages for each message: event (decode / raw envelope, expiry) ->
 * router (CEL) -> target (with retry) -> dead-letter -> ack, and keeps the books (metrics,
 * logs, in-flight set for shutdown).
 *
 * Concurrency and acknowledgement
 * -------------------------------
 * - MQTT.js hands incoming PUBLISH packets over one at a time and sends the PUBACK when its
 *   handler calls back; the pubsub client (src/core/pubsub) already decouples that: it calls
 *   our handler at once and sends the PUBACK only when `message.ack()` is called, bounding the
 *   un-acked messages (maxUnacked) by pausing the socket. `accept()` below therefore never
 *   awaits anything: it counts the message and schedules it.
 * - Deliveries run concurrently under one limit (`concurrency`, default 32, near Mosquitto's
 *   20 in-flight window and the client's 100 un-acked cap), so a slow or retrying target
 *   occupies one slot while the others keep the stream moving. A subscription with
 *   `metadata.ordered: "true"` chains its deliveries per concrete topic instead (one at a
 *   time per topic, still under the global limit). Bulk subscriptions take one slot per batch.
 * - `ack()` is called exactly when daprd would return nil to the component: the target
 *   accepted (SUCCESS / 2xx), the app dropped it (DROP / 404), or it can never succeed: no
 *   route, expired, not a CloudEvent, a route expression that fails on it (see #screen) -
 *   each after the dead-letter publish succeeded when a dead-letter topic is set - or, after
 *   the last retry, once the dead-letter publish succeeded. Otherwise the message is left
 *   un-acked (counted and logged): the broker redelivers it on a resumed session. (Stricter
 *   than daprd in one place: a failed dead-letter publish of a dropped message leaves it
 *   un-acked, where daprd acks it anyway.) An un-acked message keeps one of the
 *   broker's in-flight slots (Mosquitto: 20) until the connection is renewed, so it is given
 *   back with `release()`: after a few (or a while) the pubsub client renews the connection
 *   and the broker redelivers them (daprd has no such step, and its stream stalls).
 * - The dead-letter publish and its PUBACK are awaited here, in a delivery task, never in the
 *   MQTT.js packet handler (which would deadlock: our PUBACK would queue behind our handler).
 * - Stop: intake ends first (new messages and queued tasks are left un-acked), running
 *   deliveries get `drainTimeoutMs` to finish and be acked; then their requests and backoff
 *   waits are aborted and whatever did not finish stays un-acked (never dead-lettered).
 */
import type { IncomingMessage } from '../core/pubsub/types.js'
import { deadLetter, deadLetterProperties, type DeadLetterPublisher } from './deadletter.js'
import { deliveryHeaders, prepare, type Prepared } from './event.js'
import { LogLimiter } from './log-limiter.js'
import { propertyHeaders, withEventAttributes } from './message-properties.js'
import type { Logger } from './logger.js'
import type { DropReason, ForwarderMetrics, UnackedReason } from './metrics.js'
import { GuardedTargets, type CircuitBreaker } from './breaker.js'
import { Batcher, deliverBulk, newEntryId, type BulkEntry } from './bulk.js'
import { NOT_FOUND_REASON, singleOutcome } from './outcome.js'
import { settlesWithin } from '../core/timeout.js'
import { withRetry } from './retry.js'
import { route } from './router.js'
import { SlotScheduler } from './scheduler.js'
import { consumerSpan, endConsumerSpan, tracedTarget } from './tracing.js'
import type { Tracer } from '../tracing/types.js'
import type { DeliveryObserver, ForwardSubscription, Outcome, Received, RetryPolicy, CompiledRule, Target, TargetKind, TargetRequest } from './types.js'

/** The outcome of an attempt not made: the message's MQTT 5 expiry passed (a drop, counted as `expired`). */
const EXPIRED: Outcome = Object.freeze({ kind: 'drop', reason: 'the MQTT message expired' })

/** MQTT 5: the broker's Message Expiry Interval, counted from arrival, has passed. */
function mqttExpired(received: Received): boolean {
  const seconds = received.message.properties?.messageExpiryInterval
  return seconds !== undefined && performance.now() - received.receivedAt >= seconds * 1000
}

export interface DispatcherOptions {
  logger: Logger
  metrics: ForwarderMetrics
  /** Concurrent delivery tasks (a bulk batch is one task). */
  concurrency: number
  /** Where dead letters of a pubsub are published. */
  publisher: (pubsubName: string) => DeadLetterPublisher
  retryPolicy: (pubsubName: string) => RetryPolicy
  /** Bound of one delivery attempt, ms. */
  requestTimeoutMs: (pubsubName: string) => number
  /** The circuit breaker of a pubsub's inbound direction, when a Resiliency policy sets one. */
  breaker?: (pubsubName: string) => CircuitBreaker | undefined
  onDelivery?: DeliveryObserver
  /** Spans per message and attempt (tracing.ts); absent without a tracing Configuration. */
  tracer?: Tracer
}

type Settlement =
  | { ack: true; how: 'delivered' | 'dropped' | 'deadlettered'; target?: Target }
  | { ack: false; reason: UnackedReason; target?: Target }

/** Metric children bound to one subscription's labels, made once rather than per message. */
interface SubscriptionMetrics {
  labels: { pubsub: string; subscription: string }
  received: { inc(): void }
  delivered: Map<string, { inc(): void }>
}

export class Dispatcher {
  readonly #options: DispatcherOptions
  readonly #slots: SlotScheduler
  readonly #subscriptionMetrics = new WeakMap<ForwardSubscription, SubscriptionMetrics>()
  readonly #guarded = new GuardedTargets()
  readonly #batches = new Map<ForwardSubscription, Batcher<Received>>()
  readonly #abort = new AbortController()
  readonly #quiet = new LogLimiter()
  #stopping = false

  constructor(options: DispatcherOptions) {
    this.#options = options
    this.#slots = new SlotScheduler(options.concurrency)
  }

  get inFlight(): number {
    return this.#slots.pending
  }

  #metricsOf(subscription: ForwardSubscription): SubscriptionMetrics {
    let m = this.#subscriptionMetrics.get(subscription)
    if (!m) {
      const labels = { pubsub: subscription.pubsubname, subscription: subscription.id }
      m = { labels, received: this.#options.metrics.receivedFor(labels), delivered: new Map() }
      this.#subscriptionMetrics.set(subscription, m)
    }
    return m
  }

  /** The subscription handler. Never blocks, never throws. */
  accept(subscription: ForwardSubscription, message: IncomingMessage): void {
    if (this.#stopping) return
    this.#metricsOf(subscription).received.inc()
    this.#options.metrics.inFlightNow++
    const received: Received = { subscription, message, receivedAt: performance.now() }
    if (subscription.bulk) {
      this.#addToBatch(received)
      return
    }
    const key = subscription.ordered ? `${subscription.id}\u0000${message.topic}` : undefined
    this.#schedule([received], () => this.#processOne(received), key)
  }

  /**
   * Stops intake, lets running deliveries finish for up to `timeoutMs`, then aborts the rest.
   * Resolves with how many finished in time and how many were abandoned.
   */
  async stop(timeoutMs: number): Promise<{ finished: number; abandoned: number }> {
    this.#stopping = true
    for (const batcher of this.#batches.values()) this.#abandon(batcher.take(), 'shutdown')
    this.#batches.clear()
    const running = this.#slots.running()
    const drained = await settlesWithin(Promise.allSettled(running), timeoutMs)
    const abandoned = drained ? 0 : this.#slots.running().length
    // Abort what is still running: requests and backoff waits end now, nothing is acked or
    // dead-lettered for them. Wait (briefly) until they have observed it.
    this.#abort.abort()
    await settlesWithin(Promise.allSettled(this.#slots.running()), 2_000)
    return { finished: running.length - abandoned, abandoned }
  }

  /** Runs `work` for `items` in a slot of the scheduler (ordered subscriptions: after the same key). */
  #schedule(items: Received[], work: () => Promise<void>, key?: string): void {
    this.#slots.schedule(() => this.#run(items, work), key)
  }

  /** Never rejects. */
  #run(items: Received[], work: () => Promise<void>): Promise<void> {
    if (this.#stopping) {
      this.#abandon(items, 'shutdown')
      return Promise.resolve()
    }
    return work().catch((error: unknown) => {
      // A bug in a stage must not take the process down. The message stays un-acked, but
      // is settled as such: counted, its in-flight slot released.
      this.#options.logger.error({ err: error }, 'delivery failed unexpectedly')
      this.#abandon(items, 'internal_error')
    })
  }

  #abandon(items: Received[], reason: UnackedReason): void {
    for (const item of items) this.#settle(item, { ack: false, reason })
  }

  #settle(received: Received, settlement: Settlement): void {
    const { metrics, logger } = this.#options
    const { subscription, message } = received
    if (received.settled) return
    received.settled = true
    if (received.span !== undefined) endConsumerSpan(received.span, settlement)
    const m = this.#metricsOf(subscription)
    metrics.inFlightNow--
    const ms = performance.now() - received.receivedAt
    const seconds = ms / 1000
    const targetKind: TargetKind | 'none' = settlement.target?.kind ?? 'none'
    if (settlement.ack) {
      metrics.observeLatency(targetKind, settlement.how, seconds)
      if (settlement.how === 'delivered') this.#deliveredCounter(m, settlement.target?.name ?? '').inc()
      message.ack()
    } else {
      metrics.observeLatency(targetKind, 'unacked', seconds)
      metrics.unacked.inc({ ...m.labels, reason: settlement.reason })
      // Given back, so the client renews its connection once a few wait and the broker
      // redelivers them; at shutdown the session keeps them for the next run anyway.
      if (settlement.reason !== 'shutdown') message.release()
      if (settlement.reason !== 'shutdown') {
        logger.warn({ subscription: subscription.id, topic: message.topic, reason: settlement.reason }, 'message left unacknowledged; the broker redelivers it on a resumed session')
      }
    }
    this.#options.onDelivery?.({
      kind: 'settled',
      subscription: subscription.id,
      topic: message.topic,
      ...(received.eventId === undefined ? {} : { id: received.eventId }),
      acked: settlement.ack,
      how: settlement.ack ? settlement.how : settlement.reason,
      ...(settlement.target ? { target: settlement.target.name } : {}),
      ms,
    })
  }

  /** The target as deliveries of this pubsub reach it: behind its circuit breaker when there is one. */
  #through(target: Target, pubsubName: string, kind: 'single' | 'bulk'): Target {
    const breaker = this.#options.breaker?.(pubsubName)
    return breaker ? this.#guarded.of(breaker, target, kind) : target
  }

  #deliveredCounter(m: SubscriptionMetrics, target: string): { inc(): void } {
    let counter = m.delivered.get(target)
    if (!counter) m.delivered.set(target, (counter = this.#options.metrics.deliveredFor({ ...m.labels, target })))
    return counter
  }

  /** Dead-letter topic set: publish there and ack when that worked. Else `otherwise`. */
  async #deadLetterOr(received: Received, otherwise: Settlement, dropReason?: DropReason): Promise<Settlement> {
    const { subscription, message } = received
    const labels = { pubsub: subscription.pubsubname, subscription: subscription.id }
    if (dropReason) this.#options.metrics.dropped.inc({ ...labels, reason: dropReason })
    if (!subscription.deadLetterTopic) return otherwise
    if (this.#abort.signal.aborted) return { ack: false, reason: 'shutdown', ...(otherwise.target ? { target: otherwise.target } : {}) }
    const properties = deadLetterProperties(message, {
      subscription: subscription.id,
      ...(otherwise.target ? { route: otherwise.target.name } : {}),
      attempts: received.attempts ?? 0,
      reason: dropReason ?? (otherwise.ack ? otherwise.how : otherwise.reason),
      ...(received.lastOutcome === undefined ? {} : { lastOutcome: received.lastOutcome }),
    })
    const published = await deadLetter(this.#options.publisher(subscription.pubsubname), subscription.deadLetterTopic, message.payload, properties)
    received.span?.addEvent(published.kind === 'success' ? 'dead-letter' : 'dead-letter failed', { 'messaging.destination.name': subscription.deadLetterTopic, reason: dropReason ?? (otherwise.ack ? otherwise.how : otherwise.reason) })
    if (published.kind !== 'success') {
      this.#options.logger.error({ subscription: subscription.id, topic: message.topic, reason: published.reason }, 'dead-letter publish failed')
      return { ack: false, reason: 'deadletter_failed', ...(otherwise.target ? { target: otherwise.target } : {}) }
    }
    this.#options.metrics.deadLettered.inc(labels)
    this.#options.logger.info({ subscription: subscription.id, topic: message.topic, deadLetterTopic: subscription.deadLetterTopic }, 'dead-lettered')
    return { ack: true, how: 'deadlettered', ...(otherwise.target ? { target: otherwise.target } : {}) }
  }


  /**
   * The steps before a target, shared by single and bulk deliveries: decode (or wrap a raw
   * payload), expiry, route. A message that fails here fails the same way on every redelivery,
   * so it is settled as daprd settles it: dead-lettered when the subscription has a topic for
   * that, else dropped (acked, counted, logged at most once per 10 s and reason). Left
   * un-acked it would come back forever and, with enough of them, fill the broker's in-flight
   * window and stop every subscription of the session.
   */
  #screen(received: Received): { kind: 'settle'; settlement: Promise<Settlement> } | { kind: 'deliver'; prepared: Extract<Prepared, { ok: true }>; rule: CompiledRule } {
    const { subscription, message } = received
    const prepared = prepare(subscription, message)
    if (prepared.ok && this.#options.tracer !== undefined) received.span = consumerSpan(this.#options.tracer, subscription, message, prepared.event)
    if (!prepared.ok) {
      received.lastOutcome = prepared.reason
      this.#warnOnce(received, 'warn', 'undecodable', { reason: prepared.reason }, 'payload is not a CloudEvent (set metadata.rawPayload for non-Dapr publishers); dropped, or dead-lettered when the subscription has a deadLetterTopic')
      return this.#drop(received, 'undecodable')
    }
    if (prepared.expired || mqttExpired(received)) {
      this.#warnOnce(received, 'warn', 'expired', { id: prepared.event.id, expiration: prepared.event.expiration, messageExpiryInterval: message.properties?.messageExpiryInterval }, 'dropping expired pub/sub event')
      return this.#drop(received, 'expired')
    }
    const routed = route(subscription.rules, prepared.event)
    if (routed.kind === 'none') {
      this.#warnOnce(received, 'warn', 'no_route', {}, 'no matching route; skipping')
      return this.#drop(received, 'no_route')
    }
    if (routed.kind === 'error') {
      received.lastOutcome = routed.error.message
      this.#warnOnce(received, 'error', 'route_error', { match: routed.match, reason: routed.error.message }, 'route expression failed on this event; dropped, or dead-lettered when the subscription has a deadLetterTopic')
      return this.#drop(received, 'route_error')
    }
    return { kind: 'deliver', prepared, rule: routed.rule }
  }

  #drop(received: Received, reason: DropReason): { kind: 'settle'; settlement: Promise<Settlement> } {
    return { kind: 'settle', settlement: this.#deadLetterOr(received, { ack: true, how: 'dropped' }, reason) }
  }

  #warnSkipped(received: Received, skipped: string[]): void {
    const suppressed = this.#quiet.take(`${received.subscription.id}\u0000properties`)
    if (suppressed === undefined) return
    this.#options.logger.warn(
      { subscription: received.subscription.id, topic: received.message.topic, skipped, ...(suppressed > 0 ? { alsoSinceLastLine: suppressed } : {}) },
      'MQTT 5 properties the target cannot take were left out (see the README: what reaches the target)',
    )
  }

  #warnOnce(received: Received, level: 'warn' | 'error', reason: DropReason, fields: Record<string, unknown>, text: string): void {
    const { subscription, message } = received
    const suppressed = this.#quiet.take(`${subscription.id}\u0000${reason}`)
    if (suppressed === undefined) return
    const extra = suppressed > 0 ? { alsoSinceLastLine: suppressed } : {}
    this.#options.logger[level]({ subscription: subscription.id, topic: message.topic, ...fields, ...extra }, text)
  }

  async #processOne(received: Received): Promise<void> {
    this.#settle(received, await this.#decide(received))
  }

  async #decide(received: Received): Promise<Settlement> {
    const { subscription, message } = received
    const { logger, metrics } = this.#options
    // Log fields are built only on the paths that log: this runs for every message.
    const log = () => ({ subscription: subscription.id, topic: message.topic })

    const screened = this.#screen(received)
    if (screened.kind === 'settle') return screened.settlement
    const { prepared, rule } = screened

    const guarded = this.#through(rule.target, subscription.pubsubname, 'single')
    const target = received.span === undefined ? guarded : tracedTarget(this.#options.tracer as Tracer, received, received.span, guarded)
    const eventId = typeof prepared.event.id === 'string' ? prepared.event.id : undefined
    received.eventId = eventId
    this.#options.onDelivery?.({
      kind: 'routed',
      subscription: subscription.id,
      topic: message.topic,
      ...(eventId === undefined ? {} : { id: eventId }),
      target: target.name,
      rule: rule.match || 'default',
    })
    let body = prepared.body
    const headers = deliveryHeaders(subscription, message, prepared.event)
    if (subscription.mqtt5) {
      // The topic and the MQTT 5 properties: headers for HTTP, extension attributes in the event for the others.
      const passed = target.kind === 'http' ? propertyHeaders(message, true) : withEventAttributes(body, prepared.event, message, true)
      if (Buffer.isBuffer(passed.value)) body = passed.value
      else Object.assign(headers, passed.value)
      if (passed.skipped.length > 0) this.#warnSkipped(received, passed.skipped)
    }
    const request: TargetRequest = {
      body,
      contentType: 'application/cloudevents+json',
      headers,
      signal: this.#abort.signal,
      timeoutMs: this.#options.requestTimeoutMs(subscription.pubsubname),
      topic: message.topic,
    }
    const attempt = async (): Promise<Outcome> => {
      // A message whose MQTT 5 expiry passed while it waited for a retry is not delivered late.
      if (received.attempts !== undefined && mqttExpired(received)) return EXPIRED
      received.attempts = (received.attempts ?? 0) + 1
      const result = singleOutcome(await target.send(request))
      if (result.kind !== 'success') received.lastOutcome = result.reason
      return result
    }
    let outcome = await attempt()
    if (outcome.kind === 'retry') {
      const first = outcome
      let tries = 0
      outcome = await withRetry(async () => (tries++ === 0 ? first : attempt()), this.#options.retryPolicy(subscription.pubsubname), {
        signal: this.#abort.signal,
        onRetry: (retry, delayMs, last) => {
          metrics.retried.inc(this.#metricsOf(subscription).labels)
          received.span?.addEvent('retry', { retry, 'delay_ms': delayMs, reason: last.kind === 'retry' ? last.reason : '' })
          logger.debug({ ...log(), id: prepared.event.id, target: target.name, retry, delayMs, reason: last.kind === 'retry' ? last.reason : '' }, 'retrying delivery')
        },
      })
    }
    return this.#afterDelivery(received, outcome, target)
  }

  async #afterDelivery(received: Received, outcome: Outcome, target: Target): Promise<Settlement> {
    const { subscription, message } = received
    const log = { subscription: subscription.id, topic: message.topic, target: target.name }
    if (outcome.kind === 'success') return { ack: true, how: 'delivered', target }
    if (outcome === EXPIRED) {
      this.#warnOnce(received, 'warn', 'expired', { messageExpiryInterval: message.properties?.messageExpiryInterval, attempts: received.attempts }, 'dropping a message whose MQTT expiry passed while its delivery was retried')
      return this.#deadLetterOr(received, { ack: true, how: 'dropped', target }, 'expired')
    }
    if (outcome.kind === 'drop') {
      this.#options.logger.warn({ ...log, reason: outcome.reason }, 'message dropped by the target')
      return this.#deadLetterOr(received, { ack: true, how: 'dropped', target }, outcome.reason === NOT_FOUND_REASON ? 'not_found' : 'drop')
    }
    if (this.#abort.signal.aborted) return { ack: false, reason: 'shutdown', target }
    this.#options.logger.error({ ...log, reason: outcome.reason }, 'delivery failed after the last retry')
    return this.#deadLetterOr(received, { ack: false, reason: 'retries_exhausted', target })
  }

  // ---- bulk ----------------------------------------------------------------------------

  #addToBatch(received: Received): void {
    const subscription = received.subscription
    if (!subscription.bulk) return
    let batcher = this.#batches.get(subscription)
    if (!batcher) {
      batcher = new Batcher<Received>(subscription.bulk, (items) => this.#schedule(items, () => this.#processBatch(subscription, items)))
      this.#batches.set(subscription, batcher)
    }
    batcher.add(received)
  }

  /** daprd's bulk handler: per-entry preparation and routing, one envelope per target. */
  async #processBatch(subscription: ForwardSubscription, items: Received[]): Promise<void> {
    const { logger, metrics } = this.#options
    const groups = new Map<Target, { entry: BulkEntry; received: Received }[]>()
    const settled: Promise<void>[] = []
    const settleLater = (received: Received, settlement: Promise<Settlement>) => settled.push(settlement.then((s) => this.#settle(received, s)))
    for (const received of items) {
      const screened = this.#screen(received)
      if (screened.kind === 'settle') {
        settleLater(received, screened.settlement)
        continue
      }
      const { prepared, rule } = screened
      const group = groups.get(rule.target) ?? []
      const entry: BulkEntry = { entryId: newEntryId(), event: prepared.event, retained: received.message.retained }
      if (subscription.mqtt5) {
        // Per entry, the way daprd passes a message's metadata in a bulk envelope: the names and values rules of HTTP headers.
        const passed = propertyHeaders(received.message, true)
        entry.metadata = passed.value
        if (passed.skipped.length > 0) this.#warnSkipped(received, passed.skipped)
      }
      group.push({ entry, received })
      groups.set(rule.target, group)
    }
    const labels = { pubsub: subscription.pubsubname, subscription: subscription.id }
    const deliveries = [...groups].map(async ([target, group]) => {
      const byId = new Map(group.map((g) => [g.entry.entryId, g.received]))
      await deliverBulk(
        subscription,
        this.#through(target, subscription.pubsubname, 'bulk'),
        group.map((g) => g.entry),
        {
          policy: this.#options.retryPolicy(subscription.pubsubname),
          signal: this.#abort.signal,
          timeoutMs: this.#options.requestTimeoutMs(subscription.pubsubname),
          onOutcome: (entryId, outcome) => {
            const received = byId.get(entryId)
            if (received) settleLater(received, this.#afterDelivery(received, outcome, target))
          },
          onRetry: (retry, delayMs, entries) => {
            metrics.retried.inc(labels, entries)
            logger.debug({ subscription: subscription.id, target: target.name, retry, delayMs, entries }, 'retrying bulk entries')
          },
        },
      )
    })
    await Promise.all(deliveries)
    await Promise.all(settled)
  }
}
