/**
 * Delivery contract against a real broker (Mosquitto) and a real HTTP app on loopback:
 * at-least-once under RETRY / 500, CEL routing, rawPayload, headers, DROP / 404 to the
 * dead-letter topic, no-route, non-JSON payloads, expired events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MqttClient } from 'mqtt'
import { startForwarder, type Forwarder } from '../../../src/forwarder/index.js'
import { startMosquitto, type MosquittoBroker } from '../../../support/mosquitto.js'
import {
  cloudEvent,
  collect,
  componentYaml,
  eventId,
  mqttClient,
  publishAll,
  resourceDir,
  startApp,
  waitFor,
  type ResourceDir,
  type TestApp,
} from '../../helpers/forwarder.js'

let broker: MosquittoBroker
let app: TestApp
let dir: ResourceDir
let forwarder: Forwarder
let publisher: MqttClient
let deadLetters: Awaited<ReturnType<typeof collect>>

const firstSeen = new Set<string>()

beforeAll(async () => {
  broker = await startMosquitto()
  app = await startApp((req) => {
    const id = eventId(req)
    if (req.path === '/gone') return { status: 404 }
    if (req.path === '/drop') return { body: { status: 'DROP' } }
    if (!id) return {}
    // First delivery of every 7th id: RETRY; of every 11th: 500. Then success.
    const n = Number(id.split('-')[1])
    if (!firstSeen.has(id)) {
      firstSeen.add(id)
      if (n % 7 === 0) return { body: { status: 'RETRY' } }
      if (n % 11 === 0) return { status: 500, body: 'boom' }
    }
    return { body: { status: 'SUCCESS' } }
  })
  dir = await resourceDir()
  await dir.write('pubsub.yaml', componentYaml({ url: broker.url, consumerID: 'fwd-delivery', extra: { maxInflight: '50' } }))
  await dir.write(
    'subscriptions.yaml',
    `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: orders
spec:
  pubsubname: mqtt
  topic: orders/#
  routes:
    rules:
      - match: event.type == "widget"
        path: /widgets
      - match: has(event.data.priority) && event.data.priority > 5
        path: /urgent
    default: /orders
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: raw
spec:
  pubsubname: mqtt
  topic: devices/+/telemetry
  metadata:
    rawPayload: "true"
  routes:
    default: /telemetry
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: dropping
spec:
  pubsubname: mqtt
  topic: dropping/+
  deadLetterTopic: poison
  routes:
    rules:
      - match: event.data.kind == "drop"
        path: /drop
      - match: event.data.kind == "gone"
        path: /gone
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: strict
spec:
  pubsubname: mqtt
  topic: strict/+
  routes:
    rules:
      - match: event.data.kind == "x"
        path: /strict
`,
  )
  forwarder = await startForwarder({
    resourcesPath: dir.dir,
    appUrl: app.url,
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    retryPolicy: { policy: 'exponential', initialIntervalMs: 20, maxIntervalMs: 200, maxRetries: 10, multiplier: 2, randomizationFactor: 0.5 },
  })
  await forwarder.ready
  publisher = await mqttClient(broker.url)
  deadLetters = await collect(broker.url, 'poison')
})

afterAll(async () => {
  await publisher?.endAsync()
  await deadLetters?.close()
  await forwarder?.stop()
  await app?.close()
  await broker?.stop()
  await dir?.remove()
})

describe('forwarder delivery (Mosquitto, HTTP app)', () => {
  it('delivers 1,000 QoS 1 messages at least once when the app answers RETRY or 500 the first time', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `bulk-${i}`)
    await publishAll(publisher, ids.map((id) => ({ topic: `orders/eu/${id}`, payload: cloudEvent(id, { n: 1 }, 'orders/eu') })))
    const delivered = () => new Set(app.requests.filter((r) => r.path === '/orders' && app.requests && r.json).map(eventId))
    await waitFor(() => ids.every((id) => delivered().has(id)), 30_000, 'every id delivered')
    const metrics = forwarder.metrics
    await waitFor(async () => (await metrics.total('delivered', { subscription: 'orders' })) >= 1000, 5000, 'delivered metric')
    expect(await metrics.total('retried', { subscription: 'orders' })).toBeGreaterThanOrEqual(ids.filter((id) => Number(id.split('-')[1]) % 7 === 0 || Number(id.split('-')[1]) % 11 === 0).length)
    expect(await metrics.total('unacked', { subscription: 'orders' })).toBe(0)
  })

  it('posts the payload bytes unchanged with daprd headers', async () => {
    const payload = cloudEvent('hdr-1', { hello: 'world' }, 'orders/x', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', traceid: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })
    await publisher.publishAsync('orders/x', payload, { qos: 1 })
    await waitFor(() => app.requests.some((r) => eventId(r) === 'hdr-1'))
    const req = app.requests.find((r) => eventId(r) === 'hdr-1')!
    expect(req.method).toBe('POST')
    expect(req.body.equals(payload)).toBe(true)
    expect(req.headers['content-type']).toBe('application/cloudevents+json')
    expect(req.headers.pubsubname).toBe('mqtt')
    expect(req.headers.retained).toBe('false')
    expect(req.headers.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')
  })

  it('routes by CEL rules in order, then the default', async () => {
    await publisher.publishAsync('orders/a', cloudEvent('cel-widget', { priority: 9 }, 'orders/a', { type: 'widget' }), { qos: 1 })
    await publisher.publishAsync('orders/a', cloudEvent('cel-urgent', { priority: 9 }, 'orders/a'), { qos: 1 })
    await publisher.publishAsync('orders/a', cloudEvent('cel-plain', { priority: 1 }, 'orders/a'), { qos: 1 })
    await waitFor(() => ['cel-widget', 'cel-urgent', 'cel-plain'].every((id) => app.requests.some((r) => eventId(r) === id)))
    expect(app.requests.find((r) => eventId(r) === 'cel-widget')?.path).toBe('/widgets')
    expect(app.requests.find((r) => eventId(r) === 'cel-urgent')?.path).toBe('/urgent')
    expect(app.requests.find((r) => eventId(r) === 'cel-plain')?.path).toBe('/orders')
  })

  it('wraps raw payloads in a data_base64 envelope', async () => {
    await publisher.publishAsync('devices/d1/telemetry', Buffer.from('temp=21.5'), { qos: 1 })
    await waitFor(() => app.requests.some((r) => r.path === '/telemetry'))
    const event = app.requests.find((r) => r.path === '/telemetry')!.json as Record<string, unknown>
    expect(event).toMatchObject({
      datacontenttype: 'application/octet-stream',
      source: 'Dapr',
      type: 'com.dapr.event.sent',
      specversion: '1.0',
      topic: 'devices/d1/telemetry',
      pubsubname: 'mqtt',
      data_base64: Buffer.from('temp=21.5').toString('base64'),
    })
    expect(typeof event.id).toBe('string')
  })

  it('sends DROP and 404 to the dead-letter topic with the original bytes, and acks them', async () => {
    const drop = cloudEvent('dl-drop', { kind: 'drop' }, 'dropping/1')
    const gone = cloudEvent('dl-gone', { kind: 'gone' }, 'dropping/2')
    const nowhere = cloudEvent('dl-none', { kind: 'other' }, 'dropping/3')
    await publisher.publishAsync('dropping/1', drop, { qos: 1 })
    await publisher.publishAsync('dropping/2', gone, { qos: 1 })
    await publisher.publishAsync('dropping/3', nowhere, { qos: 1 })
    await waitFor(() => deadLetters.messages.length >= 3, 10_000, 'three dead letters')
    const payloads = deadLetters.messages.map((m) => m.payload)
    expect(payloads.some((p) => p.equals(drop))).toBe(true)
    expect(payloads.some((p) => p.equals(gone))).toBe(true)
    expect(payloads.some((p) => p.equals(nowhere))).toBe(true)
    expect(await forwarder.metrics.total('dropped', { subscription: 'dropping', reason: 'drop' })).toBe(1)
    expect(await forwarder.metrics.total('dropped', { subscription: 'dropping', reason: 'not_found' })).toBe(1)
    expect(await forwarder.metrics.total('dropped', { subscription: 'dropping', reason: 'no_route' })).toBe(1)
    expect(await forwarder.metrics.total('deadLettered', { subscription: 'dropping' })).toBe(3)
  })

  it('dead-letters non-JSON and expired events when a dead-letter topic is set', async () => {
    const before = deadLetters.messages.length
    const text = Buffer.from('not a cloud event')
    const expired = cloudEvent('dl-expired', { kind: 'drop' }, 'dropping/5', { expiration: '2001-01-01T00:00:00Z' })
    await publisher.publishAsync('dropping/4', text, { qos: 1 })
    await publisher.publishAsync('dropping/5', expired, { qos: 1 })
    await waitFor(() => deadLetters.messages.length >= before + 2, 10_000, 'two more dead letters')
    const payloads = deadLetters.messages.slice(before).map((m) => m.payload)
    expect(payloads.some((p) => p.equals(text))).toBe(true)
    expect(payloads.some((p) => p.equals(expired))).toBe(true)
    expect(app.requests.some((r) => eventId(r) === 'dl-expired')).toBe(false)
    expect(await forwarder.metrics.total('dropped', { subscription: 'dropping', reason: 'expired' })).toBe(1)
  })

  it('drops (acks and counts) non-JSON and failing-CEL messages without a dead-letter topic, as daprd does: they can never succeed', async () => {
    await publisher.publishAsync('strict/1', Buffer.from('plain text'), { qos: 1 })
    // event.data.kind on a string `data` is an evaluation error, not "no match".
    await publisher.publishAsync('strict/2', cloudEvent('cel-error', 'just text', 'strict/2'), { qos: 1 })
    await waitFor(async () => (await forwarder.metrics.total('dropped', { subscription: 'strict' })) >= 2, 10_000, 'two dropped')
    expect(await forwarder.metrics.total('dropped', { subscription: 'strict', reason: 'undecodable' })).toBe(1)
    expect(await forwarder.metrics.total('dropped', { subscription: 'strict', reason: 'route_error' })).toBe(1)
    expect(await forwarder.metrics.total('unacked', { subscription: 'strict' })).toBe(0)
    expect(app.requests.some((r) => r.path === '/strict')).toBe(false)
  })

  it('serves /healthz, /readyz and /metrics', async () => {
    const base = `http://127.0.0.1:${forwarder.healthPort}`
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    expect((await fetch(`${base}/readyz`)).status).toBe(200)
    const text = await (await fetch(`${base}/metrics`)).text()
    expect(text).toContain('mqttfn_forwarder_received_total')
    expect(text).toContain('mqttfn_forwarder_delivery_duration_seconds_bucket')
    expect(text).toMatch(/mqttfn_forwarder_connected\{pubsub="mqtt"\} 1/)
  })
})
