import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PubsubClient } from '../../../src/core/pubsub/index.js'
import { PublishError } from '../../../src/core/errors.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { mqttMetadata } from '../../helpers/factories.js'

describe('a publish the broker refuses by closing the connection (aedes authorizePublish)', () => {
  let broker: EmbeddedBroker
  const refusals: string[] = []

  beforeAll(async () => {
    broker = await startEmbeddedBroker({
      aedes: {
        authorizePublish: (_client, packet, callback) => {
          if (packet.topic.startsWith('refuse/')) {
            refusals.push(packet.topic)
            return callback(new Error('not allowed'))
          }
          callback(null)
        },
      },
    })
  })
  afterAll(async () => {
    await broker.close()
  })

  it('times out, is withdrawn even after MQTT.js replayed it on a reconnect, and later publishes go through', async () => {
    const client = new PubsubClient({ name: 'replay', metadata: mqttMetadata({ url: broker.url, qos: 1, publishTimeout: 1000, connectTimeout: 1000 }) })
    try {
      await client.publish('ok/before', 'a')
      await expect(client.publish('refuse/1', 'x')).rejects.toBeInstanceOf(PublishError)
      // The reconnects that follow must not replay the refused packet forever.
      for (let i = 0; i < 3; i++) await client.publish(`ok/after/${i}`, 'b')
      const refusedBefore = refusals.length
      await client.publish('ok/again', 'c')
      expect(refusals.length).toBe(refusedBefore)
    } finally {
      await client.close()
    }
  })
})
