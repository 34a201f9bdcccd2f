/**
 * Issue 15, delivery half: a real @dapr/dapr app in gRPC mode (DaprServer: ConnectRPC's
 * AppCallback on HTTP/2) whose "sidecar" is mqtt-fn: the gRPC API for publishing and for the
 * SDK's GetMetadata at start, and `mqtt-fn forward --app-protocol grpc` for delivery. The
 * app's programmatic subscriptions come from ListTopicSubscriptions: a plain one, one with a
 * dead-letter topic, a bulk one. Then the forwarder is SIGKILLed in the middle of a stream and
 * restarted: nothing is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CommunicationProtocolEnum, DaprClient, DaprPubSubStatusEnum, DaprServer, LogLevel } from '@dapr/dapr'
import { loadResources } from '../../../src/core/resources/index.js'
import { createPublishApi } from '../../../src/http/index.js'
import { startGrpcServer, type GrpcServer } from '../../../src/grpc/index.js'
import { closeAllPubsubClients } from '../../../src/core/pubsub/index.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { startForwarder, type Forwarder } from '../../../src/forwarder/index.js'
import { getFreePort } from '../../../support/ports.js'
import { componentYaml, resourceDir, spawnForwarder, waitFor, type ResourceDir } from '../../helpers/forwarder.js'

let broker: EmbeddedBroker
let dir: ResourceDir
let sidecar: GrpcServer
let server: DaprServer
let client: DaprClient
let forwarder: Forwarder
let appPort: number

const orders: unknown[] = []
const payments: unknown[] = []
const paymentsDead: unknown[] = []
const bulk: unknown[] = []
const stream: number[] = []

beforeAll(async () => {
  broker = await startEmbeddedBroker()
  dir = await resourceDir()
  await dir.write('pubsub.yaml', componentYaml({ url: broker.url, consumerID: 'fwd-dapr-grpc' }))
  const resources = await loadResources(dir.dir, { appId: 'shop' })
  sidecar = await startGrpcServer({ publishApi: createPublishApi({ resources, appId: 'shop' }), port: 0 })

  appPort = await getFreePort()
  const logger = { level: LogLevel.Error }
  const daprClientOptions = { daprHost: '127.0.0.1', daprPort: String(sidecar.port), communicationProtocol: CommunicationProtocolEnum.GRPC, logger }
  server = new DaprServer({ serverHost: '127.0.0.1', serverPort: String(appPort), communicationProtocol: CommunicationProtocolEnum.GRPC, clientOptions: daprClientOptions, logger })
  await server.pubsub.subscribe('mqtt', 'orders', async (data: unknown) => {
    orders.push(data)
  })
  await server.pubsub.subscribeWithOptions('mqtt', 'payments', {
    callback: async (data: unknown) => {
      payments.push(data)
      return (data as { amount: number }).amount < 0 ? DaprPubSubStatusEnum.DROP : DaprPubSubStatusEnum.SUCCESS
    },
    deadLetterTopic: 'payments-dead',
  })
  await server.pubsub.subscribe('mqtt', 'payments-dead', async (data: unknown) => {
    paymentsDead.push(data)
  })
  await server.pubsub.subscribeBulk('mqtt', 'metrics', async (data: unknown) => void bulk.push(data), { maxMessagesCount: 5, maxAwaitDurationMs: 200 })
  await server.pubsub.subscribe('mqtt', 'stream', async (data: unknown) => {
    stream.push((data as { n: number }).n)
  })
  await server.start()
  client = new DaprClient(daprClientOptions)

  forwarder = await startForwarder({ resources, appId: 'shop', appUrl: `grpc://127.0.0.1:${appPort}`, appProtocol: 'grpc', port: false, logLevel: 'silent' })
  await forwarder.ready
}, 60_000)

afterAll(async () => {
  await forwarder?.stop()
  await client?.stop()
  await server?.stop()
  await sidecar?.close()
  await closeAllPubsubClients()
  await broker?.close()
  await dir?.remove()
})

describe('@dapr/dapr DaprServer (gRPC) behind mqtt-fn (gRPC API + forward --app-protocol grpc)', () => {
  it('takes the app\'s subscriptions from ListTopicSubscriptions: plain, with a dead-letter topic, bulk', () => {
    const byTopic = Object.fromEntries(forwarder.subscriptions.map((s) => [s.topic, s]))
    expect(Object.keys(byTopic).sort()).toEqual(['metrics', 'orders', 'payments', 'payments-dead', 'stream'])
    expect(byTopic.payments?.deadLetterTopic).toBe('payments-dead')
    expect(byTopic.metrics?.bulk).toEqual({ maxMessagesCount: 5, maxAwaitDurationMs: 200 })
    // The SDK's generated route, which OnTopicEvent must carry back as `path`.
    expect(byTopic.orders?.rules[0]?.path).toMatch(/^\/?mqtt--orders--default$/)
    expect(byTopic.orders?.rules[0]?.target.kind).toBe('grpc')
  })

  it('delivers what DaprClient publishes over gRPC to the SDK handler (OnTopicEvent)', async () => {
    expect(await client.pubsub.publish('mqtt', 'orders', { orderId: 42 })).toEqual({})
    await waitFor(() => orders.length === 1, 10_000, 'order delivered')
    expect(orders[0]).toEqual({ orderId: 42 })
    await waitFor(async () => (await forwarder.metrics.total('delivered', { subscription: 'app:mqtt/orders' })) === 1, 5_000, 'acked')
  })

  it('a handler that answers DROP sends the event to the dead-letter topic, which the app receives', async () => {
    await client.pubsub.publish('mqtt', 'payments', { amount: 10 })
    await client.pubsub.publish('mqtt', 'payments', { amount: -1 })
    await waitFor(() => payments.length === 2 && paymentsDead.length === 1, 10_000, 'payments and a dead letter')
    expect(paymentsDead[0]).toEqual({ amount: -1 })
    expect(await forwarder.metrics.total('deadLettered', { subscription: 'app:mqtt/payments' })).toBe(1)
    // The dead letter reached the handler of its own topic, not just an SDK that answered SUCCESS.
    await waitFor(async () => (await forwarder.metrics.total('delivered', { subscription: 'app:mqtt/payments-dead' })) === 1, 5_000, 'dead letter acked')
  })

  it('a bulk subscription gets OnBulkTopicEventAlpha1 and every entry is acked by its status', async () => {
    const res = await client.pubsub.publishBulk('mqtt', 'metrics', Array.from({ length: 7 }, (_, i) => ({ i })))
    expect(res.failedMessages).toEqual([])
    await waitFor(() => bulk.length === 7, 10_000, 'seven bulk entries handled')
    expect(bulk.map((d) => (d as { i: number }).i).sort()).toEqual([0, 1, 2, 3, 4, 5, 6])
    await waitFor(async () => (await forwarder.metrics.total('delivered', { subscription: 'app:mqtt/metrics' })) === 7, 5_000, 'seven acked')
    expect(await forwarder.metrics.total('unacked')).toBe(0)
  })

  it('mqtt-fn forward --app-protocol grpc, SIGKILLed in the middle of a stream and restarted: nothing lost', async () => {
    // The in-process forwarder hands the session over to the CLI's.
    await forwarder.stop()
    const args = ['--resources-path', dir.dir, '--app-id', 'shop', '--app-url', `127.0.0.1:${appPort}`, '--app-protocol', 'grpc', '--port', '0']
    const first = spawnForwarder(args)
    await first.waitReady()
    const total = 300
    const publishing = (async () => {
      for (let n = 0; n < total; n++) await client.pubsub.publish('mqtt', 'stream', { n })
    })()
    await waitFor(() => new Set(stream).size >= 50, 20_000, 'the first deliveries')
    first.proc.kill('SIGKILL')
    await first.exited
    const second = spawnForwarder(args)
    try {
      await second.waitReady()
      await publishing
      await waitFor(() => new Set(stream).size === total, 60_000, `all ${total} (have ${new Set(stream).size})`)
      expect([...new Set(stream)].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, i) => i))
    } finally {
      second.proc.kill('SIGTERM')
      await second.exited
    }
  }, 120_000)
})
