/**
 * Tracing configured the Dapr way, end to end: a Configuration in the resources folder sends
 * spans over OTLP/HTTP to a receiver on loopback. A message published over HTTP to
 * `mqtt-fn serve` (a child process, as a user runs it) and delivered by the forwarder to an app
 * makes one trace: the caller's span → publish API server → producer → forwarder consumer →
 * one client span per delivery attempt, whose context the app receives as `traceparent`.
 * A user's own Lambda handler (pubsubMiddleware) has its publish spans exported before the
 * invocation returns.
 */
import { randomBytes } from 'node:crypto'
import middy from '@middy/core'
import type { Context } from 'aws-lambda'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAllPubsubClients } from '../../src/core/pubsub/index.js'
import { pubsubMiddleware, type PubsubContext } from '../../src/exports/functions.js'
import { startForwarder } from '../../src/forwarder/index.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/local/broker.js'
import { pubsubYaml } from '../../support/component-yaml.js'
import { startCli, type LongRunning } from '../helpers/cli.js'
import { recordTopics } from '../helpers/mqtt-recorder.js'
import { resourceDir, startApp, waitFor, type AppRequest, type ResourceDir, type TestApp } from '../helpers/forwarder.js'
import { startOtlpReceiver, tracingConfigurationYaml, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.js'

const hex = (bytes: number) => randomBytes(bytes).toString('hex')

const subscriptionYaml = `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: orders
spec:
  pubsubname: pubsub
  topic: orders
  routes:
    default: /orders
`

let broker: EmbeddedBroker
let receiver: OtlpReceiver

beforeAll(async () => {
  broker = await startEmbeddedBroker({ port: 0 })
  receiver = await startOtlpReceiver()
})

afterAll(async () => {
  await closeAllPubsubClients()
  await receiver?.close()
  await broker?.close()
})

async function startServe(dir: string): Promise<{ serve: LongRunning; url: string }> {
  const serve = startCli(['serve', '--resources-path', dir, '--app-id', 'shop', '--port', '0'])
  const [, url] = await serve.waitFor(/Dapr publish API on (http:\/\/\S+)/)
  return { serve, url: url as string }
}

function publish(url: string, headers: Record<string, string>, body: unknown): Promise<Response> {
  return fetch(`${url}/v1.0/publish/pubsub/orders`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
}

const one = (spans: ReceivedSpan[], predicate: (s: ReceivedSpan) => boolean, what: string): ReceivedSpan => {
  const found = spans.filter(predicate)
  expect(found, what).toHaveLength(1)
  return found[0] as ReceivedSpan
}

describe('a message published over HTTP and delivered through the forwarder: one trace', () => {
  let dir: ResourceDir
  let app: TestApp
  const deliveries = () => app.requests.filter((r) => r.path === '/orders')

  beforeAll(async () => {
    dir = await resourceDir()
    await dir.write('pubsub.yaml', pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1', consumerID: 'traced-fwd', cleanSession: 'false' } }))
    await dir.write('subscription.yaml', subscriptionYaml)
    await dir.write('configuration.yaml', tracingConfigurationYaml(receiver))
    // The first attempt is asked to be retried: a retry event, and a second client span.
    app = await startApp((req) => {
      if (req.path !== '/orders') return {}
      return deliveries().length === 1 ? { body: { status: 'RETRY' } } : { body: { status: 'SUCCESS' } }
    })
  })

  afterAll(async () => {
    await app?.close()
    await dir?.remove()
  })

  it('caller → server → producer → consumer → client per attempt, and the app sees its client span as traceparent', async () => {
    const traceId = hex(16)
    const callerSpanId = hex(8)
    const forwarder = await startForwarder({ resourcesPath: dir.dir, appId: 'orders-app', appUrl: app.url, port: false, logLevel: 'silent' })
    let serve: LongRunning | undefined
    try {
      const started = await startServe(dir.dir)
      serve = started.serve
      expect(serve.output()).toContain('tracing: Configuration tracing (samplingRate 1)')
      const response = await publish(started.url, { traceparent: `00-${traceId}-${callerSpanId}-01`, tracestate: 'vendor=abc' }, { orderId: 1 })
      expect(response.status).toBe(204)
      await waitFor(() => deliveries().length >= 2, 20_000, 'two delivery attempts')
    } finally {
      // Stopping exports what the batch processors still hold (bounded).
      await forwarder.stop()
      expect(await serve?.stop('SIGINT')).toBe(0)
    }
    await receiver.waitFor((spans) => spans.filter((s) => s.traceId === traceId).length >= 5)

    const spans = receiver.spans.filter((s) => s.traceId === traceId)
    const server = one(spans, (s) => s.kind === 'server', 'one server span')
    const producer = one(spans, (s) => s.kind === 'producer', 'one producer span')
    const consumer = one(spans, (s) => s.kind === 'consumer', 'one consumer span')
    const clients = spans.filter((s) => s.kind === 'client').sort((a, b) => (a.startNs < b.startNs ? -1 : 1))
    expect(spans).toHaveLength(5)
    expect(clients).toHaveLength(2)

    expect(server).toMatchObject({ service: 'shop', name: 'POST /v1.0/publish/{pubsubname}/{topic}', parentSpanId: callerSpanId })
    expect(server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/v1.0/publish/{pubsubname}/{topic}', 'http.response.status_code': 204 })
    expect(producer).toMatchObject({ service: 'shop', name: 'publish orders', parentSpanId: server.spanId })
    expect(producer.attributes).toMatchObject({ 'messaging.system': 'mqtt', 'messaging.destination.name': 'orders', 'mqttfn.pubsub': 'pubsub' })
    expect(consumer).toMatchObject({ service: 'orders-app', name: 'process orders', parentSpanId: producer.spanId })
    expect(consumer.attributes).toMatchObject({ 'messaging.destination.name': 'orders', 'messaging.message.id': producer.attributes['messaging.message.id'], 'mqttfn.acked': true })
    expect(consumer.events.map((e) => e.name)).toEqual(['retry'])
    for (const [i, client] of clients.entries()) {
      expect(client).toMatchObject({ service: 'orders-app', parentSpanId: consumer.spanId })
      expect(client.name).toMatch(/^deliver /)
      expect(client.attributes).toMatchObject({ 'mqttfn.target.kind': 'http', 'mqttfn.delivery.attempt': i + 1, 'mqttfn.outcome': i === 0 ? 'retry' : 'success' })
    }
    expect(clients.map((c) => c.status)).toEqual([2, 0])
    // In order: each starts after its parent.
    const order = [server, producer, consumer, ...clients].map((s) => s.startNs)
    expect([...order].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(order)

    // On the wire: the CloudEvent carries the producer span; the app's header is the attempt's client span.
    const [first, second] = deliveries() as [AppRequest, AppRequest]
    expect((first.json as Record<string, unknown>).traceparent).toBe(`00-${traceId}-${producer.spanId}-01`)
    expect((first.json as Record<string, unknown>).tracestate).toBe('vendor=abc')
    expect(first.headers.traceparent).toBe(`00-${traceId}-${clients[0]?.spanId}-01`)
    expect(second.headers.traceparent).toBe(`00-${traceId}-${clients[1]?.spanId}-01`)
    expect(first.headers.tracestate).toBe('vendor=abc')
    expect(receiver.requests.every((r) => r.path === '/v1/traces' && r.contentType.startsWith('application/json'))).toBe(true)
  })

  it('a caller without traceparent starts a new trace at the publish API', async () => {
    const before = deliveries().length
    const { serve, url } = await startServe(dir.dir)
    try {
      expect((await publish(url, {}, { orderId: 2 })).status).toBe(204)
    } finally {
      expect(await serve.stop('SIGINT')).toBe(0)
    }
    await receiver.waitFor((spans) => spans.some((s) => s.kind === 'server' && s.parentSpanId === '' && s.service === 'shop'))
    const root = receiver.spans.find((s) => s.kind === 'server' && s.parentSpanId === '') as ReceivedSpan
    const producer = one(receiver.spans, (s) => s.traceId === root.traceId && s.kind === 'producer', 'its producer span')
    expect(producer.parentSpanId).toBe(root.spanId)
    expect(deliveries().length).toBe(before)
  })
})

describe('without a tracing Configuration', () => {
  it('serve says nothing of tracing and passes the caller\'s traceparent through, as before', async () => {
    const dir = await resourceDir()
    const recorderTopic = `plain/${hex(4)}`
    try {
      await dir.write('pubsub.yaml', pubsubYaml({ name: 'pubsub', url: broker.url }))
      await dir.write('configuration.yaml', tracingConfigurationYaml(receiver, 'off', '0'))
      const exports = receiver.requests.length
      const { serve, url } = await startServe(dir.dir)
      const recorder = await recordTopics(broker.url, recorderTopic)
      try {
        const traceparent = `00-${hex(16)}-${hex(8)}-01`
        const got = recorder.next((m) => m.topic === recorderTopic)
        const response = await fetch(`${url}/v1.0/publish/pubsub/${recorderTopic}`, { method: 'POST', headers: { 'content-type': 'application/json', traceparent }, body: '{"n":1}' })
        expect(response.status).toBe(204)
        expect(JSON.parse((await got).payload.toString()).traceparent).toBe(traceparent)
      } finally {
        await recorder.close()
        expect(await serve.stop('SIGINT')).toBe(0)
      }
      expect(serve.output()).not.toContain('tracing:')
      expect(receiver.requests.length).toBe(exports)
    } finally {
      await dir.remove()
    }
  })
})

function lambdaContext(): Context {
  const deadline = Date.now() + 30_000
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'mine',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:mine',
    memoryLimitInMB: '128',
    awsRequestId: 'req-1',
    logGroupName: '/aws/lambda/mine',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  }
}

describe("a user's Lambda handler with pubsubMiddleware", () => {
  it('its publish spans are at the receiver when the invocation returns', async () => {
    const dir = await resourceDir()
    try {
      await dir.write('pubsub.yaml', pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }))
      await dir.write('configuration.yaml', tracingConfigurationYaml(receiver, 'lambda'))
      const topic = `lambda/${hex(4)}`
      const handler = middy<{ n: number }, { published: boolean }, Error, Context>()
        .use(pubsubMiddleware({ resourcesPath: dir.dir, appId: 'my-lambda' }))
        .handler(async (input, context) => {
          const { error } = await context.pubsub.publish('pubsub', topic, { n: input.n })
          return { published: error === undefined }
        })
      expect(await handler({ n: 1 }, lambdaContext() as PubsubContext)).toEqual({ published: true })
      // No wait: the middleware flushed before the invocation returned.
      const producer = one(receiver.spans, (s) => s.service === 'my-lambda' && s.kind === 'producer' && s.name === `publish ${topic}`, 'the publish span')
      const server = one(receiver.spans, (s) => s.spanId === producer.parentSpanId, 'its parent')
      expect(server).toMatchObject({ service: 'my-lambda', kind: 'server', traceId: producer.traceId })
    } finally {
      await dir.remove()
    }
  })
})
