/**
 * Dead-letter stage: publishes the ORIGINAL MQTT payload (not the raw-payload envelope, not a
 * re-encoded event) to the subscription's dead-letter topic on the same pubsub, as daprd's
 * `sendToDeadLetter` does. `success` only once the broker acknowledged the publish; then the
 * caller may ack the original. Runs in the dispatcher, never inside MQTT.js's packet handler:
 * awaiting a PUBACK there would deadlock the connection.
 */
import type { IncomingMessage, PublishOptions } from '../core/pubsub/types.js'
import type { Outcome } from './types.js'

export interface DeadLetterPublisher {
  /** `properties` are MQTT 5's; a 3.1.1 connection leaves them out. */
  publish(topic: string, payload: Buffer, properties?: PublishOptions): Promise<void>
}

/** Why a message was dead-lettered, as its user properties say it on MQTT 5. */
export interface DeadLetterWhy {
  subscription: string
  /** The route it was delivered to, when one was chosen. */
  route?: string
  attempts: number
  /** The drop reason (`retries_exhausted`, `undecodable`, `no_route`, `expired`, `drop`, ...). */
  reason: string
  /** What the last attempt said (an HTTP status and body, an error). */
  lastOutcome?: string
}

/** Prefix of the user properties a dead letter gets, beside the original message's own. */
export const DEAD_LETTER_PROPERTY_PREFIX = 'mqtt-fn-'

/** User property values are kept short: a dead letter must not outgrow the broker's packet limit. */
const MAX_VALUE_CHARS = 512

/**
 * The original message's content type and user properties, plus why it failed: the subscription,
 * the route, the original topic, the attempts and the last outcome.
 */
export function deadLetterProperties(message: IncomingMessage, why: DeadLetterWhy): PublishOptions {
  const userProperties: Record<string, string | string[]> = { ...(message.properties?.userProperties ?? {}) }
  const set = (name: string, value: string | number | undefined) => {
    if (value !== undefined) userProperties[DEAD_LETTER_PROPERTY_PREFIX + name] = String(value).slice(0, MAX_VALUE_CHARS)
  }
  set('subscription', why.subscription)
  set('route', why.route)
  set('original-topic', message.topic)
  set('attempts', why.attempts)
  set('reason', why.reason)
  set('last-outcome', why.lastOutcome)
  const options: PublishOptions = { userProperties }
  if (message.properties?.contentType !== undefined) options.contentType = message.properties.contentType
  return options
}

export async function deadLetter(publisher: DeadLetterPublisher, topic: string, payload: Buffer, properties?: PublishOptions): Promise<Outcome> {
  try {
    await publisher.publish(topic, payload, properties)
    return { kind: 'success' }
  } catch (error) {
    return { kind: 'retry', reason: `dead-letter publish to ${topic} failed: ${(error as Error).message}` }
  }
}
