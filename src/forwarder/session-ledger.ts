/**
 * Persistent-session hygiene. A persistent session keeps every filter it was ever subscribed
 * to, and MQTT has no way to ask the broker which ones. A filter that no Subscription wants any
 * more (a Subscription removed between two runs) keeps its messages coming: the broker queues
 * them while the forwarder is down, where they count against the session's queue limit
 * (Mosquitto: max_queued_messages 1000, then it drops silently), and delivers them after.
 *
 * So the forwarder writes down what it subscribes, on the broker itself, where it lives exactly
 * as long as the session does: a retained QoS 1 message on the component's `sessionLedgerTopic`
 * (default `mqtt-fn/sessions/<consumerID>`). At start it subscribes to that topic, takes the
 * list it finds, UNSUBSCRIBEs the filters no Subscription wants, and writes the current list.
 *
 * A retained message arrives some time after the SUBACK, or never when there is none: the
 * list is written after the first one arrived or after `readTimeoutMs`. A list that arrives
 * later still (a slow broker) is handled the same way when it comes, so a late read never
 * leaves a stale filter behind; it only delays the unsubscribe.
 */
import { createHash } from 'node:crypto'
import { ClosedError } from '../core/errors.js'
import { isPersistentSession } from '../core/pubsub/mqtt-options.js'
import type { IncomingMessage } from '../core/pubsub/types.js'
import type { MqttMetadata } from '../core/resources/types.js'
import type { Logger } from './logger.js'
import { settlesWithin } from '../core/timeout.js'

/** The part of PubsubClient the ledger needs. */
export interface LedgerClient {
  readonly metadata: MqttMetadata
  readonly state: string
  subscribe(filter: string, handler: (message: IncomingMessage) => void, options?: { qos?: 0 | 1 | 2 }): Promise<unknown>
  publish(topic: string, payload: string, options?: { qos?: 0 | 1 | 2; retain?: boolean }): Promise<void>
  forget(filter: string): Promise<void>
}

export interface LedgerOptions {
  logger: Logger
  pubsub: string
  /** How long to wait for the last list before writing the new one, ms. Default 2000. */
  readTimeoutMs?: number
  /** Told about each filter unsubscribed (metrics, tests). */
  onForgotten?: (filter: string) => void
}

const SAFE_ID = /^[A-Za-z0-9_-]{1,128}$/

/** Where the default ledgers live (the dev hop log leaves them out: they are not the user's messages). */
export const LEDGER_PREFIX = 'mqtt-fn/sessions/'

/**
 * The ledger topic of a component, or undefined when there is no session to keep tidy: a clean
 * session, a consumerID generated per process (nobody resumes that session) or `none`.
 */
export function ledgerTopic(md: MqttMetadata): string | undefined {
  if (md.sessionLedgerTopic === null || !md.consumerIDConfigured) return undefined
  if (!isPersistentSession(md)) return undefined
  if (md.sessionLedgerTopic !== undefined) return md.sessionLedgerTopic
  // Client ids may hold what topics must not (`+`, `#`, `/`) or what some brokers refuse (`.` on NATS).
  const id = SAFE_ID.test(md.consumerID) ? md.consumerID : createHash('sha256').update(md.consumerID).digest('hex').slice(0, 32)
  return `${LEDGER_PREFIX}${id}`
}

/** The list as written: `{"filters": [...], "consumerID": ..., "updatedAt": ...}`; undefined when it is not one. */
export function parseLedger(payload: Buffer): string[] | undefined {
  let value: unknown
  try {
    value = JSON.parse(payload.toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const filters = (value as { filters?: unknown }).filters
  if (!Array.isArray(filters) || !filters.every((f): f is string => typeof f === 'string')) return undefined
  return filters
}

/** The filters of `recorded` that are neither wanted nor the ledger itself. */
export function staleFilters(recorded: readonly string[], wanted: readonly string[], ledger: string): string[] {
  const keep = new Set([...wanted, ledger])
  return [...new Set(recorded)].filter((f) => !keep.has(f))
}

/**
 * Reads the last list, unsubscribes what is no longer wanted and writes `wanted`. Never
 * throws: a broker that refuses the ledger topic gets one warning naming the setting, and the
 * forwarder runs as before (messages of a stale filter are then acked as unrouted).
 */
export async function keepSessionTidy(client: LedgerClient, wanted: readonly string[], options: LedgerOptions): Promise<void> {
  const topic = ledgerTopic(client.metadata)
  if (topic === undefined) return
  const { logger, pubsub } = options
  const fields = { pubsub, ledger: topic }
  const forgetting = new Set<string>()
  const tidy = async (recorded: string[]) => {
    for (const filter of staleFilters(recorded, wanted, topic)) {
      if (forgetting.has(filter)) continue
      forgetting.add(filter)
      try {
        await client.forget(filter)
        logger.info({ ...fields, filter }, 'unsubscribed a filter the persistent session kept from an earlier run (no Subscription wants it now)')
        options.onForgotten?.(filter)
      } catch (error) {
        forgetting.delete(filter)
        logger.warn({ ...fields, filter, error: (error as Error).message }, 'could not unsubscribe a filter no Subscription wants; its messages are acked as unrouted')
      }
    }
  }

  let firstList: (list: string[]) => void = () => {}
  const read = new Promise<string[]>((resolve) => (firstList = resolve))
  let lastTidy: Promise<void> = Promise.resolve()
  let written = ''
  let echoed: () => void = () => {}
  const echo = new Promise<void>((resolve) => (echoed = resolve))
  const onMessage = (message: IncomingMessage) => {
    message.ack()
    // Our own write comes back too, live (retain flag clear): only stored lists tell the past.
    if (!message.retained) {
      if (written !== '' && message.payload.toString('utf8') === written) echoed()
      return
    }
    const list = parseLedger(message.payload)
    if (list === undefined) {
      logger.warn(fields, 'the session ledger holds something that is not a filter list; it is replaced')
      firstList([])
      return
    }
    firstList(list)
    lastTidy = lastTidy.then(() => tidy(list))
  }
  try {
    await client.subscribe(topic, onMessage, { qos: 1 })
  } catch (error) {
    if (error instanceof ClosedError) return
    logger.warn({ ...fields, error: (error as Error).message }, 'the session ledger topic was refused (set sessionLedgerTopic to a topic this client may use, or none); filters a removed Subscription left in the session are not unsubscribed')
    return
  }
  await settlesWithin(read, options.readTimeoutMs ?? 2000)
  await lastTidy
  written = JSON.stringify({ filters: [...new Set(wanted)].sort(), consumerID: client.metadata.consumerID, updatedAt: new Date().toISOString() })
  const unwritten = 'could not write the session ledger (set sessionLedgerTopic to a topic this client may publish and subscribe to, or none); a Subscription removed later is not unsubscribed at the next start'
  try {
    await client.publish(topic, written, { qos: 1, retain: true })
  } catch (error) {
    // Stopped before the list was written: the next start reads the old one.
    if (!(error instanceof ClosedError)) logger.warn({ ...fields, error: (error as Error).message }, unwritten)
    return
  }
  // A broker's ACL may take the SUBSCRIBE and the PUBLISH and drop both in silence (Mosquitto
  // on 3.1.1): only the write coming back proves the ledger works.
  const came = await settlesWithin(echo, options.readTimeoutMs ?? 2000)
  if (!came && client.state !== 'closed') logger.warn({ ...fields, error: 'the list written did not come back on the ledger topic' }, unwritten)
}
