// Issue 12, publish side: with `protocolVersion: 5` the publish API (and everything built on it:
// the HTTP functions, the functions API, serve, dev) puts request metadata other than Dapr's own
// keys into user properties, the payload's type into Content Type, the TTL into the Message
// Expiry Interval, and sets correlation data and a response topic. On 3.1.1 nothing changes.
// A private Mosquitto (MQTT 5), the real HTTP server, an MQTT.js v5 subscriber reading the packets.
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAllPubsubClients } from '../../../src/core/pubsub/index.js'
import { mqtt5PublishOptions } from '../../../src/core/pubsub/publish-properties.js'
import { createPublishApi } from '../../../src/http/index.js'
import { startHttpServer, type HttpServer } from '../../../src/http/node-server.js'
import { startMosquitto, type MosquittoBroker } from '../../../support/mosquitto.js'
import { httpCall } from '../../helpers/http-client.js'
import { loadPubsubs } from '../../helpers/http.js'

let broker: MosquittoBroker
let server: HttpServer
let subscriber: MqttClient
const packets: IPublishPacket[] = []
const waiters: { topic: string; resolve: (p: IPublishPacket) => void }[] = []

function packet(topic: string): Promise<IPublishPacket> {
  const seen = packets.find((p) => p.topic === topic)
  if (seen) return Promise.resolve(seen)
  return new Promise((resolve) => waiters.push({ topic, resolve }))
}

beforeAll(async () => {
  broker = await startMosquitto()
  const resources = await loadPubsubs(
    [
      { name: 'v5', url: broker.url, metadata: { qos: '1', protocolVersion: '5' } },
      { name: 'v311', url: broker.url, metadata: { qos: '1' } },
    ],
    'checkout',
  )
  server = await startHttpServer(createPublishApi({ resources, appId: 'checkout' }))
  subscriber = await mqtt.connectAsync(broker.url, { protocolVersion: 5 })
  subscriber.on('message', (_topic, _payload, p) => {
    packets.push(p)
    for (const w of waiters.filter((w) => w.topic === p.topic)) w.resolve(p)
  })
  await subscriber.subscribeAsync('m5/#', { qos: 1 })
})

afterAll(async () => {
  await subscriber?.endAsync()
  await server?.close()
  await closeAllPubsubClients()
  await broker?.stop()
})

const publish = (path: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  httpCall(`${server.url}${path}`, { body, headers })

describe('MQTT 5 per message, from the publish request (protocolVersion 5)', () => {
  it('metadata becomes user properties, Dapr keys stay Dapr\'s; content type, expiry, correlation data and response topic are set', async () => {
    const query = [
      'metadata.partitionKey=p-1',
      'metadata.tenant=acme',
      'metadata.ttlInSeconds=60',
      'metadata.correlationData=req-42',
      'metadata.responseTopic=m5/replies/42',
      'metadata.cloudevent.type=order.created',
    ].join('&')
    const res = await publish(`/v1.0/publish/v5/m5/orders?${query}`, '{"orderId":1}')
    expect(res.status).toBe(204)
    const p = await packet('m5/orders')
    expect(p.properties?.userProperties).toEqual({ partitionKey: 'p-1', tenant: 'acme' })
    expect(p.properties?.contentType).toBe('application/cloudevents+json')
    // The broker counts the expiry down while it holds the message.
    expect(p.properties?.messageExpiryInterval).toBeGreaterThan(50)
    expect(p.properties?.messageExpiryInterval).toBeLessThanOrEqual(60)
    expect(p.properties?.correlationData?.toString()).toBe('req-42')
    expect(p.properties?.responseTopic).toBe('m5/replies/42')
    // The CloudEvent is what daprd builds (expiration from the same TTL; the type override applied).
    const event = JSON.parse(p.payload.toString()) as Record<string, unknown>
    expect(event).toMatchObject({ type: 'order.created', data: { orderId: 1 } })
    expect(event['expiration']).toEqual(expect.any(String))
  })

  it('a raw payload carries the request\'s Content-Type; rawPayload itself is not a user property', async () => {
    const res = await publish('/v1.0/publish/v5/m5/raw?metadata.rawPayload=true&metadata.source=sensor-7', 'plain words', { 'content-type': 'text/plain' })
    expect(res.status).toBe(204)
    const p = await packet('m5/raw')
    expect(p.payload.toString()).toBe('plain words')
    expect(p.properties?.contentType).toBe('text/plain')
    expect(p.properties?.userProperties).toEqual({ source: 'sensor-7' })
  })

  it('bulk: each entry gets its own metadata as user properties', async () => {
    const body = JSON.stringify([
      { entryId: '1', event: { n: 1 }, contentType: 'application/json', metadata: { shard: 'a' } },
      { entryId: '2', event: { n: 2 }, contentType: 'application/json', metadata: { shard: 'b' } },
    ])
    const res = await publish('/v1.0-alpha1/publish/bulk/v5/m5/bulk?metadata.batch=b-9', body)
    expect(res.status).toBe(204)
    await packet('m5/bulk')
    await expect.poll(() => packets.filter((p) => p.topic === 'm5/bulk').length).toBe(2)
    const props = packets.filter((p) => p.topic === 'm5/bulk').map((p) => p.properties?.userProperties)
    expect(props).toEqual(expect.arrayContaining([{ batch: 'b-9', shard: 'a' }, { batch: 'b-9', shard: 'b' }]))
  })

  it('a response topic MQTT forbids is a 400 naming the key, and nothing is published', async () => {
    const res = await publish('/v1.0/publish/v5/m5/bad-reply?metadata.responseTopic=m5%2Freplies%2F%23', '{}')
    expect(res.status).toBe(400)
    expect(JSON.parse(res.body)).toMatchObject({ errorCode: 'ERR_MALFORMED_REQUEST', message: expect.stringMatching(/metadata\.responseTopic "m5\/replies\/#": wildcards/) })
    // A publish after it arrives; the refused one never did (the broker keeps per-topic order only, so compare topics seen).
    expect((await publish('/v1.0/publish/v5/m5/after-bad', '{}')).status).toBe(204)
    await packet('m5/after-bad')
    expect(packets.some((p) => p.topic === 'm5/bad-reply')).toBe(false)
  })

  it('a user property the broker would refuse (a control character) is a 400 naming it; the shared connection keeps working', async () => {
    const res = await publish('/v1.0/publish/v5/m5/ctl?metadata.note=a%0Db', '{}')
    expect(res.status).toBe(400)
    expect(JSON.parse(res.body)).toMatchObject({ errorCode: 'ERR_MALFORMED_REQUEST', message: expect.stringMatching(/metadata\.note: .*control character U\+000D/) })
    expect((await publish('/v1.0/publish/v5/m5/after-ctl?metadata.note=fine', '{}')).status).toBe(204)
    expect((await packet('m5/after-ctl')).properties?.userProperties).toEqual({ note: 'fine' })
  })

  it('the core client refuses such a property itself, before it reaches the wire', async () => {
    const { getPubsubClient } = await import('../../../src/core/pubsub/index.js')
    const resources = await loadPubsubs([{ name: 'direct', url: broker.url, metadata: { qos: '1', protocolVersion: '5' } }])
    const client = getPubsubClient(resources.pubsubs[0]!)
    await expect(client.publish('m5/direct', 'x', { userProperties: { bad: 'a\u0001b' } })).rejects.toMatchObject({ code: 'ERR_PROPERTY_INVALID', message: expect.stringMatching(/user property bad/) })
    await client.publish('m5/direct', 'y', { userProperties: { good: 'ok' } })
    expect(Buffer.from((await packet('m5/direct')).payload).toString()).toBe('y')
  })

  it('mqtt-fn publish -m key=value does the same', async () => {
    const { mkdtemp, rm, writeFile } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { pubsubYaml } = await import('../../../support/component-yaml.js')
    const { publish: cliPublish } = await import('../../../src/cli/publish.js')
    const dir = await mkdtemp(join(tmpdir(), 'mqttfn-m5-cli-'))
    try {
      await writeFile(join(dir, 'pubsub.yaml'), pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1', protocolVersion: '5' } }))
      const code = await cliPublish(['--resources-path', dir, '--topic', 'm5/cli', '--data', '{"a":1}', '-m', 'tenant=acme', '-m', 'ttlInSeconds=30'])
      expect(code).toBe(0)
      const p = await packet('m5/cli')
      expect(p.properties).toMatchObject({ userProperties: { tenant: 'acme' }, contentType: 'application/cloudevents+json', messageExpiryInterval: expect.any(Number) })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('the SQS relay: message attributes other than topic, contentType and rawPayload are metadata, so user properties and the expiry', async () => {
    const { mkdtemp, rm, writeFile } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { pubsubYaml } = await import('../../../support/component-yaml.js')
    const { createFunctionRuntime } = await import('../../../src/function-runtime/runtime.js')
    const { settingsFromEnv } = await import('../../../src/function-runtime/settings.js')
    const { createSqsRelayHandler } = await import('../../../src/platforms/aws/sqs-relay.js')
    const { sqsEvent, lambdaContext } = await import('../../../support/aws-events.js')
    const dir = await mkdtemp(join(tmpdir(), 'mqttfn-m5-sqs-'))
    try {
      await writeFile(join(dir, 'pubsub.yaml'), pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1', protocolVersion: '5' } }))
      const runtime = createFunctionRuntime({ settings: settingsFromEnv({ MQTTFN_RESOURCES_PATH: dir }, { bundleDir: dir }) })
      const handler = createSqsRelayHandler(runtime)
      const result = await handler(
        sqsEvent([
          { body: '{"a":1}', attributes: { topic: 'm5/sqs', tenant: 'acme', ttlInSeconds: '30' } },
          { body: '{"a":2}', attributes: { topic: 'm5/sqs-bad', note: 'a\u0007b' } },
        ]),
        lambdaContext(),
      )
      const p = await packet('m5/sqs')
      expect(p.properties).toMatchObject({ userProperties: { tenant: 'acme' }, contentType: 'application/cloudevents+json', messageExpiryInterval: expect.any(Number) })
      expect(JSON.parse(Buffer.from(p.payload).toString())).toMatchObject({ data: { a: 1 }, expiration: expect.any(String) })
      // The record with a property MQTT refuses fails alone, named; the other was published.
      expect(result.batchItemFailures).toHaveLength(1)

      // A binary-mode component: the relay sends the data as the payload, the attributes as user properties.
      await writeFile(join(dir, 'pubsub.yaml'), pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1', protocolVersion: '5', contentMode: 'binary' } }))
      const binaryRelay = createSqsRelayHandler(createFunctionRuntime({ settings: settingsFromEnv({ MQTTFN_RESOURCES_PATH: dir, APP_ID: 'relay' }, { bundleDir: dir }) }))
      expect((await binaryRelay(sqsEvent([{ body: '{"a":3}', attributes: { topic: 'm5/sqs-binary' } }]), lambdaContext())).batchItemFailures).toEqual([])
      const b = await packet('m5/sqs-binary')
      expect(JSON.parse(Buffer.from(b.payload).toString())).toEqual({ a: 3 })
      expect(b.properties).toMatchObject({ contentType: 'application/json', userProperties: { specversion: '1.0', source: 'relay', topic: 'm5/sqs-binary' } })
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('on MQTT 3.1.1 the same request publishes the same CloudEvent with no properties at all', async () => {
    const res = await publish('/v1.0/publish/v311/m5/old?metadata.tenant=acme&metadata.ttlInSeconds=60&metadata.responseTopic=x', '{"orderId":2}')
    expect(res.status).toBe(204)
    const p = await packet('m5/old')
    expect(p.properties ?? {}).toEqual({})
    expect(JSON.parse(p.payload.toString())).toMatchObject({ data: { orderId: 2 }, expiration: expect.any(String) })
  })
})

describe('mqtt5PublishOptions', () => {
  it('maps the TTL to whole seconds, at least 1 and at most the four-byte maximum; leaves 3.1.1 alone', () => {
    expect(mqtt5PublishOptions({ ttlInSeconds: '0' }, undefined, 5).messageExpiryInterval).toBe(1)
    expect(mqtt5PublishOptions({ ttl: '1500ms' }, undefined, 5).messageExpiryInterval).toBe(2)
    expect(mqtt5PublishOptions({ TTL: '2000000h' }, undefined, 5).messageExpiryInterval).toBe(0xffffffff)
    expect(mqtt5PublishOptions({ ttlInSeconds: 'abc' }, undefined, 5)).not.toHaveProperty('messageExpiryInterval')
    expect(mqtt5PublishOptions({ tenant: 'a', ttlInSeconds: '5' }, 'text/plain', 4)).toEqual({})
    expect(mqtt5PublishOptions({ 'CloudEvent.Id': 'x', RawPayload: 'false', Retain: 'true' }, undefined, 5)).toEqual({})
  })
})
