/**
 * Network faults and scale-out: the broker connection cut for 5 s through a TCP proxy (a
 * black hole, then refused connections) must lose nothing; two forwarders in one `$share`
 * group split a stream and together deliver every message. Mosquitto, HTTP apps on loopback.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { startForwarder, type Forwarder } from '../../../src/forwarder/index.js'
import {
  cloudEvent,
  componentYaml,
  eventId,
  brokerSuite,
  publishAll,
  resourceDir,
  startApp,
  startTcpProxy,
  waitFor,
  type ResourceDir,
  type TcpProxy,
  type TestApp,
} from '../../helpers/forwarder.js'

const suite = brokerSuite('mosquitto')

async function forwarderFor(opts: { url: string; consumerID: string; topic: string; app: TestApp }): Promise<Forwarder> {
  const dir: ResourceDir = await resourceDir()
  suite.defer(() => dir.remove())
  await dir.write(
    'pubsub.yaml',
    componentYaml({ url: opts.url, consumerID: opts.consumerID, extra: { keepAlive: '1', connectTimeout: '1500', publishTimeout: '1500' } }),
  )
  await dir.write(
    'subscription.yaml',
    `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: work
spec:
  pubsubname: mqtt
  topic: ${opts.topic}
  routes:
    default: /work
`,
  )
  const forwarder = await startForwarder({
    resourcesPath: dir.dir,
    appUrl: opts.app.url,
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    clientOptions: { reconnectBaseMs: 100, reconnectMaxMs: 800, watchdogGraceMs: 500 },
  })
  suite.defer(() => forwarder.stop())
  await forwarder.ready
  return forwarder
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`)
const events = (topic: string, list: string[]) => list.map((id) => ({ topic, payload: cloudEvent(id, { id }, topic) }))
const seen = (app: TestApp) => new Set(app.requests.map(eventId))
const readyz = async (f: Forwarder) => (await fetch(`http://127.0.0.1:${f.healthPort}/readyz`)).status

describe('forwarder under network faults', () => {
  let proxy: TcpProxy
  let app: TestApp
  let forwarder: Forwarder

  beforeAll(async () => {
    proxy = await startTcpProxy(suite.port)
    suite.defer(() => proxy.close())
    app = await startApp()
    suite.defer(() => app.close())
    forwarder = await forwarderFor({ url: `mqtt://127.0.0.1:${proxy.port}`, consumerID: 'fwd-net', topic: 'net/#', app })
  })

  for (const cut of ['blackhole', 'refused'] as const) {
    it(`reconnects after a 5 s cut (${cut}) and loses nothing`, async () => {
      const before = ids(`${cut}-a`, 100)
      const during = ids(`${cut}-b`, 100)
      const after = ids(`${cut}-c`, 100)
      await publishAll(suite.publisher, events('net/x', before))
      await waitFor(() => before.every((id) => seen(app).has(id)), 10_000, 'first batch')
      const cutAt = Date.now()
      if (cut === 'blackhole') proxy.blackhole()
      else await proxy.refuse()
      // Published while the forwarder cannot hear: in flight into the dead socket or queued.
      await publishAll(suite.publisher, events('net/x', during))
      await waitFor(async () => (await readyz(forwarder)) === 503, 5_000, 'readyz 503')
      await new Promise((r) => setTimeout(r, Math.max(0, cutAt + 5_000 - Date.now())))
      await proxy.restore()
      await publishAll(suite.publisher, events('net/x', after))
      await waitFor(() => [...before, ...during, ...after].every((id) => seen(app).has(id)), 20_000, 'all 300 ids')
      await waitFor(async () => (await readyz(forwarder)) === 200, 5_000, 'readyz 200')
      expect(await forwarder.metrics.total('unacked')).toBe(0)
    })
  }
})

describe('forwarder scale-out with $share', () => {
  it('two forwarders in one shared-subscription group split the stream and deliver every message', async () => {
    const appA = await startApp()
    const appB = await startApp()
    suite.defer(() => appA.close())
    suite.defer(() => appB.close())
    await forwarderFor({ url: suite.url, consumerID: 'fwd-share-a', topic: '$share/workers/jobs/#', app: appA })
    await forwarderFor({ url: suite.url, consumerID: 'fwd-share-b', topic: '$share/workers/jobs/#', app: appB })
    const all = ids('share', 400)
    await publishAll(suite.publisher, events('jobs/x', all))
    await waitFor(() => all.every((id) => seen(appA).has(id) || seen(appB).has(id)), 20_000, 'all 400 ids')
    const a = all.filter((id) => seen(appA).has(id)).length
    const b = all.filter((id) => seen(appB).has(id)).length
    expect(a).toBeGreaterThan(50)
    expect(b).toBeGreaterThan(50)
    expect(a + b).toBeLessThan(all.length + 20)
  })
})
