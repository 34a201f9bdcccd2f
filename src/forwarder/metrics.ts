/**
 * Metrics stage: Prometheus counters per pubsub and subscription, on a registry of this
 * forwarder's own (two forwarders in one process, as in tests, must not share counters).
 * Labels never carry the concrete topic: wildcard subscriptions would make them unbounded.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * A counter child for a per-message count: a plain number, folded into its prom-client counter
 * when the registry is read. prom-client's own children validate and hash their labels on every
 * inc(), which was 1-2 % of the forwarder's CPU at once per message.
 */
export interface CheapCounter {
  inc(): void
}

class PendingCounts<L extends string> {
  readonly #children: { labels: Partial<Record<L, string>>; pending: number }[] = []

  child(labels: Partial<Record<L, string>>): CheapCounter {
    const entry = { labels, pending: 0 }
    this.#children.push(entry)
    return {
      inc() {
        entry.pending++
      },
    }
  }

  /** Called from the counter's collect(): adds what was counted since the last read. */
  flush(counter: Counter<L>): void {
    for (const entry of this.#children) {
      if (entry.pending === 0) continue
      counter.inc(entry.labels, entry.pending)
      entry.pending = 0
    }
  }
}

export type DropReason = 'drop' | 'not_found' | 'no_route' | 'expired' | 'undecodable' | 'route_error'
export type UnackedReason = 'retries_exhausted' | 'deadletter_failed' | 'shutdown' | 'internal_error'

export class ForwarderMetrics {
  readonly registry = new Registry()
  readonly received: Counter<'pubsub' | 'subscription'>
  readonly delivered: Counter<'pubsub' | 'subscription' | 'target'>
  readonly retried: Counter<'pubsub' | 'subscription'>
  readonly dropped: Counter<'pubsub' | 'subscription' | 'reason'>
  readonly deadLettered: Counter<'pubsub' | 'subscription'>
  readonly unacked: Counter<'pubsub' | 'subscription' | 'reason'>
  readonly inFlight: Gauge
  /** Messages received and not yet settled: a plain number per message, read by the gauge at scrape time. */
  inFlightNow = 0
  readonly latency: Histogram<'target_kind' | 'outcome'>
  readonly connected: Gauge<'pubsub'>
  readonly reconnects: Counter<'pubsub'>
  readonly circuit: Gauge<'pubsub'>
  readonly unrouted: Counter<'pubsub'>
  readonly sessionUnsubscribed: Counter<'pubsub'>
  /** The circuit breakers to read at scrape time (their half-open turn happens lazily). */
  readonly #breakers = new Map<string, () => 'closed' | 'half-open' | 'open'>()
  /**
   * The latency histogram's children by label values: observe() with a label object validates
   * and hashes the labels on every call, and this runs once per message.
   */
  readonly #latencyChildren = new Map<string, { observe(seconds: number): void }>()
  readonly #receivedCounts = new PendingCounts<'pubsub' | 'subscription'>()
  readonly #deliveredCounts = new PendingCounts<'pubsub' | 'subscription' | 'target'>()

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry]
    const receivedCounts = this.#receivedCounts
    const deliveredCounts = this.#deliveredCounts
    this.received = new Counter({
      name: 'mqttfn_forwarder_received_total',
      help: 'MQTT messages received',
      labelNames: ['pubsub', 'subscription'],
      registers,
      collect() {
        receivedCounts.flush(this)
      },
    })
    this.delivered = new Counter({
      name: 'mqttfn_forwarder_delivered_total',
      help: 'Messages a target accepted (then acked)',
      labelNames: ['pubsub', 'subscription', 'target'],
      registers,
      collect() {
        deliveredCounts.flush(this)
      },
    })
    this.retried = new Counter({ name: 'mqttfn_forwarder_retries_total', help: 'Delivery retries', labelNames: ['pubsub', 'subscription'], registers })
    this.dropped = new Counter({
      name: 'mqttfn_forwarder_dropped_total',
      help: 'Messages dropped (DROP, 404, no matching route, expired, not a CloudEvent, route expression failed); acked, dead-lettered when a topic is set',
      labelNames: ['pubsub', 'subscription', 'reason'],
      registers,
    })
    this.deadLettered = new Counter({
      name: 'mqttfn_forwarder_deadlettered_total',
      help: 'Messages published to the dead-letter topic',
      labelNames: ['pubsub', 'subscription'],
      registers,
    })
    this.unacked = new Counter({
      name: 'mqttfn_forwarder_unacked_total',
      help: 'Messages left unacknowledged (the broker redelivers them on a resumed session)',
      labelNames: ['pubsub', 'subscription', 'reason'],
      registers,
    })
    const self = this
    this.inFlight = new Gauge({
      name: 'mqttfn_forwarder_in_flight',
      help: 'Messages received and not yet settled',
      registers,
      collect() {
        this.set(self.inFlightNow)
      },
    })
    this.latency = new Histogram({
      name: 'mqttfn_forwarder_delivery_duration_seconds',
      help: 'From receipt to settlement (ack or give-up), including retries',
      labelNames: ['target_kind', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    })
    this.connected = new Gauge({ name: 'mqttfn_forwarder_connected', help: '1 when the broker connection of the pubsub is up', labelNames: ['pubsub'], registers })
    this.reconnects = new Counter({ name: 'mqttfn_forwarder_reconnects_total', help: 'Broker connections re-established', labelNames: ['pubsub'], registers })
    this.unrouted = new Counter({
      name: 'mqttfn_forwarder_unrouted_total',
      help: 'Messages no subscription of this forwarder matches (a filter a persistent session kept from an earlier run); acked and dropped',
      labelNames: ['pubsub'],
      registers,
    })
    this.sessionUnsubscribed = new Counter({
      name: 'mqttfn_forwarder_session_unsubscribed_total',
      help: 'Filters a persistent session kept from an earlier run that no Subscription wants now; unsubscribed at start',
      labelNames: ['pubsub'],
      registers,
    })
    const breakers = this.#breakers
    this.circuit = new Gauge({
      name: 'mqttfn_forwarder_circuit_state',
      help: 'Circuit breaker of the pubsub inbound direction: 0 closed, 1 half-open, 2 open (only with a Resiliency circuit breaker)',
      labelNames: ['pubsub'],
      registers,
      collect() {
        for (const [pubsub, state] of breakers) {
          const s = state()
          this.set({ pubsub }, s === 'closed' ? 0 : s === 'half-open' ? 1 : 2)
        }
      },
    })
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'mqttfn_forwarder_' })
  }

  observeLatency(targetKind: string, outcome: string, seconds: number): void {
    const key = `${targetKind}\u0000${outcome}`
    let child = this.#latencyChildren.get(key)
    if (!child) this.#latencyChildren.set(key, (child = this.latency.labels({ target_kind: targetKind, outcome })))
    child.observe(seconds)
  }

  /** The per-message `received` count of one subscription (see CheapCounter). */
  receivedFor(labels: { pubsub: string; subscription: string }): CheapCounter {
    return this.#receivedCounts.child(labels)
  }

  /** The per-message `delivered` count of one subscription and target (see CheapCounter). */
  deliveredFor(labels: { pubsub: string; subscription: string; target: string }): CheapCounter {
    return this.#deliveredCounts.child(labels)
  }

  watchBreaker(pubsub: string, state: () => 'closed' | 'half-open' | 'open'): void {
    this.#breakers.set(pubsub, state)
  }

  /** Sum of a counter over all its label sets (tests and logs). */
  async total(name: 'received' | 'delivered' | 'retried' | 'dropped' | 'deadLettered' | 'unacked' | 'unrouted' | 'sessionUnsubscribed', labels: Record<string, string> = {}): Promise<number> {
    const metric = await this[name].get()
    return metric.values
      .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
      .reduce((sum, v) => sum + v.value, 0)
  }

  text(): Promise<string> {
    return this.registry.metrics()
  }
}
