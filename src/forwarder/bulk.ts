/**
 * Bulk stage, for subscriptions with `bulkSubscribe.enabled`: what daprd's default bulk
 * subscriber and bulk postman do (dapr/dapr pkg/runtime/pubsub/default_bulksub.go,
 * subscription/bulksubscription.go, postman/http DeliverBulk). Messages are batched up to
 * maxMessagesCount or maxAwaitDurationMs; a batch goes out as Dapr's bulk envelope, each entry
 * is settled by its own status, and only the entries answered RETRY are sent again.
 */
import { randomUUID } from 'node:crypto'
import { goMarshal, goQuote } from '../core/envelope/index.js'
import { bulkOutcomes } from './outcome.js'
import { sleep } from '../core/timeout.js'
import { backoffDelay } from './retry.js'
import type { BulkSettings, ForwardSubscription, Outcome, RetryPolicy, Target } from './types.js'

export const BULK_EVENT_TYPE = 'com.dapr.event.sent.bulk'

export interface BulkEntry {
  entryId: string
  /** The CloudEvent map (for a raw subscription, the generated envelope). */
  event: Record<string, unknown>
  retained: boolean
  /** MQTT 5: the topic and properties (message-properties.ts), beside `retained` in the entry's metadata. */
  metadata?: Record<string, string>
}

export function newEntryId(): string {
  return randomUUID()
}

/**
 * Dapr's bulk envelope: `{entries:[{entryId, event, metadata, contentType}], id, metadata,
 * pubsubname, topic, type}`. `topic` is the subscription's topic as daprd writes it (the
 * filter); a raw entry's event is the payload in base64 with `application/octet-stream`.
 * `entryId` is spelt as @dapr/dapr reads it (daprd's Go decoder takes either case back).
 *
 * Written as `goMarshal` of that object writes it (keys in Go's sorted order, a key whose value
 * is undefined left out), but with only the entries' events and metadata going through the
 * generic writer: the envelope's own keys and fixed strings are constants. It was a fifth of
 * the forwarder's CPU under a flood, about a third of that the envelope around the events.
 */
export function bulkEnvelope(subscription: ForwardSubscription, entries: readonly BulkEntry[]): Buffer {
  const raw = subscription.rawPayload
  const contentType = raw ? '{"contentType":"application/octet-stream","entryId":' : '{"contentType":"application/cloudevents+json","entryId":'
  const parts: string[] = ['{"entries":[']
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!
    if (i > 0) parts.push(',')
    parts.push(contentType, goQuote(e.entryId))
    const event: unknown = raw ? e.event.data_base64 : e.event
    if (event !== undefined) parts.push(',"event":', goMarshal(event))
    parts.push(',"metadata":', entryMetadata(e), '}')
  }
  const pubsubname = goQuote(subscription.pubsubname)
  parts.push('],"id":', goQuote(randomUUID()), ',"metadata":{"pubsubName":', pubsubname, '},"pubsubname":', pubsubname, ',"topic":', goQuote(subscription.topic), `,"type":"${BULK_EVENT_TYPE}"}`)
  return Buffer.from(parts.join(''), 'utf8')
}

const RETAINED = '{"retained":"true"}'
const NOT_RETAINED = '{"retained":"false"}'

/** An entry's metadata: its MQTT 5 metadata with `retained` beside (and over) it. */
function entryMetadata(e: BulkEntry): string {
  const retained = e.retained ? 'true' : 'false'
  if (e.metadata === undefined) return e.retained ? RETAINED : NOT_RETAINED
  return goMarshal({ ...e.metadata, retained })
}

/** Collects items and hands them over at `maxMessagesCount`, or `maxAwaitDurationMs` after the first. */
export class Batcher<T> {
  #items: T[] = []
  #timer: NodeJS.Timeout | undefined

  constructor(
    private readonly settings: BulkSettings,
    private readonly onBatch: (items: T[]) => void,
  ) {}

  add(item: T): void {
    this.#items.push(item)
    if (this.#items.length >= this.settings.maxMessagesCount) this.flush()
    else this.#timer ??= setTimeout(() => this.flush(), this.settings.maxAwaitDurationMs)
  }

  flush(): void {
    const items = this.take()
    if (items.length > 0) this.onBatch(items)
  }

  /** Empties the batch without handing it over (on stop: those were never started). */
  take(): T[] {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const items = this.#items
    this.#items = []
    return items
  }
}

export interface DeliverBulkOptions {
  policy: RetryPolicy
  /** Aborts the backoff waits (forced stop). */
  signal: AbortSignal
  /** Bound of one attempt, ms. */
  timeoutMs: number
  /** Called exactly once per entry with its final outcome (`retry` = retries used up). */
  onOutcome: (entryId: string, outcome: Outcome) => void
  onRetry?: (retry: number, delayMs: number, entries: number) => void
}

/** Sends the entries to one target, re-sends only those answered RETRY, under the policy. */
export async function deliverBulk(subscription: ForwardSubscription, target: Target, entries: readonly BulkEntry[], options: DeliverBulkOptions): Promise<void> {
  let remaining = [...entries]
  let last = new Map<string, Outcome>()
  for (let retry = 0; ; retry++) {
    const reply = await target.send({
      body: bulkEnvelope(subscription, remaining),
      contentType: 'application/json',
      headers: { pubsubname: subscription.pubsubname },
      signal: options.signal,
      timeoutMs: options.timeoutMs,
    })
    last = bulkOutcomes(reply, remaining.map((e) => e.entryId))
    const again: BulkEntry[] = []
    for (const entry of remaining) {
      const outcome = last.get(entry.entryId) ?? { kind: 'retry', reason: 'no status for this entry' }
      if (outcome.kind === 'retry') again.push(entry)
      else options.onOutcome(entry.entryId, outcome)
    }
    remaining = again
    if (remaining.length === 0) return
    if ((options.policy.maxRetries >= 0 && retry >= options.policy.maxRetries) || options.signal.aborted) break
    const delay = backoffDelay(options.policy, retry)
    options.onRetry?.(retry + 1, delay, remaining.length)
    if (!(await sleep(delay, options.signal))) break
  }
  for (const entry of remaining) options.onOutcome(entry.entryId, last.get(entry.entryId) ?? { kind: 'retry', reason: 'no status for this entry' })
}
