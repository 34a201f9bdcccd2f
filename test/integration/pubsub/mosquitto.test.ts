// The shared pubsub suite against a private Mosquitto, over MQTT 3.1.1 and MQTT 5, plus what
// only MQTT 5 has.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMosquitto, type MosquittoBroker } from '../../../support/mosquitto.js'
import { describeBrokerSuite } from './suite.js'
import { uniqueId } from '../../helpers/factories.js'
import { clientFactory, Inbox, mosquittoTarget, uniqueTopic } from './harness.js'

describeBrokerSuite(mosquittoTarget(4))
describeBrokerSuite(mosquittoTarget(5))

describe('mosquitto (MQTT 5): PUBLISH properties', () => {
  let broker: MosquittoBroker
  beforeAll(async () => {
    broker = await startMosquitto()
  })
  afterAll(async () => {
    await broker?.stop()
  })
  const client = clientFactory(() => ({ url: broker.url, qos: 1, protocolVersion: 5 }))

  it('carries content type, user properties and message expiry; drops empty and undefined values', async () => {
    const topic = uniqueTopic('props')
    const inbox = new Inbox({ autoAck: true })
    await client().subscribe(topic, inbox.handler)
    const pub = client()
    await pub.publish(topic, '{"a":1}', {
      contentType: 'application/cloudevents+json',
      userProperties: { traceparent: '00-abc-def-01', multi: ['x', 'y'], gone: undefined as unknown as string },
      messageExpiryInterval: 60,
    })
    await pub.publish(topic, 'plain', { userProperties: {} })
    const [withProps, plain] = await inbox.count(2)
    expect(withProps!.properties?.contentType).toBe('application/cloudevents+json')
    expect(withProps!.properties?.userProperties).toEqual({ traceparent: '00-abc-def-01', multi: ['x', 'y'] })
    expect(withProps!.properties?.messageExpiryInterval).toBeGreaterThan(0)
    expect(plain!.payload.toString()).toBe('plain')
    expect(plain!.properties?.userProperties).toBeUndefined()
  })
})

describe('mosquitto with persistence: sessions survive a broker restart', () => {
  let broker: MosquittoBroker
  beforeAll(async () => {
    broker = await startMosquitto({ persistence: true })
  })
  afterAll(async () => {
    await broker?.stop()
  })
  const client = clientFactory(() => ({ url: broker.url, qos: 1 }))

  for (const protocolVersion of [4, 5] as const) {
    it(`MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}: messages queued for an offline session, and those un-acked, arrive after the restart`, async () => {
      const topic = uniqueTopic('persist')
      const consumerID = uniqueId('persist')
      const durable = { consumerID, cleanSession: false, protocolVersion }
      const pub = client({ protocolVersion })

      const first = new Inbox()
      const a = client(durable)
      await a.subscribe(topic, first.handler)
      await pub.publish(topic, 'un-acked')
      await first.payload('un-acked')
      await a.close()
      await pub.publish(topic, 'queued')

      await broker.restart() // SIGTERM: Mosquitto saves its database on the way out

      const logs: string[] = []
      const second = new Inbox({ autoAck: true })
      const b = client(durable, { logger: { debug() {}, info: (m, f) => logs.push(`${m} ${JSON.stringify(f)}`), warn() {}, error() {} } })
      await b.subscribe(topic, second.handler)
      await second.until((m) => m.length >= 2, 'both messages')
      expect(second.payloads()).toEqual(['un-acked', 'queued'])
      expect(logs.some((l) => l.includes('"sessionPresent":true'))).toBe(true)

      // The publisher (clean session) got through the restart by itself.
      await pub.publish(topic, 'after')
      await second.payload('after')
    })
  }
})
