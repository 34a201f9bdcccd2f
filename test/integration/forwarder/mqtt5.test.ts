// Issue 12, forward side, against a private Mosquitto in MQTT 5: the topic and the properties of
// a message reach the target (HTTP headers with their name rules, extension attributes of the
// event for Lambda), a message whose expiry passes while it waits in a retry is not delivered,
// dead letters say why, and retain handling / noLocal are sent on SUBSCRIBE. 3.1.1 unchanged.
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ResourceError } from '../../../src/core/errors.js'
import { loadResources } from '../../../src/core/resources/index.js'
import { createPublishApi } from '../../../src/http/index.js'
import { startForwarder, type Forwarder } from '../../../src/forwarder/index.js'
import { propertyHeaders, withEventAttributes } from '../../../src/forwarder/message-properties.js'
import { startMosquitto, type MosquittoBroker } from '../../../support/mosquitto.js'
import { cloudEvent, componentYaml, resourceDir, startApp, waitFor, type ResourceDir, type TestApp } from '../../helpers/forwarder.js'

let broker: MosquittoBroker
let publisher: MqttClient
let app: TestApp
const cleanups: (() => Promise<unknown>)[] = []

beforeAll(async () => {
  broker = await startMosquitto()
  publisher = await mqtt.connectAsync(broker.url, { protocolVersion: 5 })
  app = await startApp()
})

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
  await app?.close()
  await publisher?.endAsync()
  await broker?.stop()
})

const fastRetry = { policy: 'constant' as const, initialIntervalMs: 50, maxIntervalMs: 50, maxRetries: 2, multiplier: 1, randomizationFactor: 0 }

async function forwarder(name: string, subscription: { topic: string; route: string; deadLetterTopic?: string; metadata?: Record<string, string> }, options: { retryPolicy?: typeof fastRetry; protocolVersion?: number } = {}): Promise<Forwarder> {
  const dir: ResourceDir = await resourceDir()
  cleanups.push(() => dir.remove())
  const version = options.protocolVersion ?? 5
  await dir.write('pubsub.yaml', componentYaml({ url: broker.url, consumerID: `m5-${name}`, extra: version === 5 ? { protocolVersion: '5' } : {} }))
  const metadata = Object.entries(subscription.metadata ?? {}).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}\n`).join('')
  await dir.write(
    'subscription.yaml',
    `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: ${name}
spec:
  pubsubname: mqtt
  topic: ${JSON.stringify(subscription.topic)}
${subscription.deadLetterTopic ? `  deadLetterTopic: ${subscription.deadLetterTopic}\n` : ''}${metadata ? `  metadata:\n${metadata}` : ''}  routes:
    default: ${subscription.route}
`,
  )
  const fwd = await startForwarder({ resourcesPath: dir.dir, appUrl: app.url, port: false, logLevel: 'silent', retryPolicy: options.retryPolicy ?? fastRetry })
  cleanups.push(() => fwd.stop())
  await fwd.ready
  return fwd
}

/** An MQTT 5 subscriber that keeps every packet (with its properties). */
async function deadLetters(filter: string): Promise<IPublishPacket[]> {
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5 })
  cleanups.push(() => client.endAsync())
  const packets: IPublishPacket[] = []
  client.on('message', (_t, _p, packet) => packets.push(packet))
  await client.subscribeAsync(filter, { qos: 1 })
  return packets
}

const requestsFor = (id: string) => app.requests.filter((r) => (r.json as { id?: string } | undefined)?.id === id)

describe('what an MQTT 5 message carries reaches the target', () => {
  it('HTTP: the topic, content type, response topic, correlation data and valid user properties as headers; the rest left out, the body unchanged', async () => {
    await forwarder('headers', { topic: 'h5/#', route: '/h5' })
    const payload = cloudEvent('h-1', { n: 1 }, 'h5/a')
    await publisher.publishAsync('h5/a/b', payload, {
      qos: 1,
      properties: {
        contentType: 'application/cloudevents+json',
        responseTopic: 'h5/replies',
        correlationData: Buffer.from([1, 2, 3]),
        userProperties: {
          tenant: 'acme',
          'X-Region': 'eu-1',
          multi: ['a', 'b'],
          'content-type': 'text/evil', // would replace the delivery's own header
          traceparent: '00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-01',
          'bad name': 'x', // not an HTTP token
          'x:y': 'z', // nor is this
          unicode: 'grüße', // not ASCII: MQTT carries it, an HTTP header cannot
        },
      },
    })
    await waitFor(() => requestsFor('h-1').length === 1, 10_000, 'the delivery')
    const [req] = requestsFor('h-1')
    expect(req?.body.equals(payload)).toBe(true)
    expect(req?.headers).toMatchObject({
      'mqtt-topic': 'h5/a/b',
      'mqtt-content-type': 'application/cloudevents+json',
      'mqtt-response-topic': 'h5/replies',
      'mqtt-correlation-data': Buffer.from([1, 2, 3]).toString('base64'),
      tenant: 'acme',
      'x-region': 'eu-1',
      multi: 'a, b',
      'content-type': 'application/cloudevents+json',
      pubsubname: 'mqtt',
    })
    expect(req?.headers['traceparent']).not.toBe('00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-01')
    for (const absent of ['bad name', 'x:y', 'x', 'unicode']) expect(req?.headers).not.toHaveProperty(absent)
  })

  it('bulk: each entry\'s metadata carries its message\'s topic and user properties', async () => {
    const dir: ResourceDir = await resourceDir()
    cleanups.push(() => dir.remove())
    await dir.write('pubsub.yaml', componentYaml({ url: broker.url, consumerID: 'm5-bulk', extra: { protocolVersion: '5' } }))
    await dir.write('subscription.yaml', `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: bulk
spec:
  pubsubname: mqtt
  topic: "k5/#"
  bulkSubscribe:
    enabled: true
    maxMessagesCount: 2
    maxAwaitDurationMs: 1000
  routes:
    default: /k5
`)
    app.handle((req) => (req.path === '/k5' ? { body: { statuses: ((req.json as { entries: { entryId: string }[] }).entries ?? []).map((e) => ({ entryId: e.entryId, status: 'SUCCESS' })) } } : {}))
    const fwd = await startForwarder({ resourcesPath: dir.dir, appUrl: app.url, port: false, logLevel: 'silent', retryPolicy: fastRetry })
    cleanups.push(() => fwd.stop())
    await fwd.ready
    await publisher.publishAsync('k5/a', cloudEvent('k-1', { n: 1 }, 'k5/a'), { qos: 1, properties: { userProperties: { tenant: 'acme' } } })
    await publisher.publishAsync('k5/b', cloudEvent('k-2', { n: 2 }, 'k5/b'), { qos: 1 })
    await waitFor(() => app.requests.some((r) => r.path === '/k5'), 10_000, 'the bulk delivery')
    const envelope = app.requests.find((r) => r.path === '/k5')?.json as { entries: { event: { id: string }; metadata: Record<string, string> }[] }
    const byId = Object.fromEntries(envelope.entries.map((e) => [e.event.id, e.metadata]))
    expect(byId['k-1']).toEqual({ 'mqtt-topic': 'k5/a', tenant: 'acme', retained: 'false' })
    expect(byId['k-2']).toEqual({ 'mqtt-topic': 'k5/b', retained: 'false' })
    await waitFor(async () => (await fwd.metrics.total('delivered')) === 2, 10_000, 'both entries acknowledged')
    app.handle(() => ({}))
  })

  it('Lambda and queue targets: extension attributes spliced into the event, the publisher\'s own attributes win', () => {
    const body = Buffer.from('{"id":"1","source":"s","specversion":"1.0","type":"t","tenant":"mine","data":{"a":1}}')
    const message = {
      topic: 'l5/x', payload: body, qos: 1 as const, retained: false, dup: false, ack: () => true, release: () => true,
      properties: { contentType: 'application/cloudevents+json', userProperties: { Tenant: 'theirs', region: 'eu', 'x-bad': 'y', specversion: '2' } },
    }
    const out = withEventAttributes(body, JSON.parse(body.toString()) as Record<string, unknown>, message, true)
    const event = JSON.parse(out.value.toString()) as Record<string, unknown>
    expect(event).toMatchObject({ mqtttopic: 'l5/x', mqttcontenttype: 'application/cloudevents+json', region: 'eu', tenant: 'mine', specversion: '1.0', data: { a: 1 } })
    expect(out.skipped.join('\n')).toMatch(/Tenant[\s\S]*x-bad[\s\S]*specversion/)
    expect(withEventAttributes(Buffer.from('{}'), {}, message, true).value.toString()).toMatch(/^\{"mqtttopic":"l5\/x",.*"region":"eu"\}$/)
    expect(withEventAttributes(body, {}, message, false).value).toBe(body)
  })

  it('no header injection from a broker that lets control characters through (aedes does): CR/LF values and names are left out', () => {
    const message = {
      topic: 'i5/x', payload: Buffer.alloc(0), qos: 1 as const, retained: false, dup: false, ack: () => true, release: () => true,
      properties: { userProperties: { injected: 'x\r\nset-cookie: y', 'a\r\nb': 'c', ok: 'fine' } },
    }
    const { value, skipped } = propertyHeaders(message, true)
    expect(value).toEqual({ 'mqtt-topic': 'i5/x', ok: 'fine' })
    expect(skipped).toHaveLength(2)
    expect(propertyHeaders(message, false).value).toEqual({})
  })
})

describe('expiry, dead letters that say why', () => {
  it('a message whose expiry passes while it waits in a retry is not delivered again: dropped as expired, counted, dead-lettered with the reason', async () => {
    app.handle((req) => ((req.json as { id?: string } | undefined)?.id === 'x-1' ? { status: 500, body: 'database down' } : {}))
    const dead = await deadLetters('x5dead')
    const fwd = await forwarder('expiry', { topic: 'x5/#', route: '/x5', deadLetterTopic: 'x5dead' }, {
      retryPolicy: { policy: 'constant', initialIntervalMs: 200, maxIntervalMs: 200, maxRetries: -1, multiplier: 1, randomizationFactor: 0 },
    })
    await publisher.publishAsync('x5/a', cloudEvent('x-1', { n: 1 }, 'x5/a'), { qos: 1, properties: { messageExpiryInterval: 2 } })
    await waitFor(() => dead.length === 1, 15_000, 'the dead letter')
    const attempts = requestsFor('x-1').length
    expect(attempts).toBeGreaterThan(1)
    expect(dead[0]?.properties?.userProperties).toMatchObject({ 'mqtt-fn-reason': 'expired', 'mqtt-fn-subscription': 'expiry', 'mqtt-fn-original-topic': 'x5/a', 'mqtt-fn-attempts': String(attempts) })
    expect(await fwd.metrics.total('dropped', { reason: 'expired' })).toBe(1)
    app.handle(() => ({}))
  })

  it('after the last retry: the original bytes and properties, plus subscription, route, topic, attempts and the last answer', async () => {
    app.handle((req) => ((req.json as { id?: string } | undefined)?.id === 'd-1' ? { status: 503, body: 'busy' } : {}))
    const dead = await deadLetters('d5dead')
    await forwarder('deadletters', { topic: 'd5/#', route: '/d5', deadLetterTopic: 'd5dead' })
    const payload = cloudEvent('d-1', { n: 1 }, 'd5/a')
    await publisher.publishAsync('d5/a', payload, { qos: 1, properties: { contentType: 'application/cloudevents+json', userProperties: { tenant: 'acme' } } })
    // Not a CloudEvent: can never succeed, dead-lettered at once with why.
    await publisher.publishAsync('d5/b', 'not json', { qos: 1 })
    await waitFor(() => dead.length === 2, 15_000, 'two dead letters')
    const retried = dead.find((p) => Buffer.from(p.payload).equals(payload))
    expect(retried?.properties?.contentType).toBe('application/cloudevents+json')
    expect(retried?.properties?.userProperties).toMatchObject({
      tenant: 'acme',
      'mqtt-fn-subscription': 'deadletters',
      'mqtt-fn-route': expect.stringMatching(/\/d5$/),
      'mqtt-fn-original-topic': 'd5/a',
      'mqtt-fn-attempts': '3',
      'mqtt-fn-reason': 'retries_exhausted',
      'mqtt-fn-last-outcome': expect.stringMatching(/503/),
    })
    const undecodable = dead.find((p) => Buffer.from(p.payload).toString() === 'not json')
    expect(undecodable?.properties?.userProperties).toMatchObject({ 'mqtt-fn-reason': 'undecodable', 'mqtt-fn-attempts': '0', 'mqtt-fn-last-outcome': expect.any(String) })
    app.handle(() => ({}))
  })
})

describe('subscribe options', () => {
  it('retainHandling dontSend: a (re)started forwarder is not replayed the retained message, and live ones still come', async () => {
    await publisher.publishAsync('r5/state', cloudEvent('r-retained', { n: 0 }, 'r5/state'), { qos: 1, retain: true })
    await forwarder('retain', { topic: 'r5/#', route: '/r5', metadata: { retainHandling: 'dontSend' } })
    await publisher.publishAsync('r5/state', cloudEvent('r-live', { n: 1 }, 'r5/state'), { qos: 1 })
    await waitFor(() => requestsFor('r-live').length === 1, 10_000, 'the live message')
    // The broker sends retained messages right after the SUBACK, before later publishes: it would have come first.
    expect(requestsFor('r-retained')).toHaveLength(0)
    await publisher.publishAsync('r5/state', '', { qos: 1, retain: true })
  })

  it('noLocal: the forwarder does not receive its own dead letters on a filter that covers them', async () => {
    app.handle((req) => ((req.json as { id?: string } | undefined)?.id === 'n-1' ? { status: 200, body: { status: 'DROP' } } : {}))
    const dead = await deadLetters('n5/dead')
    await forwarder('nolocal', { topic: 'n5/#', route: '/n5', deadLetterTopic: 'n5/dead', metadata: { noLocal: 'true' } })
    await publisher.publishAsync('n5/a', cloudEvent('n-1', { n: 1 }, 'n5/a'), { qos: 1 })
    await waitFor(() => dead.length === 1, 10_000, 'the dead letter')
    await publisher.publishAsync('n5/b', cloudEvent('n-2', { n: 2 }, 'n5/b'), { qos: 1 })
    await waitFor(() => requestsFor('n-2').length === 1, 10_000, 'the next message')
    // Without noLocal the dead letter (n-1 again) would have been delivered before n-2.
    expect(requestsFor('n-1')).toHaveLength(1)
    app.handle(() => ({}))
  })

  it('on MQTT 3.1.1 retainHandling or noLocal is refused naming protocolVersion; a bad value names the field', async () => {
    await expect(forwarder('old', { topic: 'o/#', route: '/o', metadata: { retainHandling: 'dontSend' } }, { protocolVersion: 4 })).rejects.toThrow(
      /metadata\.retainHandling: an MQTT 5 subscribe option: set protocolVersion: 5/,
    )
    const error = await forwarder('typo', { topic: 'o/#', route: '/o', metadata: { retainHandling: 'never', noLocal: 'maybe' } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ResourceError)
    expect(String((error as Error).message)).toMatch(/metadata\.retainHandling: expected send, sendIfNew or dontSend[\s\S]*metadata\.noLocal: expected true or false/)
  })
})

describe('CloudEvents binary content mode (contentMode: binary)', () => {
  it('the publish API sends the data as the payload and the attributes as user properties; the forwarder hands the app the structured event', async () => {
    const dir: ResourceDir = await resourceDir()
    cleanups.push(() => dir.remove())
    await dir.write('pubsub.yaml', componentYaml({ url: broker.url, consumerID: 'm5-binary', extra: { protocolVersion: '5', contentMode: 'binary' } }))
    await dir.write('subscription.yaml', `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: binary
spec:
  pubsubname: mqtt
  topic: "b5/#"
  deadLetterTopic: b5dead
  routes:
    default: /b5
`)
    const wire = await deadLetters('b5/#')
    const dead = await deadLetters('b5dead')
    const fwd = await startForwarder({ resourcesPath: dir.dir, appUrl: app.url, port: false, logLevel: 'silent', retryPolicy: fastRetry })
    cleanups.push(() => fwd.stop())
    await fwd.ready
    const resources = await loadResources(dir.dir, { appId: 'shop' })
    const api = createPublishApi({ resources, appId: 'shop' })
    const res = await api({ method: 'POST', path: '/v1.0/publish/mqtt/b5/orders', query: new URLSearchParams('metadata.tenant=acme'), headers: { 'content-type': 'application/json' }, body: Buffer.from('{"orderId":9}') })
    expect(res.status).toBe(204)

    await waitFor(() => wire.length === 1, 10_000, 'the binary message')
    const p = wire[0]!
    expect(JSON.parse(Buffer.from(p.payload).toString())).toEqual({ orderId: 9 })
    expect(p.properties?.contentType).toBe('application/json')
    const attributes = p.properties?.userProperties as Record<string, string>
    expect(attributes).toMatchObject({ specversion: '1.0', source: 'shop', type: 'com.dapr.event.sent', topic: 'b5/orders', pubsubname: 'mqtt', tenant: 'acme' })
    await waitFor(() => requestsFor(attributes['id']!).length === 1, 10_000, 'the delivery')
    const [req] = requestsFor(attributes['id']!)
    expect(req?.headers['content-type']).toBe('application/cloudevents+json')
    expect(req?.json).toMatchObject({ id: attributes['id'], source: 'shop', specversion: '1.0', datacontenttype: 'application/json', data: { orderId: 9 }, topic: 'b5/orders' })

    // A structured event on the same subscription passes as it is; a binary one without its id can never be delivered.
    await publisher.publishAsync('b5/structured', cloudEvent('b-structured', { n: 1 }, 'b5/structured'), { qos: 1, properties: { contentType: 'application/cloudevents+json' } })
    await publisher.publishAsync('b5/broken', '{"n":2}', { qos: 1, properties: { contentType: 'application/json', userProperties: { source: 's', type: 't', specversion: '1.0' } } })
    await waitFor(() => requestsFor('b-structured').length === 1 && dead.length === 1, 10_000, 'the structured delivery and the dead letter')
    expect(dead[0]?.properties?.userProperties).toMatchObject({ 'mqtt-fn-reason': 'undecodable', 'mqtt-fn-last-outcome': expect.stringMatching(/without the user property id/) })
    expect(await fwd.metrics.total('retried')).toBe(0)
  })

  it('contentMode binary on MQTT 3.1.1, or a mode that does not exist, is refused naming the field', async () => {
    const dir: ResourceDir = await resourceDir()
    cleanups.push(() => dir.remove())
    await dir.write('pubsub.yaml', componentYaml({ url: broker.url, extra: { contentMode: 'binary' } }))
    await expect(loadResources(dir.dir)).rejects.toThrow(/contentMode: binary needs protocolVersion 5/)
    await dir.write('pubsub.yaml', componentYaml({ url: broker.url, extra: { protocolVersion: '5', contentMode: 'compact' } }))
    await expect(loadResources(dir.dir)).rejects.toThrow(/contentMode: expected structured or binary, got "compact"/)
  })
})

describe('MQTT 3.1.1 unchanged', () => {
  it('no mqtt-* headers, the event bytes as published', async () => {
    await forwarder('v311', { topic: 'v3/#', route: '/v3' }, { protocolVersion: 4 })
    const payload = cloudEvent('v-1', { n: 1 }, 'v3/a')
    const old = await mqtt.connectAsync(broker.url)
    cleanups.push(() => old.endAsync())
    await old.publishAsync('v3/a', payload, { qos: 1 })
    await waitFor(() => requestsFor('v-1').length === 1, 10_000, 'the delivery')
    const [req] = requestsFor('v-1')
    expect(req?.body.equals(payload)).toBe(true)
    expect(Object.keys(req?.headers ?? {}).filter((h) => h.startsWith('mqtt-'))).toEqual([])
  })
})
