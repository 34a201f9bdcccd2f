/**
 * A real @dapr/dapr app (DaprServer over HTTP, Express inside) whose "sidecar" is mqtt-fn:
 * `mqtt-fn serve`'s publish API for publishing and the forwarder for delivery. The app's
 * programmatic subscriptions come from its `GET /dapr/subscribe`: a plain one, one with a
 * dead-letter topic (the app also subscribes to that topic, as the SDK requires) and a bulk one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CommunicationProtocolEnum, DaprClient, DaprPubSubStatusEnum, DaprServer, LogLevel } from '@dapr/dapr'
import { loadResources } from '../../../src/core/resources/index.js'
import { startHttpServer, type HttpServer } from '../../../src/http/node-server.js'
import { createPublishApi } from '../../../src/http/index.js'
import { closeAllPubsubClients } from '../../../src/core/pubsub/index.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { startForwarder, type Forwarder } from '../../../src/forwarder/index.js'
import { getFreePort } from '../../../support/ports.js'
import { componentYaml, resourceDir, waitFor, type ResourceDir } from '../../helpers/forwarder.js'

let broker: EmbeddedBroker
let dir: ResourceDir
let sidecar: HttpServer
let server: DaprServer
let client: DaprClient
let forwarder: Forwarder

const orders: unknown[] = []
const payments: unknown[] = []
const paymentsDead: unknown[] = []
const pendingBulk: unknown[] = []

beforeAll(async () => {
  broker = await startEmbeddedBroker()
  dir = await resourceDir()
  await dir.write('pubsub.yaml', componentYaml({ url: broker.url, consumerID: 'fwd-dapr-sdk' }))
  const resources = await loadResources(dir.dir, { appId: 'shop' })
  sidecar = await startHttpServer(createPublishApi({ resources, appId: 'shop' }))

  const appPort = await getFreePort()
  const logger = { level: LogLevel.Error }
  server = new DaprServer({
    serverHost: '127.0.0.1',
    serverPort: String(appPort),
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    clientOptions: { daprHost: '127.0.0.1', daprPort: String(sidecar.port), logger },
    logger,
  })
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
  await server.pubsub.subscribeBulk(
    'mqtt',
    'metrics',
    async (data: unknown) => {
      pendingBulk.push(data)
    },
    { maxMessagesCount: 5, maxAwaitDurationMs: 200 },
  )
  await server.start()
  client = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(sidecar.port), communicationProtocol: CommunicationProtocolEnum.HTTP, logger })

  forwarder = await startForwarder({ resources, appId: 'shop', appUrl: `http://127.0.0.1:${appPort}`, port: false, logLevel: 'silent' })
  await forwarder.ready
}, 60_000)

afterAll(async () => {
  await forwarder?.stop()
  await server?.stop()
  await sidecar?.close()
  await closeAllPubsubClients()
  await broker?.close()
  await dir?.remove()
})

describe('@dapr/dapr DaprServer behind mqtt-fn (serve + forward)', () => {
  it('takes the SDK app subscriptions: plain, with a dead-letter topic, bulk', () => {
    const byTopic = Object.fromEntries(forwarder.subscriptions.map((s) => [s.topic, s]))
    expect(Object.keys(byTopic).sort()).toEqual(['metrics', 'orders', 'payments', 'payments-dead'])
    expect(byTopic.payments?.deadLetterTopic).toBe('payments-dead')
    expect(byTopic.metrics?.bulk).toEqual({ maxMessagesCount: 5, maxAwaitDurationMs: 200 })
    expect(byTopic.orders?.source.origin).toBe('app')
  })

  it('delivers what DaprClient publishes to the SDK handler', async () => {
    const response = await client.pubsub.publish('mqtt', 'orders', { orderId: 42 })
    expect(response.error).toBeUndefined()
    await waitFor(() => orders.length === 1, 10_000, 'order delivered')
    expect(orders[0]).toEqual({ orderId: 42 })
  })

  it('a handler that answers DROP sends the event to the dead-letter topic, which the app receives', async () => {
    await client.pubsub.publish('mqtt', 'payments', { amount: 10 })
    await client.pubsub.publish('mqtt', 'payments', { amount: -1 })
    await waitFor(() => payments.length === 2 && paymentsDead.length === 1, 10_000, 'payments and a dead letter')
    expect(paymentsDead[0]).toEqual({ amount: -1 })
    expect(await forwarder.metrics.total('deadLettered', { subscription: 'app:mqtt/payments' })).toBe(1)
  })

  it('a bulk subscription gets the bulk envelope and every entry is acked by its status', async () => {
    for (let i = 0; i < 7; i++) await client.pubsub.publish('mqtt', 'metrics', { i })
    await waitFor(() => pendingBulk.length === 7, 10_000, 'seven bulk entries handled')
    expect(pendingBulk.map((d) => (d as { i: number }).i).sort()).toEqual([0, 1, 2, 3, 4, 5, 6])
    await waitFor(async () => (await forwarder.metrics.total('delivered', { subscription: 'app:mqtt/metrics' })) === 7, 5_000, 'seven acked')
    expect(await forwarder.metrics.total('unacked')).toBe(0)
  })
})
