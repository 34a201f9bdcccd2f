/**
 * Subscriber stage: one PubsubClient per component, every subscription's handler registered
 * in the same tick before the first connect (so a resumed session's queued messages find
 * them), subscribe retried until the broker grants it, readiness and connection metrics.
 * Reconnect, resubscribe and the watchdog live in the pubsub client.
 */
import { PubsubClient } from '../core/pubsub/index.js'
import type { IncomingMessage, Logger as ClientLogger, PubsubClientOptions } from '../core/pubsub/types.js'
import type { PubsubComponent } from '../core/resources/types.js'
import type { DeadLetterPublisher } from './deadletter.js'
import type { Logger } from './logger.js'
import type { ForwarderMetrics } from './metrics.js'
import { sleep } from '../core/timeout.js'
import { keepSessionTidy } from './session-ledger.js'
import type { ForwardSubscription } from './types.js'

/** Renewals in a row after which the stream counts as not moving (they back off: 1 + 2 + 4 s). */
const STALLED_AFTER_RENEWALS = 3

export interface SubscriberOptions {
  pubsubs: readonly PubsubComponent[]
  subscriptions: readonly ForwardSubscription[]
  logger: Logger
  metrics: ForwarderMetrics
  onMessage: (subscription: ForwardSubscription, message: IncomingMessage) => void
  clientOptions?: PubsubClientOptions
  /** How long the session ledger read waits for the last list, ms (default 2000). */
  ledgerReadTimeoutMs?: number
}

function clientLogger(logger: Logger): ClientLogger {
  return {
    debug: (msg, fields) => logger.debug(fields ?? {}, msg),
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
  }
}

/** Start-up warnings for settings under which messages can be lost. */
export function lossWarnings(component: PubsubComponent, subscriptions: readonly ForwardSubscription[]): string[] {
  const md = component.metadata
  const filters = subscriptions.filter((s) => s.pubsubname === component.name).map((s) => s.topic)
  if (filters.length === 0) return []
  const where = `pubsub ${component.name} (${component.file}), topics ${filters.join(', ')}`
  const warnings: string[] = []
  if (md.qos === 0) warnings.push(`${where}: qos 0: the broker does not redeliver, messages can be lost; set qos: 1`)
  if (md.cleanSession) {
    warnings.push(`${where}: cleanSession true: messages published while the forwarder is down or reconnecting are lost; set cleanSession: "false" and a stable consumerID`)
  } else if (!md.consumerIDConfigured) {
    warnings.push(`${where}: no consumerID: each process gets a new client id, so its persistent session is not resumed after a restart; set a stable consumerID`)
  }
  return warnings
}

export class Subscriber {
  readonly #options: SubscriberOptions
  readonly #clients = new Map<string, PubsubClient>()
  readonly #subscribed = new Set<ForwardSubscription>()
  readonly #stop = new AbortController()
  #started: Promise<void> | undefined
  #tidied: Promise<void> = Promise.resolve()

  constructor(options: SubscriberOptions) {
    this.#options = options
  }

  /**
   * Creates the clients and subscribes everything; resolves when every subscription has its
   * SUBACK. A broker that is down is waited for (the client reconnects with backoff); only
   * `close()` ends the wait.
   */
  start(): Promise<void> {
    this.#started ??= this.#start()
    return this.#started
  }

  async #start(): Promise<void> {
    const { pubsubs, subscriptions, logger, metrics } = this.#options
    const log = clientLogger(logger)
    for (const component of pubsubs) {
      if (!subscriptions.some((s) => s.pubsubname === component.name)) continue
      const client = new PubsubClient(component, { ...this.#options.clientOptions, logger: log })
      let wasConnected = false
      metrics.connected.set({ pubsub: component.name }, 0)
      client.on('state', (state) => {
        metrics.connected.set({ pubsub: component.name }, state === 'connected' ? 1 : 0)
        if (state === 'connected') {
          if (wasConnected) metrics.reconnects.inc({ pubsub: component.name })
          wasConnected = true
        }
      })
      // Errors are logged by the client; a listener keeps EventEmitter from throwing them.
      client.on('error', () => {})
      const unrouted = metrics.unrouted.labels({ pubsub: component.name })
      client.on('unrouted', () => unrouted.inc())
      this.#clients.set(component.name, client)
      for (const warning of lossWarnings(component, subscriptions)) logger.warn(warning)
    }
    // Beside the subscriptions, not after them: a filter the broker refuses for good must not
    // keep the stale ones of the session subscribed.
    this.#tidied = Promise.all(
      [...this.#clients].map(([name, client]) =>
        keepSessionTidy(client, subscriptions.filter((s) => s.pubsubname === name).map((s) => s.topic), {
          logger,
          pubsub: name,
          ...(this.#options.ledgerReadTimeoutMs === undefined ? {} : { readTimeoutMs: this.#options.ledgerReadTimeoutMs }),
          onForgotten: () => metrics.sessionUnsubscribed.inc({ pubsub: name }),
        }),
      ),
    ).then(() => {})
    // Every handler is registered synchronously by the subscribe() calls below, before the
    // first CONNECT goes out.
    await Promise.all(subscriptions.map((s) => this.#subscribe(s)))
  }

  async #subscribe(subscription: ForwardSubscription): Promise<void> {
    const client = this.#clients.get(subscription.pubsubname)
    if (!client) throw new Error(`no client for pubsub ${subscription.pubsubname}`)
    const handler = (message: IncomingMessage) => this.#options.onMessage(subscription, message)
    for (let attempt = 0; !this.#stop.signal.aborted; attempt++) {
      try {
        await client.subscribe(subscription.topic, handler, {
          ...(subscription.retainHandling === undefined ? {} : { retainHandling: subscription.retainHandling }),
          ...(subscription.noLocal ? { noLocal: true } : {}),
        })
        this.#subscribed.add(subscription)
        this.#options.logger.info(
          { subscription: subscription.id, pubsub: subscription.pubsubname, topic: subscription.topic, qos: client.metadata.qos },
          'subscribed',
        )
        return
      } catch (error) {
        if (this.#stop.signal.aborted) return
        const e = error as Error & { retriable?: boolean; reasonCode?: number }
        // A refusal (SUBACK failure code) will not change by asking again right away.
        const delay = Math.min(30_000, 1_000 * 2 ** Math.min(attempt, 5))
        this.#options.logger.warn({ subscription: subscription.id, topic: subscription.topic, error: e.message, retryInMs: delay }, 'subscribe failed; retrying')
        await sleep(delay, this.#stop.signal)
      }
    }
  }

  /** Resolves once each persistent session's ledger was read, stale filters unsubscribed and the list rewritten. */
  get sessionTidied(): Promise<void> {
    return this.#tidied
  }

  /**
   * Undefined when every connection is up, every subscription granted and given-back messages
   * move; otherwise why not. A connection up and subscribed is not enough: messages that fail
   * on every redelivery fill the broker's in-flight window and nothing else arrives.
   */
  notReady(): string | undefined {
    for (const [name, client] of this.#clients) {
      if (client.state !== 'connected') return `pubsub ${name} is ${client.state}`
      const { renewalsInARow } = client.redelivery
      if (renewalsInARow >= STALLED_AFTER_RENEWALS) {
        return `pubsub ${name}: the connection was renewed ${renewalsInARow} times in a row to have given-back messages redelivered, and they failed again; while they wait they hold the broker's in-flight window (see mqttfn_forwarder_unacked_total)`
      }
    }
    const missing = this.#options.subscriptions.filter((s) => !this.#subscribed.has(s))
    if (missing.length > 0) return `waiting for SUBACK: ${missing.map((s) => s.topic).join(', ')}`
    return undefined
  }

  publisher(pubsubName: string): DeadLetterPublisher {
    return {
      publish: async (topic, payload, properties) => {
        const client = this.#clients.get(pubsubName)
        if (!client) throw new Error(`no client for pubsub ${pubsubName}`)
        await client.publish(topic, payload, properties)
      },
    }
  }

  async close(): Promise<void> {
    this.#stop.abort()
    // The ledger's own calls end with the clients (ClosedError); it never throws.
    await Promise.allSettled([...this.#clients.values()].map((c) => c.close()))
    for (const name of this.#clients.keys()) this.#options.metrics.connected.set({ pubsub: name }, 0)
  }
}
