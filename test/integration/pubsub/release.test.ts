/**
 * MQTT has no NACK. A message given back with `release()` takes a slot of the broker's
 * in-flight window until a new connection resumes the session, so enough of them would stop
 * the stream for good. The client renews its connection, and the broker redelivers them.
 */
import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PubsubClient } from '../../../src/core/pubsub/index.js'
import type { PubsubClientOptions } from '../../../src/core/pubsub/types.js'
import { mqttMetadata, uniqueId } from '../../helpers/factories.js'
import { startMosquitto, type MosquittoBroker } from '../../../support/mosquitto.js'

const WINDOW = 3
const MESSAGES = 7

describe('release(): messages given back come again, though the broker window is small', () => {
  let broker: MosquittoBroker

  beforeAll(async () => {
    broker = await startMosquitto({ extraConfig: [`max_inflight_messages ${WINDOW}`] })
  })
  afterAll(async () => {
    await broker?.stop()
  })

  async function run(options: PubsubClientOptions): Promise<{ acked: Set<string>; releases: number }> {
    const client = new PubsubClient(
      { name: 'release', metadata: mqttMetadata({ url: broker.url, qos: 1, cleanSession: false, consumerID: uniqueId('rel') }) },
      options,
    )
    const seen = new Set<string>()
    const acked = new Set<string>()
    let releases = 0
    let done: () => void = () => {}
    const all = new Promise<void>((resolve) => (done = resolve))
    const topic = `release/${uniqueId()}`
    try {
      await client.subscribe(topic, (m) => {
        const body = m.payload.toString()
        // The first time, the "target" fails for good: give it back. The second time it works.
        if (!seen.has(body)) {
          seen.add(body)
          expect(m.release()).toBe(true)
          releases++
          return
        }
        if (m.ack()) acked.add(body)
        if (acked.size === MESSAGES) done()
      })
      const publisher = await mqtt.connectAsync(broker.url)
      for (let i = 0; i < MESSAGES; i++) await publisher.publishAsync(topic, `m${i}`, { qos: 1 })
      await publisher.endAsync()
      await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`stalled: acked ${[...acked].join(',')}`)), 15_000))])
      return { acked, releases }
    } finally {
      await client.close()
    }
  }

  it('renews once the released messages reach renewAfterReleased', async () => {
    const { acked, releases } = await run({ renewAfterReleased: WINDOW, renewAfterReleaseMs: 60_000 })
    expect(acked.size).toBe(MESSAGES)
    expect(releases).toBe(MESSAGES)
  })

  it('renews after renewAfterReleaseMs when fewer wait', async () => {
    const { acked } = await run({ renewAfterReleased: 1000, renewAfterReleaseMs: 300 })
    expect(acked.size).toBe(MESSAGES)
  })

  it('renewals for a message that fails on every redelivery back off (base, 2x, 4x ...), and say so', async () => {
    const renewedAt: number[] = []
    const client = new PubsubClient(
      { name: 'backoff', metadata: mqttMetadata({ url: broker.url, qos: 1, cleanSession: false, consumerID: uniqueId('bo') }) },
      {
        renewAfterReleased: 1,
        renewAfterReleaseMs: 10_000,
        renewBackoffBaseMs: 150,
        // The renewal itself is the moment to measure: a delivery after it also waits for the reconnect.
        logger: {
          debug() {},
          info() {},
          error() {},
          warn: (msg, fields) => {
            if (msg === 'replacing the MQTT client' && String(fields?.reason).includes('released')) renewedAt.push(performance.now())
          },
        },
      },
    )
    const topic = `release/${uniqueId()}`
    let deliveries = 0
    try {
      await client.subscribe(topic, (m) => {
        deliveries++
        m.release()
      })
      const publisher = await mqtt.connectAsync(broker.url)
      await publisher.publishAsync(topic, 'poison', { qos: 1 })
      await publisher.endAsync()
      const deadline = Date.now() + 15_000
      while (renewedAt.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      expect(renewedAt.length).toBeGreaterThanOrEqual(4)
      // Lower bounds only: each gap is at least the backoff it was scheduled with.
      for (let i = 1; i < 4; i++) expect(renewedAt[i]! - renewedAt[i - 1]!).toBeGreaterThanOrEqual(150 * 2 ** (i - 1) - 15)
      expect(client.redelivery.renewalsInARow).toBeGreaterThanOrEqual(4)
      expect(deliveries).toBeGreaterThanOrEqual(4)
    } finally {
      await client.close()
    }
  })
})
