import type { Publisher } from '../../src/function-runtime/publisher.js'

export interface PublishCall {
  topic: string
  payload: Buffer
  ok: boolean
}

/**
 * A stand-in for the MQTT client, for fuzz tests only: what they check is what a handler hands
 * to the client (topics, count, order) over thousands of arbitrary inputs, and whether it
 * reports each failure. The real client and broker are exercised by the integration and e2e
 * cases. `fail(topic, n)` decides which calls reject.
 */
export function recordingPublisher(fail: (topic: string, n: number) => boolean = () => false): Publisher & { calls: PublishCall[] } {
  const calls: PublishCall[] = []
  return {
    calls,
    async publish(topic, payload) {
      const ok = !fail(topic, calls.length)
      calls.push({ topic, payload: Buffer.from(payload), ok })
      if (!ok) throw new Error('broker said no')
    },
  }
}
