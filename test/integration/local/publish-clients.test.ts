import mqtt from 'mqtt'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { PubsubComponent } from '../../../src/core/resources/types.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { PublishClients } from '../../../src/local/publish-clients.js'
import { mqttMetadata } from '../../helpers/factories.js'
import { startTcpProxy, type TcpProxy } from '../../helpers/proxy.js'

function component(url: string, publishTimeout = 3000): PubsubComponent {
  return {
    kind: 'Component',
    name: 'pubsub',
    type: 'pubsub.mqtt',
    file: 'pubsub.yaml',
    document: 1,
    metadata: mqttMetadata({ url, qos: 1, publishTimeout }),
    runtime: {},
    scopes: [],
    raw: {},
  } as PubsubComponent
}

describe('PublishClients (mqtt-fn dev reload): one generation of publish clients', () => {
  let broker: EmbeddedBroker
  let proxy: TcpProxy

  beforeAll(async () => {
    broker = await startEmbeddedBroker()
    proxy = await startTcpProxy({ port: broker.port })
  })
  afterAll(async () => {
    await proxy.close()
    await broker.close()
  })

  it('retire lets a publish in flight finish on its client, then closes it', async () => {
    const watcher = await mqtt.connectAsync(broker.url)
    const received: string[] = []
    watcher.on('message', (_t, body) => received.push(body.toString()))
    await watcher.subscribeAsync('reload/in-flight', { qos: 1 })
    const seen: string[] = []
    const clients = new PublishClients((_c, topic) => seen.push(topic))
    const handle = clients.get(component(proxy.url('mqtt')))
    await handle.publish('reload/in-flight', Buffer.from('first'))
    // The PUBACK of the next publish is held back while the generation retires.
    proxy.pauseDownstream()
    const inFlight = handle.publish('reload/in-flight', Buffer.from('second'))
    await vi.waitFor(() => expect(clients.inFlight).toBe(1))
    const retired = clients.retire(5_000)
    setTimeout(() => proxy.resumeDownstream(), 200)
    await expect(inFlight).resolves.toBeUndefined()
    await retired
    expect(clients.inFlight).toBe(0)
    expect(seen).toEqual(['reload/in-flight', 'reload/in-flight'])
    await expect(handle.publish('reload/in-flight', Buffer.from('late'))).rejects.toThrow(/closed/)
    await vi.waitFor(() => expect(received).toEqual(['first', 'second']))
    await watcher.endAsync()
  })

  it('retire is bounded when a publish never gets its PUBACK', async () => {
    const clients = new PublishClients()
    const handle = clients.get(component(proxy.url('mqtt'), 10_000))
    await handle.publish('reload/stuck', Buffer.from('warm-up'))
    proxy.pauseDownstream()
    const stuck = handle.publish('reload/stuck', Buffer.from('never acked'))
    stuck.catch(() => {})
    await new Promise((r) => setTimeout(r, 50))
    const started = Date.now()
    await clients.retire(300)
    expect(Date.now() - started).toBeLessThan(5_000)
    await expect(stuck).rejects.toThrow()
    proxy.resumeDownstream()
  })
})
