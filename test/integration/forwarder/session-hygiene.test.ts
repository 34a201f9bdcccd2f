/**
 * Issue 17, items 1 and 2, against Mosquitto with its default 20-message in-flight window:
 * - a Subscription removed between two runs of a persistent session must not stall the others
 *   (its filter is unsubscribed at start, what still arrives for it is acked as unrouted);
 * - undecodable messages without a dead-letter topic must not stop the forwarder (dropped,
 *   counted, no connection renewals), while another subscription keeps flowing.
 */
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MqttClient } from 'mqtt'
import { startForwarder, type Forwarder } from '../../../src/forwarder/index.js'
import { createLogger } from '../../../src/forwarder/logger.js'
import { startMosquitto, type MosquittoBroker } from '../../../support/mosquitto.js'
import { cloudEvent, collect, componentYaml, eventId, mqttClient, publishAll, resourceDir, startApp, waitFor, type TestApp } from '../../helpers/forwarder.js'
import { uniqueId } from '../../helpers/factories.js'

function subscription(name: string, topic: string, route: string, extra = ''): string {
  return `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: ${name}
spec:
  pubsubname: mqtt
  topic: ${topic}
  routes:
    default: ${route}
${extra}---
`
}

let broker: MosquittoBroker
let app: TestApp
let publisher: MqttClient
const running: Forwarder[] = []

beforeAll(async () => {
  // Mosquitto's default in-flight window (20), which un-acked messages used to fill.
  broker = await startMosquitto({ extraConfig: ['max_inflight_messages 20'] })
  app = await startApp((req) => (req.path === '/dapr/subscribe' ? { status: 404 } : { body: { status: 'SUCCESS' } }))
  publisher = await mqttClient(broker.url)
})
afterAll(async () => {
  for (const f of running) await f.stop()
  await publisher?.endAsync()
  await app?.close()
  await broker?.stop()
})

async function forwarder(dir: string, options: Parameters<typeof startForwarder>[0] = {}): Promise<Forwarder> {
  const f = await startForwarder({ resourcesPath: dir, appUrl: app.url, port: 0, logLevel: 'silent', processMetrics: false, ...options })
  running.push(f)
  await f.ready
  await f.sessionTidied
  return f
}

const idsOn = (path: string, prefix = '') => new Set(app.requests.filter((r) => r.path === path).map(eventId).filter((id) => id?.startsWith(prefix)))

describe('a Subscription removed between two runs of a persistent session', () => {
  it.each([
    ['MQTT 3.1.1', {}],
    ['MQTT 5', { protocolVersion: '5', sessionExpiryInterval: '3600' }],
  ])('%s: is unsubscribed at start; what the broker queued for it is acked as unrouted; the other subscription keeps its stream', async (_version, extra: Record<string, string>) => {
    const consumerID = uniqueId('hyg')
    const a = `a-${consumerID}`
    const b = `b-${consumerID}`
    const dir = await resourceDir()
    await dir.write('pubsub.yaml', componentYaml({ url: broker.url, consumerID, cleanSession: false, extra }))
    await dir.write('subs.yaml', subscription('a', `${a}/#`, '/a') + subscription('b', `${b}/#`, '/b'))
    const first = await forwarder(dir.dir)
    await first.stop()

    // Delete the b Subscription while the forwarder is down; the broker queues b's messages.
    await dir.write('subs.yaml', subscription('a', `${a}/#`, '/a'))
    await publishAll(publisher, Array.from({ length: 50 }, (_, i) => ({ topic: `${b}/x`, payload: cloudEvent(`${consumerID}-b-${i}`, { i }, `${b}/x`) })))

    const second = await forwarder(dir.dir)
    expect(await second.metrics.total('sessionUnsubscribed')).toBe(1)
    await waitFor(async () => (await second.metrics.total('unrouted')) === 50, 20_000, `the 50 queued b messages acked as unrouted (got ${await second.metrics.total('unrouted')})`)

    const total = 500
    await publishAll(publisher, Array.from({ length: total }, (_, i) => ({ topic: `${a}/x`, payload: cloudEvent(`${consumerID}-a-${i}`, { i }, `${a}/x`) })))
    await waitFor(() => idsOn('/a', consumerID).size === total, 60_000, `all ${total} a messages (got ${idsOn('/a', consumerID).size})`)
    expect(idsOn('/b', consumerID).size).toBe(0)

    // The broker no longer routes b/x to this session: b messages published before a marker
    // on a/x would have reached the forwarder before the marker.
    await publishAll(publisher, Array.from({ length: 10 }, (_, i) => ({ topic: `${b}/x`, payload: cloudEvent(`${consumerID}-b-late-${i}`, {}, `${b}/x`) })))
    await publisher.publishAsync(`${a}/x`, cloudEvent(`${consumerID}-marker`, {}, `${a}/x`), { qos: 1 })
    await waitFor(() => idsOn('/a', consumerID).has(`${consumerID}-marker`), 10_000, 'the marker')
    expect(await second.metrics.total('unrouted')).toBe(50)
    await dir.remove()
  })

  it('a broker that refuses the ledger topic: one warning naming the setting, and the forwarder runs as before', async () => {
    const guarded = await startMosquitto({ acl: ['topic readwrite guarded/#', 'topic readwrite other/#'] })
    const consumerID = uniqueId('noledger')
    const dir = await resourceDir()
    await dir.write('pubsub.yaml', componentYaml({ url: guarded.url, consumerID, cleanSession: false }))
    await dir.write('subs.yaml', subscription('g', 'guarded/#', '/guarded'))
    const lines: string[] = []
    const logger = createLogger('info', new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }))
    const f = await forwarder(dir.dir, { logger })
    const pub = await mqttClient(guarded.url)
    try {
      await pub.publishAsync('guarded/x', cloudEvent('g-1', {}, 'guarded/x'), { qos: 1 })
      await waitFor(() => idsOn('/guarded').has('g-1'), 10_000, 'delivery')
      await f.sessionTidied
      const warnings = lines.filter((l) => l.includes('sessionLedgerTopic'))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toContain('could not write the session ledger')
      expect(await f.metrics.total('sessionUnsubscribed')).toBe(0)
    } finally {
      await pub.endAsync()
      await f.stop()
      await guarded.stop()
      await dir.remove()
    }
  })
})

describe('undecodable messages without a dead-letter topic', () => {
  it('are dropped and counted; both subscriptions keep flowing; no connection renewal; /readyz 200', async () => {
    const consumerID = uniqueId('poison')
    const p1 = `p1-${consumerID}`
    const p2 = `p2-${consumerID}`
    const dir = await resourceDir()
    await dir.write('pubsub.yaml', componentYaml({ url: broker.url, consumerID, cleanSession: false }))
    await dir.write('subs.yaml', subscription('p1', `${p1}/#`, '/p1') + subscription('p2', `${p2}/#`, '/p2', `  deadLetterTopic: ${p2}-dead\n`))
    const dead = await collect(broker.url, `${p2}-dead`)
    const f = await forwarder(dir.dir)
    await publishAll(publisher, Array.from({ length: 25 }, (_, i) => ({ topic: `${p1}/poison`, payload: `garbage ${i}` })))
    await publishAll(publisher, [
      ...Array.from({ length: 20 }, (_, i) => ({ topic: `${p1}/good`, payload: cloudEvent(`p1-${i}`, { i }, `${p1}/good`) })),
      ...Array.from({ length: 20 }, (_, i) => ({ topic: `${p2}/good`, payload: cloudEvent(`p2-${i}`, { i }, `${p2}/good`) })),
    ])
    await waitFor(() => idsOn('/p1').size === 20 && idsOn('/p2').size === 20, 20_000, 'all 40 good events')
    await waitFor(async () => (await f.metrics.total('dropped', { subscription: 'p1', reason: 'undecodable' })) === 25, 10_000, '25 dropped')
    expect(await f.metrics.total('unacked')).toBe(0)
    expect(await f.metrics.total('deadLettered')).toBe(0)
    expect(dead.messages).toHaveLength(0)
    const metrics = await f.metrics.text()
    expect(metrics).not.toMatch(/mqttfn_forwarder_reconnects_total\{pubsub="mqtt"\} [1-9]/)
    expect((await fetch(`http://127.0.0.1:${f.healthPort}/readyz`)).status).toBe(200)
    await dead.close()
    await dir.remove()
  }, 90_000)
})

describe('given-back messages that fail on every redelivery', () => {
  it('renewals back off, /readyz says the stream is not moving, and recovers once the app does', async () => {
    const consumerID = uniqueId('stall')
    const topic = `stall-${consumerID}`
    const dir = await resourceDir()
    await dir.write('pubsub.yaml', componentYaml({ url: broker.url, consumerID, cleanSession: false }))
    await dir.write('subs.yaml', subscription('s', `${topic}/#`, '/stall'))
    let failing = true
    const stallApp = await startApp((req) => (req.path === '/dapr/subscribe' ? { status: 404 } : failing ? { status: 500 } : { body: { status: 'SUCCESS' } }))
    const f = await startForwarder({
      resourcesPath: dir.dir,
      appUrl: stallApp.url,
      port: 0,
      logLevel: 'silent',
      processMetrics: false,
      retryPolicy: { policy: 'constant', maxRetries: 0, initialIntervalMs: 1, maxIntervalMs: 1, multiplier: 1, randomizationFactor: 0 },
      clientOptions: { renewAfterReleased: 1, renewAfterReleaseMs: 1000, renewBackoffBaseMs: 100 },
    })
    running.push(f)
    await f.ready
    await publisher.publishAsync(`${topic}/x`, cloudEvent('stuck', {}, `${topic}/x`), { qos: 1 })
    const readyz = () => fetch(`http://127.0.0.1:${f.healthPort}/readyz`)
    let body = ''
    await waitFor(async () => {
      const r = await readyz()
      body = await r.text()
      if (r.status === 200) return false
      return body.includes('renewed')
    }, 20_000, '/readyz 503 naming the renewals')
    expect(body).toContain('pubsub mqtt')
    // Each renewal's attempt reached the app; with the backoff they are spread out (100, 200, 400 ms ...).
    const attempts = stallApp.requests.length
    expect(attempts).toBeGreaterThanOrEqual(3)
    failing = false
    await waitFor(async () => (await f.metrics.total('delivered')) === 1, 20_000, 'delivered once the app recovered')
    await waitFor(async () => (await readyz()).status === 200, 20_000, '/readyz 200 again after a quiet spell')
    await stallApp.close()
    await dir.remove()
  }, 90_000)
})
