/**
 * Dead-letter stage: publishes the ORIGINAL MQTT payload (not the raw-payload envelope, not a
 * re-encoded event) to the subscription's dead-letter topic on the same pubsub, as daprd's
 * `sendToDeadLetter` does. `success` only once the broker acknowledged the publish; then the
 * caller may ack the original. Runs in the dispatcher, never inside MQTT.js's packet handler:
 * awaiting a PUBACK there would deadlock the connection.
 */
import type { Outcome } from './types.js'

export interface DeadLetterPublisher {
  publish(topic: string, payload: Buffer): Promise<void>
}

export async function deadLetter(publisher: DeadLetterPublisher, topic: string, payload: Buffer): Promise<Outcome> {
  try {
    await publisher.publish(topic, payload)
    return { kind: 'success' }
  } catch (error) {
    return { kind: 'retry', reason: `dead-letter publish to ${topic} failed: ${(error as Error).message}` }
  }
}
