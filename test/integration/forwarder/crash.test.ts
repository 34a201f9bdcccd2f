/**
 * Faults that cost a process: the forwarder SIGKILLed mid-stream and restarted, SIGTERM with
 * deliveries in flight, the broker restarted mid-stream. Mosquitto keeps the forwarder's
 * persistent session (cleanSession false, stable consumerID, persistence on), so nothing that
 * was not acked may be lost. The forwarder runs as `node bin/mqtt-fn.mjs forward`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startForwarder } from '../../../src/forwarder/index.js'
import { startMosquitto, type MosquittoBroker } from '../../../support/mosquitto.js'
import {
  cloudEvent,
  componentYaml,
  eventId,
  mqttClient,
  publishAll,
  resourceDir,
  spawnForwarder,
  startApp,
  waitFor,
  type ResourceDir,
  type TestApp,
} from '../../helpers/forwarder.js'

let broker: MosquittoBroker
let app: TestApp
const dirs: ResourceDir[] = []

function subscriptionYaml(topic: string): string {
  return `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: jobs
spec:
  pubsubname: mqtt
  topic: ${topic}
  routes:
    default: /jobs
`
}

async function resources(consumerID: string, topic: string): Promise<string> {
  const dir = await resourceDir()
  dirs.push(dir)
  await dir.write('pubsub.yaml', componentYaml({ url: broker.url, consumerID, extra: { keepAlive: '5', connectTimeout: '3000' } }))
  await dir.write('subscription.yaml', subscriptionYaml(topic))
  return dir.dir
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`)
const deliveredIds = (prefix: string) => new Set(app.requests.map(eventId).filter((id): id is string => !!id && id.startsWith(prefix)))

beforeAll(async () => {
  broker = await startMosquitto({ persistence: true })
  app = await startApp()
})

afterAll(async () => {
  await app?.close()
  await broker?.stop()
  for (const d of dirs) await d.remove()
})

describe('forwarder under process faults (Mosquitto with persistence)', () => {
  it('loses nothing when the forwarder is SIGKILLed mid-stream and restarted', async () => {
    const dir = await resources('fwd-kill', 'kill/#')
    app.handle(() => ({ delayMs: 5 }))
    const first = spawnForwarder(['--resources-path', dir, '--app-url', app.url, '--port', '0', '--host', '127.0.0.1', '--log-level', 'info'])
    await first.waitReady()
    const all = ids('kill', 600)
    const publisher = await mqttClient(broker.url)
    const publishing = publishAll(publisher, all.map((id) => ({ topic: 'kill/x', payload: cloudEvent(id, { id }, 'kill/x') })), 10)
    await waitFor(() => deliveredIds('kill').size >= 150, 20_000, '150 deliveries')
    first.proc.kill('SIGKILL')
    expect(await first.exited).toBe('SIGKILL')
    expect(deliveredIds('kill').size).toBeLessThan(all.length)
    await publishing
    await publisher.endAsync()
    const second = spawnForwarder(['--resources-path', dir, '--app-url', app.url, '--port', '0', '--host', '127.0.0.1'])
    try {
      await second.waitReady()
      await waitFor(() => all.every((id) => deliveredIds('kill').has(id)), 30_000, 'all 600 ids')
    } finally {
      second.proc.kill('SIGTERM')
      await second.exited
    }
  })

  it('SIGTERM: in-flight deliveries finish and are acked; what never started is redelivered, nothing else', async () => {
    const dir = await resources('fwd-term', 'term/#')
    app.handle((req) => (eventId(req)?.startsWith('term') ? { delayMs: 1500 } : {}))
    const child = spawnForwarder(['--resources-path', dir, '--app-url', app.url, '--port', '0', '--host', '127.0.0.1', '--concurrency', '4'])
    await child.waitReady()
    const all = ids('term', 10)
    const publisher = await mqttClient(broker.url)
    await publishAll(publisher, all.map((id) => ({ topic: 'term/x', payload: cloudEvent(id, { id }, 'term/x') })), 10)
    await publisher.endAsync()
    await waitFor(() => deliveredIds('term').size >= 4, 10_000, '4 deliveries in flight')
    const inFlight = [...deliveredIds('term')]
    expect(inFlight).toHaveLength(4)
    child.proc.kill('SIGTERM')
    expect(await child.exited).toBe(0)
    // The forwarder's own drain count, not a quiet period, shows no 5th delivery had started.
    expect(child.output()).toMatch(/"finished":4,"abandoned":0/)
    expect(deliveredIds('term').size).toBe(4)

    const before = app.requests.length
    app.handle(() => ({}))
    // One delivery at a time: the app sees messages in the order the broker sent them.
    const next = spawnForwarder(['--resources-path', dir, '--app-url', app.url, '--port', '0', '--host', '127.0.0.1', '--concurrency', '1'])
    try {
      await next.waitReady()
      const rest = all.filter((id) => !inFlight.includes(id))
      const afterRestart = () => new Set(app.requests.slice(before).map(eventId).filter((id) => id?.startsWith('term')))
      await waitFor(() => rest.every((id) => afterRestart().has(id)), 15_000, 'the 6 that never started')
      // A marker published now comes after anything the resumed session still held.
      const markerPublisher = await mqttClient(broker.url)
      await publishAll(markerPublisher, [{ topic: 'term/x', payload: cloudEvent('term-marker', {}, 'term/x') }])
      await markerPublisher.endAsync()
      await waitFor(() => afterRestart().has('term-marker'), 15_000, 'the marker')
      // The 4 that finished before the stop were acked: the broker does not send them again.
      for (const id of inFlight) expect(afterRestart().has(id)).toBe(false)
    } finally {
      next.proc.kill('SIGTERM')
      await next.exited
    }
  })

  it('SIGTERM past the drain bound: unfinished deliveries are not acked and come back', async () => {
    const dir = await resources('fwd-abandon', 'abandon/#')
    app.handle((req) => (eventId(req)?.startsWith('abandon') ? { delayMs: 3000 } : {}))
    const child = spawnForwarder(['--resources-path', dir, '--app-url', app.url, '--port', '0', '--host', '127.0.0.1', '--concurrency', '2', '--drain-timeout', '300'])
    await child.waitReady()
    const all = ids('abandon', 3)
    const publisher = await mqttClient(broker.url)
    await publishAll(publisher, all.map((id) => ({ topic: 'abandon/x', payload: cloudEvent(id, { id }, 'abandon/x') })))
    await publisher.endAsync()
    await waitFor(() => deliveredIds('abandon').size >= 2, 10_000, '2 deliveries in flight')
    child.proc.kill('SIGTERM')
    expect(await child.exited).toBe(1)
    expect(child.output()).toMatch(/"finished":0,"abandoned":2/)

    const before = app.requests.length
    app.handle(() => ({}))
    const next = spawnForwarder(['--resources-path', dir, '--app-url', app.url, '--port', '0', '--host', '127.0.0.1'])
    try {
      await next.waitReady()
      const afterRestart = () => new Set(app.requests.slice(before).map(eventId))
      await waitFor(() => all.every((id) => afterRestart().has(id)), 15_000, 'all 3 again')
    } finally {
      next.proc.kill('SIGTERM')
      await next.exited
    }
  })

  it('loses nothing when the broker restarts mid-stream', async () => {
    const dir = await resources('fwd-broker', 'restart/#')
    // The app holds every request until the broker has restarted: deliveries are in flight
    // (their acks will find the connection gone) and the rest is queued in the broker.
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    app.handle(async (req) => {
      if (req.path === '/dapr/subscribe') return { status: 404 }
      await gate
      return {}
    })
    const forwarder = await startForwarder({
      resourcesPath: dir,
      appUrl: app.url,
      port: false,
      logLevel: 'silent',
      clientOptions: { reconnectBaseMs: 100, reconnectMaxMs: 1000 },
    })
    try {
      await forwarder.ready
      const firstHalf = ids('restart-a', 300)
      const secondHalf = ids('restart-b', 300)
      let publisher = await mqttClient(broker.url)
      await publishAll(publisher, firstHalf.map((id) => ({ topic: 'restart/x', payload: cloudEvent(id, { id }, 'restart/x') })))
      await publisher.endAsync()
      await waitFor(() => deliveredIds('restart-a').size >= 10, 10_000, 'deliveries in flight')
      expect(deliveredIds('restart-a').size).toBeLessThan(100)
      await broker.restart()
      release()
      publisher = await mqttClient(broker.url)
      await publishAll(publisher, secondHalf.map((id) => ({ topic: 'restart/x', payload: cloudEvent(id, { id }, 'restart/x') })))
      await publisher.endAsync()
      await waitFor(() => [...firstHalf, ...secondHalf].every((id) => deliveredIds('restart').has(id)), 40_000, 'all 600 ids')
      expect(await forwarder.metrics.total('received')).toBeGreaterThanOrEqual(600)
    } finally {
      release()
      await forwarder.stop()
    }
  }, 60_000)
})
