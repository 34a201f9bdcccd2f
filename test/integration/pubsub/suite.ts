import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PublishError, TimeoutError } from '../../../src/core/errors.js'
import type { PubsubClient } from '../../../src/core/pubsub/index.js'
import { uniqueId } from '../../helpers/factories.js'
import { startTcpProxy, type TcpProxy } from '../../helpers/proxy.js'
import { loadResourcesFromDocuments } from '../../../src/core/resources/index.js'
import { PubsubClient as Client } from '../../../src/core/pubsub/index.js'
import { pubsubYaml } from '../../../support/component-yaml.js'
import {
  clientFactory,
  FAST,
  Inbox,
  nextState,
  quietPeriod,
  uniqueTopic,
  waitForState,
  type BrokerTarget,
  type RunningBroker,
} from './harness.js'

/**
 * The behaviour every broker must show, run once per target (aedes in-process, Mosquitto
 * 3.1.1 and 5, RabbitMQ's MQTT plugin, NATS' MQTT gateway). Each target gets its own broker
 * for the whole describe block. What a broker lacks (QoS 2, `$share`) is a capability of the
 * target, and the suite checks what mqtt-fn does about it instead.
 */
export function describeBrokerSuite(target: BrokerTarget): void {
  describe(target.name, () => {
    let broker: RunningBroker
    const proxies: TcpProxy[] = []

    beforeAll(async () => {
      broker = await target.start()
    })
    afterAll(async () => {
      await broker?.stop()
    })
    afterEach(async () => {
      await Promise.all(proxies.splice(0).map((p) => p.close()))
    })

    const client = clientFactory(() => ({ url: broker.url, protocolVersion: target.protocolVersion }))
    const proxy = async (): Promise<TcpProxy> => {
      const p = await startTcpProxy({ port: broker.port })
      proxies.push(p)
      return p
    }
    /**
     * A QoS 1 round trip of `c` itself: once it returns, every byte `c` wrote before (acks
     * included) has been read by the broker (one TCP stream, processed in order).
     */
    const flush = (c: PubsubClient) => c.publish('sync/flush', 'x', { qos: 1 })

    it(`round-trips QoS 0, 1${target.qos2 ? ' and 2' : ''}; only QoS 1${target.qos2 ? '/2' : ''} deliveries can be acked`, async () => {
      const topic = uniqueTopic('rt')
      const inbox = new Inbox()
      const sub = client({ qos: target.qos2 ? 2 : 1 })
      await sub.subscribe(`${topic}/#`, inbox.handler)
      const pub = client()
      await pub.publish(`${topic}/q0`, 'zero', { qos: 0 })
      await pub.publish(`${topic}/q1`, Buffer.from('one'), { qos: 1 })
      if (target.qos2) await pub.publish(`${topic}/q2`, new Uint8Array(Buffer.from('two')), { qos: 2 })
      await inbox.count(target.qos2 ? 3 : 2)
      const byPayload = Object.fromEntries(inbox.messages.map((m) => [m.payload.toString(), m]))
      expect(byPayload.zero?.qos).toBe(0)
      expect(byPayload.one?.qos).toBe(1)
      expect(byPayload.one?.topic).toBe(`${topic}/q1`)
      expect(byPayload.zero?.ack()).toBe(false)
      expect(byPayload.one?.ack()).toBe(true)
      if (target.qos2) {
        expect(byPayload.two?.qos).toBe(2)
        expect(byPayload.two?.ack()).toBe(true)
        expect(byPayload.two?.ack()).toBe(true) // idempotent
      }
    })

    if (!target.qos2) {
      it(`QoS 2 is not offered: brokerProfile ${target.brokerProfile} degrades a component's qos 2 to 1, with a warning, and that works`, async () => {
        const loaded = await loadResourcesFromDocuments(
          [{ file: 'pubsub.yaml', text: pubsubYaml({ name: 'degraded', url: broker.url, metadata: { qos: '2', brokerProfile: target.brokerProfile ?? 'generic' } }) }],
          { env: {} },
        )
        const component = loaded.pubsubs[0]!
        expect(component.metadata.qos).toBe(1)
        expect(loaded.warnings.join('\n')).toContain('spec.metadata.qos: 2 is degraded to 1')
        const topic = uniqueTopic('degraded')
        const inbox = new Inbox({ autoAck: true })
        // Two clients of the one component: each its own client id, or they would take turns.
        const own = () => ({ ...component, name: uniqueId('degraded'), metadata: { ...component.metadata, consumerID: uniqueId('degraded') } })
        const sub = new Client(own(), FAST)
        const pub = new Client(own(), FAST)
        try {
          await sub.subscribe(topic, inbox.handler)
          await pub.publish(topic, 'at least once')
          expect((await inbox.payload('at least once')).qos).toBe(1)
        } finally {
          await Promise.all([sub.close(), pub.close()])
        }
      })
    }

    it('delivers a retained message to a late subscriber with retained=true', async () => {
      const topic = uniqueTopic('ret')
      const pub = client()
      await pub.publish(topic, 'kept', { qos: 1, retain: true })
      const inbox = new Inbox({ autoAck: true })
      const late = client({ qos: 1 })
      await late.subscribe(topic, inbox.handler)
      const m = await inbox.payload('kept')
      expect(m.retained).toBe(true)
      await pub.publish(topic, '', { qos: 1, retain: true }) // clear it
    })

    it('routes + and # wildcards per the MQTT rules', async () => {
      const base = uniqueTopic('wild')
      const plus = new Inbox({ autoAck: true })
      const hash = new Inbox({ autoAck: true })
      await client({ qos: 1 }).subscribe(`${base}/+/temp`, plus.handler)
      await client({ qos: 1 }).subscribe(`${base}/#`, hash.handler)
      const pub = client({ qos: 1 })
      for (const t of [`${base}/a/temp`, `${base}/a/b/temp`, base, `${base}/b/temp`]) await pub.publish(t, t)
      await hash.count(4)
      await plus.payload(`${base}/b/temp`)
      expect(plus.payloads().sort()).toEqual([`${base}/a/temp`, `${base}/b/temp`])
      expect(hash.payloads().sort()).toEqual([base, `${base}/a/b/temp`, `${base}/a/temp`, `${base}/b/temp`].sort())
    })

    it('persistent session: an un-acked message comes back after close and reopen, an acked one does not', async () => {
      const topic = uniqueTopic('durable')
      const consumerID = uniqueId('durable')
      const pub = client({ qos: 1 })

      const first = new Inbox()
      const a = client({ consumerID, cleanSession: false, qos: 1 })
      await a.subscribe(topic, first.handler)
      await pub.publish(topic, 'acked')
      await pub.publish(topic, 'not-acked')
      await first.count(2)
      expect((await first.payload('acked')).ack()).toBe(true)
      await a.close()
      expect((await first.payload('not-acked')).ack()).toBe(false) // closed: nothing is sent

      // The handler is registered before CONNECT: what the broker pushes right after CONNACK is kept.
      const second = new Inbox({ autoAck: true })
      const b = client({ consumerID, cleanSession: false, qos: 1 })
      await b.subscribe(topic, second.handler)
      await second.payload('not-acked')
      await pub.publish(topic, 'marker')
      await second.payload('marker')
      expect(second.payloads()).toEqual(['not-acked', 'marker'])
    })

    it('persistent session: what is published while the subscriber is offline is queued and delivered when it resumes', async () => {
      const topic = uniqueTopic('offline')
      const consumerID = uniqueId('offline')
      const a = client({ consumerID, cleanSession: false, qos: 1 })
      await a.subscribe(topic, () => {})
      await a.close()
      const pub = client({ qos: 1 })
      for (const n of [1, 2, 3]) await pub.publish(topic, `queued ${n}`)

      const inbox = new Inbox({ autoAck: true })
      const b = client({ consumerID, cleanSession: false, qos: 1 })
      await b.subscribe(topic, inbox.handler)
      await inbox.count(3)
      expect(inbox.payloads().sort()).toEqual(['queued 1', 'queued 2', 'queued 3'])
      await pub.publish(topic, 'live')
      await inbox.payload('live')
    })

    it('a network drop: the old delivery cannot be acked (false, nothing sent) and the message is redelivered', async () => {
      const p = await proxy()
      const topic = uniqueTopic('drop')
      const inbox = new Inbox()
      const sub = client({ url: p.url(), consumerID: uniqueId('drop'), cleanSession: false, qos: 1 })
      await sub.subscribe(topic, inbox.handler)
      const pub = client({ qos: 1 })
      await pub.publish(topic, 'm')
      const d1 = await inbox.payload('m')
      expect(d1.dup).toBe(false)

      let reconnecting = nextState(sub, 'reconnecting')
      p.dropAll()
      await reconnecting
      expect(d1.ack()).toBe(false) // between connections

      await inbox.count(2) // redelivered on the resumed session
      const d2 = inbox.messages[1]!
      expect(d2.payload.toString()).toBe('m')
      expect(d1.ack()).toBe(false) // still false on the new connection, where ids are reused

      // d1's ack really sent nothing: d2 is still un-acked, so a new drop brings it back again.
      reconnecting = nextState(sub, 'reconnecting')
      p.dropAll()
      await reconnecting
      await inbox.count(3)
      const d3 = inbox.messages[2]!
      expect(d3.payload.toString()).toBe('m')
      expect(d2.ack()).toBe(false)
      expect(d3.ack()).toBe(true)
      await flush(sub)

      reconnecting = nextState(sub, 'reconnecting')
      p.dropAll()
      await reconnecting
      await waitForState(sub, 'connected')
      await pub.publish(topic, 'marker')
      await inbox.payload('marker')
      expect(inbox.payloads()).toEqual(['m', 'm', 'm', 'marker'])
      if (target.dupOnRedelivery) expect(inbox.messages.slice(1, 3).every((m) => m.dup)).toBe(true)
    })

    if (target.qos2) it('QoS 2: an un-acked delivery comes back after a drop (PUBREL resent), PUBCOMP only on ack', async () => {
      const p = await proxy()
      const topic = uniqueTopic('q2drop')
      const inbox = new Inbox()
      const sub = client({ url: p.url(), consumerID: uniqueId('q2'), cleanSession: false, qos: 2 })
      await sub.subscribe(topic, inbox.handler)
      const pub = client({ qos: 2 })
      await pub.publish(topic, 'exactly')
      await inbox.count(1)
      const reconnecting = nextState(sub, 'reconnecting')
      p.dropAll()
      await reconnecting
      await inbox.count(2)
      expect(inbox.messages[0]!.ack()).toBe(false)
      expect(inbox.messages[1]!.qos).toBe(2)
      expect(inbox.messages[1]!.ack()).toBe(true)
      await flush(sub)
      const again = nextState(sub, 'reconnecting')
      p.dropAll()
      await again
      await waitForState(sub, 'connected')
      await pub.publish(topic, 'marker')
      await inbox.payload('marker')
      expect(inbox.payloads()).toEqual(['exactly', 'exactly', 'marker'])
    })

    it('hands 50 un-acked QoS 1 deliveries to the handler without waiting for acks; once acked none comes back', async () => {
      const p = await proxy()
      const topic = uniqueTopic('many')
      const inbox = new Inbox()
      const sub = client({ url: p.url(), consumerID: uniqueId('many'), cleanSession: false, qos: 1 })
      await sub.subscribe(topic, inbox.handler)
      const pub = client({ qos: 1 })
      await Promise.all(Array.from({ length: 50 }, (_, i) => pub.publish(topic, `n${i}`)))
      await inbox.count(50) // every one of them is in our hands, none acked yet
      expect(new Set(inbox.payloads()).size).toBe(50)
      for (const m of inbox.messages) expect(m.ack()).toBe(true)
      await flush(sub)

      const reconnecting = nextState(sub, 'reconnecting')
      p.dropAll()
      await reconnecting
      await waitForState(sub, 'connected')
      await pub.publish(topic, 'marker')
      await inbox.payload('marker')
      expect(inbox.messages).toHaveLength(51)
    })

    it('maxUnacked bounds the deliveries in the handler’s hands; each ack lets one more through', async () => {
      const topic = uniqueTopic('bounded')
      const inbox = new Inbox()
      const sub = client({ qos: 1 }, { maxUnacked: 5 })
      await sub.subscribe(topic, inbox.handler)
      const pub = client({ qos: 1 })
      await Promise.all(Array.from({ length: 12 }, (_, i) => pub.publish(topic, `b${i}`)))
      await inbox.count(5)
      // The one quiet period left on purpose: at the cap the client stalls its MQTT parser, so
      // every later inbound packet (a marker, a SUBACK, a PUBACK) waits behind the held one and
      // nothing observable can arrive first to prove the 6th was held rather than slow.
      await quietPeriod(200)
      expect(inbox.messages).toHaveLength(5)
      inbox.messages[0]!.ack()
      await inbox.count(6)
      await quietPeriod(100)
      expect(inbox.messages).toHaveLength(6)
      let acked = 1
      while (acked < 12) {
        await inbox.count(acked + 1)
        inbox.messages[acked]!.ack()
        acked++
      }
      expect(new Set(inbox.payloads()).size).toBe(12)
    })

    it('caps in-flight QoS 1 publishes at maxInflight; the rest wait for a slot', async () => {
      const p = await proxy()
      const topic = uniqueTopic('inflight')
      const inbox = new Inbox({ autoAck: true })
      await client({ qos: 1 }).subscribe(topic, inbox.handler)
      const pub = client({ url: p.url(), qos: 1, maxInflight: 2 })
      await pub.connect()
      p.pauseDownstream() // PUBACKs are held back
      const results = Array.from({ length: 5 }, (_, i) => pub.publish(topic, `f${i}`))
      await inbox.count(2)
      // A QoS 0 marker needs no slot, so it goes out on the same connection at once. Brokers
      // forward one connection's messages in order: had f2..f4 been sent past the cap, they
      // would reach the subscriber before the marker.
      await pub.publish(topic, 'marker', { qos: 0 })
      await inbox.payload('marker')
      expect(inbox.payloads().sort()).toEqual(['f0', 'f1', 'marker'])
      p.resumeDownstream()
      await Promise.all(results)
      await inbox.count(6)
      expect(inbox.payloads().sort()).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'marker'])
    })

    it('a publish that timed out is withdrawn: the reconnect does not replay it', async () => {
      const p = await proxy()
      const topic = uniqueTopic('withdrawn')
      const inbox = new Inbox({ autoAck: true })
      await client({ qos: 1 }).subscribe(topic, inbox.handler)
      const pub = client({ url: p.url(), qos: 1 })
      await pub.connect()
      p.pauseUpstream() // the PUBLISH never reaches the broker
      const err = await pub.publish(topic, 'lost', { timeoutMs: 300 }).catch((e: unknown) => e)
      // It ended on its own 300 ms bound (the timeout path), not on anything later.
      expect(err).toBeInstanceOf(PublishError)
      expect((err as Error).cause).toBeInstanceOf(TimeoutError)
      expect(((err as Error).cause as TimeoutError).timeoutMs).toBe(300)
      const reconnecting = nextState(pub, 'reconnecting')
      p.dropAll()
      p.resumeUpstream()
      await reconnecting
      await pub.publish(topic, 'marker')
      await inbox.payload('marker')
      expect(inbox.payloads()).toEqual(['marker'])
    })

    if (target.sharedSubscriptions) {
      it('$share/group: two members split one stream, each message to exactly one', async () => {
        const topic = uniqueTopic('shared')
        const all = new Inbox({ autoAck: true })
        const perMember = { a: [] as string[], b: [] as string[] }
        for (const member of ['a', 'b'] as const) {
          await client({ qos: 1 }).subscribe(`$share/workers/${topic}/#`, (m) => {
            perMember[member].push(m.payload.toString())
            all.handler(m)
          })
        }
        const pub = client({ qos: 1 })
        for (let i = 0; i < 20; i++) await pub.publish(`${topic}/job`, `j${i}`)
        await all.count(20)
        // A duplicate of a job would be dispatched before any later message, and each member's
        // connection delivers in order: once both members have a marker, nothing of j0..j19
        // is still on its way.
        const markers = { a: 0, b: 0 }
        for (let i = 0; markers.a === 0 || markers.b === 0; i++) {
          if (i >= 50) throw new Error(`50 markers and still not one to each member: ${JSON.stringify(markers)}`)
          await pub.publish(`${topic}/job`, `marker${i}`)
          await all.payload(`marker${i}`)
          for (const member of ['a', 'b'] as const) markers[member] = perMember[member].filter((p) => p.startsWith('marker')).length
        }
        const jobs = all.messages.filter((m) => !m.payload.toString().startsWith('marker'))
        expect(jobs).toHaveLength(20)
        expect(new Set(jobs.map((m) => m.payload.toString())).size).toBe(20)
        const isJob = (p: string) => !p.startsWith('marker')
        expect(perMember.a.filter(isJob).length).toBeGreaterThan(0)
        expect(perMember.b.filter(isJob).length).toBeGreaterThan(0)
        expect(all.messages[0]!.topic).toBe(`${topic}/job`)
      })
    }

    // Last: it takes the broker down and brings it back.
    it('broker killed and restarted on the same port: the client reconnects, resubscribes and receives', async () => {
      const topic = uniqueTopic('restart')
      const inbox = new Inbox({ autoAck: true })
      const sub = client({ qos: 1 })
      await sub.subscribe(topic, inbox.handler)
      const pub = client({ qos: 1 })
      await pub.publish(topic, 'before')
      await inbox.payload('before')

      const lost = nextState(sub, 'reconnecting')
      await broker.kill()
      await lost
      await broker.restart()
      await waitForState(sub, 'connected', 10_000)
      await pub.publish(topic, 'after')
      await inbox.payload('after')
      expect(inbox.payloads()).toEqual(['before', 'after'])
    })
  })
}
