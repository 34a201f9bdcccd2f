// Connection lifecycle and failure bounds: brokers that are down, hang, or never ack; close;
// the watchdog; the per-process client registry. Mostly aedes in-process, plus fake brokers.
import mqttPacket from 'mqtt-packet'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { ClosedError, PublishError, TimeoutError, TopicError } from '../../../src/core/errors.js'
import {
  closeAllPubsubClients,
  ConnectError,
  getPubsubClient,
  SubscribeError,
} from '../../../src/core/pubsub/index.js'
import type { ConnectionState, Logger } from '../../../src/core/pubsub/types.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { mqttMetadata, uniqueId } from '../../helpers/factories.js'
import { startSilentBroker, type SilentBroker } from '../../helpers/fake-brokers.js'
import { startTcpProxy, type TcpProxy } from '../../helpers/proxy.js'
import { clientFactory, FAST, Inbox, nextState, uniqueTopic, waitForState } from './harness.js'

function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`)
  }
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
}

/**
 * The error came from the timeout path of a publish bounded by `configuredMs`: its cause is the
 * TimeoutError of the wait for a connection, armed with what was left of that bound (a few ms
 * less than it). No wall clock: a slow machine cannot make this fail, a wrong timer does.
 */
function expectPublishBound(err: unknown, configuredMs: number): void {
  const text = String(err)
  expect(err, text).toBeInstanceOf(PublishError)
  const cause = (err as Error).cause
  expect(cause, text).toBeInstanceOf(TimeoutError)
  expect((cause as TimeoutError).timeoutMs, text).toBeLessThanOrEqual(configuredMs)
  expect((cause as TimeoutError).timeoutMs, text).toBeGreaterThan(configuredMs * 0.8)
}

async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

describe('pubsub client lifecycle', () => {
  let broker: EmbeddedBroker
  const extras: Array<{ close(): Promise<void> }> = []
  /** While set, SUBSCRIBEs to `held/...` wait here for their SUBACK until a test answers them. */
  const heldSubacks: Array<() => void> = []
  let holdSubacks = false
  const subscribesSeen = new Map<string, number>()
  beforeAll(async () => {
    broker = await startEmbeddedBroker({
      aedes: {
        authorizeSubscribe: (_client, sub, cb) => {
          subscribesSeen.set(sub.topic, (subscribesSeen.get(sub.topic) ?? 0) + 1)
          const answer = () => cb(null, sub.topic.startsWith('forbidden/') ? null : sub)
          if (holdSubacks && sub.topic.startsWith('held/')) heldSubacks.push(answer)
          else answer()
        },
      },
    })
  })
  afterAll(async () => {
    await broker?.close()
  })
  afterEach(async () => {
    await Promise.all(extras.splice(0).map((x) => x.close()))
  })
  const client = clientFactory(() => ({ url: broker.url, qos: 1 }))
  const track = <T extends { close(): Promise<void> }>(x: T): T => {
    extras.push(x)
    return x
  }

  it('publish to a broker that is down rejects PublishError within the bound, naming the broker and the cause', async () => {
    // Port 1: nothing listens there, and no other test can grab it (an ephemeral port could be).
    const c = client({ url: 'mqtt://127.0.0.1:1', publishTimeout: 400 })
    const started = Date.now()
    const err = await c.publish('t', 'x').catch((e: unknown) => e)
    const took = Date.now() - started
    const text = String(err)
    expect(err, text).toBeInstanceOf(PublishError)
    expect((err as PublishError).retriable, text).toBe(true)
    // The bound is the mechanism, not the wall clock: the answer came from the publish's own
    // timeout path (not connectTimeout, 5 s here), and not before the bound.
    expectPublishBound(err, 400)
    expect(text).toContain('mqtt://127.0.0.1:1 ')
    expect(text).toContain('ECONNREFUSED')
    expect(took, text).toBeGreaterThanOrEqual(350)
  })

  it('a broker that accepts TCP but never sends CONNACK: connect() and publish() reject within their bounds', async () => {
    const hole = track(await startTcpProxy({ port: broker.port }))
    hole.setMode('blackhole')
    const c = client({ url: hole.url(), connectTimeout: 300, publishTimeout: 500 })
    // Each call ends on its own configured timer, named in the error.
    const connectErr = await c.connect().catch((e: unknown) => e)
    expect(connectErr).toBeInstanceOf(TimeoutError)
    expect((connectErr as TimeoutError).timeoutMs).toBe(300)
    const publishErr = await c.publish('t', 'x').catch((e: unknown) => e)
    expect(publishErr).toBeInstanceOf(PublishError)
    expect((publishErr as Error).cause).toBeInstanceOf(TimeoutError)
    expectPublishBound(publishErr, 500)
  })

  it('a publish issued during a short outage waits for the reconnect and resolves', async () => {
    const p = track(await startTcpProxy({ port: broker.port }))
    const topic = uniqueTopic('outage')
    const inbox = new Inbox({ autoAck: true })
    await client().subscribe(topic, inbox.handler)
    const pub = client({ url: p.url(), publishTimeout: 3000 })
    await pub.connect()
    p.setMode('reset') // new connections are refused for a while
    const lost = nextState(pub, 'reconnecting')
    p.dropAll()
    await lost
    let settled = false
    const publishing = pub.publish(topic, 'through').finally(() => (settled = true))
    // The publish is issued before the outage ends: the next reconnect attempt is refused too.
    const refusedSoFar = p.accepted
    await eventually(() => p.accepted > refusedSoFar, 'a reconnect attempt refused during the outage')
    expect(settled).toBe(false)
    p.setMode('forward')
    await publishing
    await inbox.payload('through')
  })

  it('the watchdog replaces a client stuck after CONNACK (store replay never acked) and connects again', async () => {
    const silent: SilentBroker = track(await startSilentBroker())
    const logger = capturingLogger()
    const c = client({ url: silent.url, connectTimeout: 300, publishTimeout: 300 }, { watchdogGraceMs: 200, logger })
    await c.connect()
    // No PUBACK will come; the publish waits (its own bound is long).
    const stuck = c.publish('t', 'x', { timeoutMs: 10_000 }).catch((e: unknown) => e)
    await eventually(() => silent.seen.includes(3), 'the PUBLISH at the broker')
    const lost = nextState(c, 'reconnecting')
    silent.dropAll()
    await lost
    // The reconnect gets a CONNACK, then MQTT.js replays the PUBLISH and waits for its PUBACK
    // before it reports the connection: it would wait forever.
    const err = await stuck
    expect(err).toBeInstanceOf(PublishError)
    expect((err as Error).message).toContain('replaced')
    await waitForState(c, 'connected')
    expect(logger.lines.some((l) => l.includes('replacing the MQTT client'))).toBe(true)
    expect(silent.accepted).toBeGreaterThanOrEqual(3)
  })

  it('close() cannot hang on an ack that never comes; afterwards every call rejects ClosedError', async () => {
    const silent = track(await startSilentBroker())
    const logger = capturingLogger()
    const c = client({ url: silent.url }, { closeTimeoutMs: 300, logger })
    await c.connect()
    const inFlight = c.publish('t', 'x', { timeoutMs: 10_000 }).catch((e: unknown) => e)
    await eventually(() => silent.seen.includes(3), 'the PUBLISH at the broker')
    await c.close()
    // close() returned because its own closeTimeoutMs fired on the graceful DISCONNECT, not
    // because the in-flight publish's 10 s bound (or anything else) ended.
    expect(logger.lines.filter((l) => l.includes('graceful close did not finish'))).toEqual([
      expect.stringContaining('timed out after 300 ms'),
    ])
    expect(await inFlight).toBeInstanceOf(ClosedError)
    expect(c.state).toBe('closed')
    await expect(c.publish('t', 'x')).rejects.toBeInstanceOf(ClosedError)
    await expect(c.subscribe('t', () => {})).rejects.toBeInstanceOf(ClosedError)
    await expect(c.connect()).rejects.toBeInstanceOf(ClosedError)
    await c.close() // idempotent
  })

  it('every publish keeps its own bound: a short one issued after a long one times out on time', async () => {
    // One timer serves all pending publishes; a shorter deadline must re-arm it.
    const silent = track(await startSilentBroker())
    const c = client({ url: silent.url })
    await c.connect()
    const started = Date.now()
    let longSettled = false
    const outcome = (p: Promise<void>) =>
      p.then(
        () => ({ err: undefined as unknown, took: Date.now() - started }),
        (err: unknown) => ({ err, took: Date.now() - started }),
      )
    const long = outcome(c.publish('t', 'long', { timeoutMs: 1200 })).finally(() => (longSettled = true))
    const short = outcome(c.publish('t', 'short', { timeoutMs: 300 }))
    const s = await short
    expect(s.err).toBeInstanceOf(PublishError)
    expect((s.err as Error).cause).toBeInstanceOf(TimeoutError)
    expect(((s.err as Error).cause as TimeoutError).timeoutMs).toBe(300)
    expect(s.took).toBeGreaterThanOrEqual(298)
    // "On time" without a wall-clock ceiling: the short one was settled by a timer of its own.
    // Had the shared timer stayed armed for the long deadline, both would settle in that one
    // callback, and after a further event-loop turn the long one would be settled too.
    await new Promise((r) => setImmediate(r))
    expect(longSettled).toBe(false)
    const l = await long
    expect(l.err).toBeInstanceOf(PublishError)
    expect(((l.err as Error).cause as TimeoutError).timeoutMs).toBe(1200)
    expect(l.took).toBeGreaterThanOrEqual(1198)
  })

  it('close() while the broker is unreachable returns at once and stops reconnecting', async () => {
    // Every bound is far beyond the test's own timeout: if close() waited on any timer
    // (a graceful DISCONNECT, the pending connect or publish), the test would time out.
    const logger = capturingLogger()
    const c = client({ url: 'mqtt://127.0.0.1:1', connectTimeout: 60_000, publishTimeout: 60_000 }, { closeTimeoutMs: 60_000, logger })
    const pending = c.publish('t', 'x').catch((e: unknown) => e)
    await waitForState(c, 'connecting')
    await c.close()
    expect(logger.lines.some((l) => l.includes('graceful close did not finish'))).toBe(false)
    expect(await pending).toBeInstanceOf(ClosedError)
    expect(c.state).toBe('closed')
  })

  it('a connection silent beyond 1.5 x keepalive (a thawed Lambda) is replaced before use, not written into', async () => {
    const topic = uniqueTopic('thaw')
    const inbox = new Inbox({ autoAck: true })
    await client().subscribe(topic, inbox.handler)
    const c = client({ keepAlive: 30 })
    await c.connect()
    const states: ConnectionState[] = []
    c.on('state', (s) => states.push(s))
    // The process "wakes up" 50 s later: no timer ran meanwhile, the broker has dropped us.
    const realNow = Date.now.bind(Date)
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 50_000)
    try {
      await c.publish(topic, 'after-thaw')
    } finally {
      spy.mockRestore()
    }
    expect(states).toEqual(['reconnecting', 'connected'])
    await inbox.payload('after-thaw')
  })

  it('emits state changes: connecting, connected, reconnecting, connected, closed', async () => {
    const p = track(await startTcpProxy({ port: broker.port }))
    const c = client({ url: p.url() })
    const states: ConnectionState[] = []
    c.on('state', (s) => states.push(s))
    expect(c.state).toBe('idle')
    await c.connect()
    const lost = nextState(c, 'reconnecting')
    p.dropAll()
    await lost
    await waitForState(c, 'connected')
    await c.close()
    expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'connected', 'closed'])
  })

  it('a SUBACK failure rejects subscribe() with SubscribeError and keeps no handler', async () => {
    const logger = capturingLogger()
    const c = client({}, { logger })
    const err = await c.subscribe('forbidden/x', () => {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SubscribeError)
    expect((err as SubscribeError).reasonCode).toBe(0x80)
    expect((err as Error).message).toContain('"forbidden/x"')
    // The client is still fine for other filters.
    const inbox = new Inbox({ autoAck: true })
    const topic = uniqueTopic('allowed')
    await c.subscribe(topic, inbox.handler)
    await client().publish(topic, 'ok')
    await inbox.payload('ok')
  })

  it('no SUBACK in time is not a refusal: the handler stays, what the session sends meanwhile is delivered, not acked and dropped', async () => {
    // The forwarder's restart on a persistent session with a backlog: the session holds the
    // filter already, and the SUBACK of the new SUBSCRIBE comes late.
    const consumerID = uniqueId('late-suback')
    const topic = uniqueTopic('held')
    const earlier = client({ consumerID, cleanSession: false })
    await earlier.subscribe(topic, () => {})
    await earlier.close()

    const b = client({ consumerID, cleanSession: false })
    // aedes restores the session's subscriptions at CONNECT through the same hook: not held.
    await b.connect()
    holdSubacks = true
    const inbox = new Inbox({ autoAck: true })
    const err = await b.subscribe(topic, inbox.handler, { timeoutMs: 300 }).catch((e: unknown) => e)
    expect(err, String(err)).toBeInstanceOf(SubscribeError)
    expect((err as SubscribeError).retriable).toBe(true)
    expect((err as SubscribeError).reasonCode).toBeUndefined()
    expect((err as SubscribeError).subscription?.filter).toBe(topic)

    await client().publish(topic, 'while the SUBACK is late')
    await inbox.payload('while the SUBACK is late')
    expect(b.unroutedMessages).toBe(0)

    // Asking again waits for the SUBACK of the SUBSCRIBE already sent; no second one goes out.
    const again = b.subscribe(topic, inbox.handler)
    holdSubacks = false
    expect(heldSubacks).toHaveLength(1)
    heldSubacks.splice(0).forEach((answer) => answer())
    const subscription = await again
    // The earlier client's, the restore at b's CONNECT, and b's one SUBSCRIBE.
    expect(subscribesSeen.get(topic)).toBe(3)

    // Giving up removes the handler: from then on the message is one nobody routes.
    await subscription.unsubscribe()
    await client().publish(topic, 'after giving up')
    await eventually(() => b.unroutedMessages === 1, 'the unrouted message')
    expect(inbox.payloads()).toEqual(['while the SUBACK is late'])
    await b.close()
  })

  it('a message that no handler matches is acked, counted and logged: it cannot block the session', async () => {
    const consumerID = uniqueId('orphan')
    const topic = uniqueTopic('orphan')
    const a = client({ consumerID, cleanSession: false })
    await a.subscribe(topic, () => {})
    await a.close()
    await client().publish(topic, 'orphan')

    // Same session, but this process only handles another filter.
    const logger = capturingLogger()
    const b = client({ consumerID, cleanSession: false }, { logger })
    const unrouted: string[] = []
    b.on('unrouted', (t) => unrouted.push(t))
    await b.subscribe(`${topic}/other`, () => {})
    await eventually(() => unrouted.length === 1, 'the unrouted event')
    expect(unrouted).toEqual([topic])
    expect(b.unroutedMessages).toBe(1)
    expect(logger.lines.find((l) => l.includes('no matching handler'))).toContain(topic)
    await b.close()

    // Acked: the session no longer holds it.
    const inbox = new Inbox({ autoAck: true })
    const c = client({ consumerID, cleanSession: false })
    await c.subscribe(topic, inbox.handler)
    await client().publish(topic, 'after')
    await inbox.payload('after')
    expect(inbox.payloads()).toEqual(['after'])
    await c.close()
  })

  it("a client that subscribes to nothing leaves another client's session alone: nothing acked, the owner gets it", async () => {
    const consumerID = uniqueId('shared')
    const topic = uniqueTopic('shared')
    const owner = client({ consumerID, cleanSession: false })
    await owner.subscribe(topic, () => {})
    await owner.close()
    await client().publish(topic, 'for the owner')

    const logger = capturingLogger()
    const publisherOnly = client({ consumerID, cleanSession: false }, { logger })
    await publisherOnly.connect()
    await eventually(() => logger.lines.some((l) => l.includes('subscribes to nothing')), 'the warning')
    expect(publisherOnly.unroutedMessages).toBe(0)
    await publisherOnly.close()

    const inbox = new Inbox({ autoAck: true })
    const again = client({ consumerID, cleanSession: false })
    await again.subscribe(topic, inbox.handler)
    await inbox.payload('for the owner')
    await again.close()
  })

  it('a handler that throws: the error is reported, the message stays un-acked, other deliveries go on', async () => {
    const c = client()
    const errors: Error[] = []
    c.on('error', (e) => errors.push(e))
    const topic = uniqueTopic('throws')
    const inbox = new Inbox({ autoAck: true })
    await c.subscribe(topic, (m) => {
      if (m.payload.toString() === 'bad') throw new Error('handler broke')
      inbox.handler(m)
    })
    const pub = client()
    await pub.publish(topic, 'bad')
    await pub.publish(topic, 'good')
    await inbox.payload('good')
    expect(errors.map((e) => e.message)).toEqual(['handler broke'])
  })

  it('unsubscribe: the handler stops; on a clean session the broker stops sending; other handlers stay', async () => {
    const logger = capturingLogger()
    const c = client({}, { logger })
    const topic = uniqueTopic('unsub')
    const kept = new Inbox({ autoAck: true })
    const dropped = new Inbox({ autoAck: true })
    const other = new Inbox({ autoAck: true })
    const subKept = await c.subscribe(topic, kept.handler)
    const subDropped = await c.subscribe(topic, dropped.handler)
    await c.subscribe(`${topic}/other`, other.handler)
    const pub = client()
    await pub.publish(topic, 'both')
    await kept.payload('both')
    await dropped.payload('both')

    await subDropped.unsubscribe()
    await pub.publish(topic, 'one')
    await kept.payload('one')
    expect(dropped.payloads()).toEqual(['both'])

    await subKept.unsubscribe() // last handler of the filter: UNSUBSCRIBE
    await pub.publish(topic, 'none')
    await pub.publish(`${topic}/other`, 'marker')
    await other.payload('marker')
    expect(kept.payloads()).toEqual(['both', 'one'])
    expect(logger.lines.some((l) => l.includes('no matching handler'))).toBe(false)
  })

  it('a filter subscribed after a topic was routed gets that topic too (handlers are looked up again)', async () => {
    const c = client()
    const topic = uniqueTopic('late')
    const first = new Inbox({ autoAck: true })
    const late = new Inbox({ autoAck: true })
    await c.subscribe(topic, first.handler)
    const pub = client()
    await pub.publish(topic, 'before')
    await first.payload('before')

    await c.subscribe(`${topic}/#`, late.handler)
    await pub.publish(topic, 'after')
    await first.payload('after')
    await late.payload('after')
    expect(late.payloads()).toEqual(['after'])
  })

  it('writes packet ids without mqtt-packet\'s 65,536-buffer cache, and ids past 255 still round-trip', async () => {
    const c = client()
    const topic = uniqueTopic('ids')
    const inbox = new Inbox({ autoAck: true })
    await c.subscribe(topic, inbox.handler)
    expect(mqttPacket.writeToStream.cacheNumbers).toBe(false)
    const pub = client()
    for (let i = 0; i < 300; i++) await pub.publish(topic, `m${i}`)
    await inbox.payload('m299')
    expect(inbox.payloads()).toHaveLength(300)
  })

  it('rejects invalid topics and filters before anything is sent', async () => {
    const c = client()
    await expect(c.publish('a/+/b', 'x')).rejects.toBeInstanceOf(TopicError)
    await expect(c.publish('', 'x')).rejects.toBeInstanceOf(TopicError)
    await expect(c.subscribe('a/#/b', () => {})).rejects.toBeInstanceOf(TopicError)
    await expect(c.subscribe('$share/g', () => {})).rejects.toBeInstanceOf(TopicError)
    await expect(c.subscribe('a+/b', () => {})).rejects.toBeInstanceOf(TopicError)
    expect(c.state).toBe('idle')
  })

  it('a CONNACK refusal rejects connect() at once with ConnectError', async () => {
    const strict = track(
      await startEmbeddedBroker({
        aedes: {
          authenticate: (_c, username, _p, done) => {
            if (username === 'ok') return done(null, true)
            const e = Object.assign(new Error('denied'), { returnCode: 4 as const })
            done(e, null)
          },
        },
      }),
    )
    const c = client({ url: strict.url.replace('mqtt://', 'mqtt://nope:pw@'), connectTimeout: 60_000 })
    // "At once" is the path, not the clock: the CONNACK refusal itself rejects connect().
    // Waiting out connectTimeout (60 s, beyond the test's timeout) would end in a TimeoutError.
    const err = await c.connect().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConnectError)
    expect((err as ConnectError).reasonCode).toBe(4)
    expect((err as Error).message).toBe(`connect to ${strict.url}: refused by the broker: Bad username or password (return code 4)`)
  })
})

describe('getPubsubClient', () => {
  let broker: EmbeddedBroker
  beforeAll(async () => {
    broker = await startEmbeddedBroker()
  })
  afterAll(async () => {
    await closeAllPubsubClients()
    await broker?.close()
  })

  it('one client per component name, reused; closeAllPubsubClients closes them; a closed one is replaced', async () => {
    const orders = { name: 'orders', metadata: mqttMetadata({ url: broker.url, qos: 1 }) }
    const events = { name: 'events', metadata: mqttMetadata({ url: broker.url, qos: 1 }) }
    const a = getPubsubClient(orders, FAST)
    expect(getPubsubClient(orders)).toBe(a)
    const b = getPubsubClient(events)
    expect(b).not.toBe(a)
    expect(a.state).toBe('idle') // lazy
    await a.publish('t', 'x')
    expect(a.state).toBe('connected')
    await closeAllPubsubClients()
    expect(a.state).toBe('closed')
    expect(b.state).toBe('closed')
    const again = getPubsubClient(orders)
    expect(again).not.toBe(a)
    await again.publish('t', 'y')
    await again.close()
    expect(getPubsubClient(orders)).not.toBe(again)
  })
})
