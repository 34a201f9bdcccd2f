/**
 * The dispatcher's acknowledgement rules with scripted targets and in-memory messages (the
 * integration suites cover the same against real brokers; these pin every branch).
 */
import { describe, expect, it } from 'vitest'
import type { IncomingMessage } from '../../../src/core/pubsub/types.js'
import { CircuitBreaker, compileTrip } from '../../../src/forwarder/breaker.js'
import { Dispatcher } from '../../../src/forwarder/dispatcher.js'
import { createLogger } from '../../../src/forwarder/logger.js'
import { ForwarderMetrics } from '../../../src/forwarder/metrics.js'
import { compileMatch } from '../../../src/forwarder/router.js'
import type { ForwardSubscription, RetryPolicy, Target, TargetReply, TargetRequest } from '../../../src/forwarder/types.js'
import { cloudEvent, waitFor } from '../../helpers/forwarder.js'

const fast: RetryPolicy = { policy: 'constant', initialIntervalMs: 1, maxIntervalMs: 1, maxRetries: 2, multiplier: 1, randomizationFactor: 0 }

function message(payload: Buffer | string, topic = 't/1'): IncomingMessage & { acked: () => number; released: () => number } {
  let acks = 0
  let releases = 0
  return {
    topic,
    payload: Buffer.from(payload),
    qos: 1,
    retained: false,
    dup: false,
    ack: () => (acks++, true),
    release: () => (releases++, true),
    acked: () => acks,
    released: () => releases,
  }
}

function scripted(fn: (req: TargetRequest) => TargetReply | Promise<TargetReply>): Target & { requests: TargetRequest[] } {
  const requests: TargetRequest[] = []
  return { kind: 'http', name: 'app', requests, send: async (r) => (requests.push(r), fn(r)) }
}

function subscription(target: Target, extra: Partial<ForwardSubscription> = {}): ForwardSubscription {
  return {
    id: 's',
    source: { file: 'f', document: 1, origin: 'yaml' },
    pubsubname: 'mqtt',
    topic: 't/#',
    rules: [{ match: '', path: '/x', target }],
    rawPayload: false,
    ordered: false,
    metadata: {},
    ...extra,
  }
}

function setup(opts: { publish?: (topic: string, payload: Buffer) => Promise<void>; concurrency?: number } = {}) {
  const published: { topic: string; payload: Buffer }[] = []
  const metrics = new ForwarderMetrics()
  const dispatcher = new Dispatcher({
    logger: createLogger('silent'),
    metrics,
    concurrency: opts.concurrency ?? 8,
    publisher: () => ({
      publish: opts.publish ?? (async (topic, payload) => void published.push({ topic, payload })),
    }),
    retryPolicy: () => fast,
    requestTimeoutMs: () => 1000,
  })
  return { dispatcher, metrics, published }
}

const ok = (): TargetReply => ({ ok: true, status: 200, body: '' })

describe('dispatcher: single deliveries', () => {
  it('acks after success, once', async () => {
    const { dispatcher, metrics } = setup()
    const target = scripted(ok)
    const m = message(cloudEvent('1', {}))
    dispatcher.accept(subscription(target), m)
    await waitFor(() => m.acked() === 1)
    expect(target.requests[0]!.headers).toMatchObject({ pubsubname: 'mqtt', retained: 'false' })
    expect(target.requests[0]!.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
    expect(await metrics.total('delivered')).toBe(1)
  })

  it('retries, then leaves the message unacked without a dead-letter topic', async () => {
    const { dispatcher, metrics } = setup()
    const target = scripted(() => ({ ok: true, status: 503, body: '' }))
    const m = message(cloudEvent('1', {}))
    dispatcher.accept(subscription(target), m)
    await waitFor(async () => (await metrics.total('unacked', { reason: 'retries_exhausted' })) === 1)
    expect(target.requests).toHaveLength(3)
    expect(m.acked()).toBe(0)
    expect(await metrics.total('retried')).toBe(2)
  })

  it('after the last retry publishes the original bytes to the dead-letter topic, then acks', async () => {
    const { dispatcher, published } = setup()
    const payload = cloudEvent('1', {})
    const m = message(payload)
    dispatcher.accept(subscription(scripted(() => ({ ok: false, reason: 'refused' })), { deadLetterTopic: 'dlq' }), m)
    await waitFor(() => m.acked() === 1)
    expect(published).toEqual([{ topic: 'dlq', payload }])
  })

  it('does not ack when the dead-letter publish fails', async () => {
    const { dispatcher, metrics } = setup({ publish: () => Promise.reject(new Error('no PUBACK')) })
    const m = message(cloudEvent('1', {}))
    dispatcher.accept(subscription(scripted(() => ({ ok: true, status: 200, body: '{"status":"DROP"}' })), { deadLetterTopic: 'dlq' }), m)
    await waitFor(async () => (await metrics.total('unacked', { reason: 'deadletter_failed' })) === 1)
    expect(m.acked()).toBe(0)
  })

  it('DROP and 404 without a dead-letter topic: acked, counted as dropped', async () => {
    const { dispatcher, metrics } = setup()
    const a = message(cloudEvent('1', {}))
    const b = message(cloudEvent('2', {}))
    dispatcher.accept(subscription(scripted(() => ({ ok: true, status: 200, body: '{"status":"DROP"}' }))), a)
    dispatcher.accept(subscription(scripted(() => ({ ok: true, status: 404, body: '' }))), b)
    await waitFor(() => a.acked() === 1 && b.acked() === 1)
    expect(await metrics.total('dropped', { reason: 'drop' })).toBe(1)
    expect(await metrics.total('dropped', { reason: 'not_found' })).toBe(1)
  })

  it('no matching route: acked and counted, target never called', async () => {
    const { dispatcher, metrics } = setup()
    const target = scripted(ok)
    const compiled = compileMatch('event.type == "x"')
    if (!compiled.ok) throw new Error(compiled.error)
    const m = message(cloudEvent('1', {}))
    dispatcher.accept(subscription(target, { rules: [{ match: 'event.type == "x"', path: '/x', target, test: compiled.test }] }), m)
    await waitFor(() => m.acked() === 1)
    expect(target.requests).toHaveLength(0)
    expect(await metrics.total('dropped', { reason: 'no_route' })).toBe(1)
  })

  it('ordered: one delivery at a time per topic, in arrival order; other topics run alongside', async () => {
    const { dispatcher } = setup()
    const active = new Map<string, number>()
    const order: string[] = []
    let maxPerTopic = 0
    const target = scripted(async (req) => {
      const e = JSON.parse(req.body.toString()) as { id: string; topic: string }
      active.set(e.topic, (active.get(e.topic) ?? 0) + 1)
      maxPerTopic = Math.max(maxPerTopic, active.get(e.topic)!)
      await new Promise((r) => setTimeout(r, 5))
      active.set(e.topic, active.get(e.topic)! - 1)
      order.push(e.id)
      return ok()
    })
    const sub = subscription(target, { ordered: true })
    const msgs = Array.from({ length: 12 }, (_, i) => message(cloudEvent(`${i % 2}-${i}`, {}, `t/${i % 2}`), `t/${i % 2}`))
    for (const m of msgs) dispatcher.accept(sub, m)
    await waitFor(() => msgs.every((m) => m.acked() === 1))
    expect(maxPerTopic).toBe(1)
    expect(order.filter((id) => id.startsWith('0-'))).toEqual(msgs.map((_, i) => `${i % 2}-${i}`).filter((id) => id.startsWith('0-')))
  })

  it('runs at most `concurrency` deliveries at once', async () => {
    const { dispatcher } = setup({ concurrency: 3 })
    let active = 0
    let peak = 0
    const target = scripted(async () => {
      peak = Math.max(peak, ++active)
      await new Promise((r) => setTimeout(r, 10))
      active--
      return ok()
    })
    const msgs = Array.from({ length: 20 }, (_, i) => message(cloudEvent(String(i), {})))
    for (const m of msgs) dispatcher.accept(subscription(target), m)
    await waitFor(() => msgs.every((m) => m.acked() === 1))
    expect(peak).toBe(3)
  })

  it('hands out slots first come, first served: deliveries start in arrival order', async () => {
    const { dispatcher } = setup({ concurrency: 2 })
    const started: string[] = []
    const target = scripted(async (req) => {
      started.push((JSON.parse(req.body.toString()) as { id: string }).id)
      // Uneven durations: a later slot frees up before an earlier one.
      await new Promise((r) => setTimeout(r, started.length % 3 === 0 ? 8 : 1))
      return ok()
    })
    const ids = Array.from({ length: 12 }, (_, i) => `m${i}`)
    const msgs = ids.map((id) => message(cloudEvent(id, {})))
    for (const m of msgs) dispatcher.accept(subscription(target), m)
    await waitFor(() => msgs.every((m) => m.acked() === 1))
    expect(started).toEqual(ids)
  })

  it('stop: running deliveries finish and are acked, queued ones are not started or acked', async () => {
    const { dispatcher, metrics } = setup({ concurrency: 2 })
    // The running deliveries end when the test says so, not after a time a slow machine outruns.
    let finish!: () => void
    const gate = new Promise<void>((r) => (finish = r))
    const target = scripted(async () => {
      await gate
      return ok()
    })
    const msgs = Array.from({ length: 5 }, (_, i) => message(cloudEvent(String(i), {})))
    for (const m of msgs) dispatcher.accept(subscription(target), m)
    await waitFor(() => target.requests.length === 2)
    const stopping = dispatcher.stop(1000)
    finish()
    const report = await stopping
    expect(report).toEqual({ finished: 2, abandoned: 0 })
    expect(msgs.map((m) => m.acked())).toEqual([1, 1, 0, 0, 0])
    expect(target.requests).toHaveLength(2)
    await waitFor(async () => (await metrics.total('unacked', { reason: 'shutdown' })) === 3)
    // After stop nothing new is taken in: accept() counts what it takes at once, so the
    // received counter (5) shows the late one was turned away, with no wait.
    expect(await metrics.total('received')).toBe(5)
    const late = message(cloudEvent('late', {}))
    dispatcher.accept(subscription(target), late)
    expect(await metrics.total('received')).toBe(5)
    expect(late.acked()).toBe(0)
    expect(target.requests).toHaveLength(2)
  })

  it('stop past the bound aborts the request and acks nothing for it', async () => {
    const { dispatcher } = setup()
    const target = scripted(
      (req) =>
        new Promise<TargetReply>((resolve) => {
          req.signal.addEventListener('abort', () => resolve({ ok: false, reason: 'aborted' }))
        }),
    )
    const m = message(cloudEvent('1', {}))
    dispatcher.accept(subscription(target, { deadLetterTopic: 'dlq' }), m)
    await waitFor(() => target.requests.length === 1)
    const report = await dispatcher.stop(30)
    expect(report).toEqual({ finished: 0, abandoned: 1 })
    expect(m.acked()).toBe(0)
  })
})

describe('dispatcher: bulk', () => {
  it('batches up to maxMessagesCount, retries only RETRY entries, dead-letters DROP', async () => {
    const { dispatcher, published } = setup()
    const seen = new Map<string, number>()
    const target = scripted((req) => {
      const env = JSON.parse(req.body.toString()) as { entries: { entryId: string; event: { id: string } }[] }
      const statuses = env.entries.map((e) => {
        const n = (seen.get(e.event.id) ?? 0) + 1
        seen.set(e.event.id, n)
        const status = e.event.id === 'drop' ? 'DROP' : e.event.id === 'flaky' && n === 1 ? 'RETRY' : 'SUCCESS'
        return { entryId: e.entryId, status }
      })
      return { ok: true, status: 200, body: JSON.stringify({ statuses }) }
    })
    const sub = subscription(target, { bulk: { maxMessagesCount: 3, maxAwaitDurationMs: 10_000 }, deadLetterTopic: 'dlq' })
    const msgs = ['a', 'flaky', 'drop'].map((id) => message(cloudEvent(id, {})))
    for (const m of msgs) dispatcher.accept(sub, m)
    await waitFor(() => msgs.every((m) => m.acked() === 1))
    expect(target.requests).toHaveLength(2)
    expect(JSON.parse(target.requests[1]!.body.toString()).entries).toHaveLength(1)
    expect(target.requests[0]!.contentType).toBe('application/json')
    expect(published.map((p) => JSON.parse(p.payload.toString()).id)).toEqual(['drop'])
    expect(seen.get('flaky')).toBe(2)
  })

  it('flushes a partial batch after maxAwaitDurationMs', async () => {
    const { dispatcher } = setup()
    const target = scripted((req) => {
      const env = JSON.parse(req.body.toString()) as { entries: { entryId: string }[] }
      return { ok: true, status: 200, body: JSON.stringify({ statuses: env.entries.map((e) => ({ entryId: e.entryId, status: 'SUCCESS' })) }) }
    })
    const m = message(cloudEvent('solo', {}))
    const started = Date.now()
    dispatcher.accept(subscription(target, { bulk: { maxMessagesCount: 100, maxAwaitDurationMs: 50 } }), m)
    await waitFor(() => m.acked() === 1)
    expect(Date.now() - started).toBeGreaterThanOrEqual(45)
  })

  it('raw payload entries carry base64 events with application/octet-stream', async () => {
    const { dispatcher } = setup()
    const target = scripted(() => ({ ok: true, status: 200, body: '' }))
    const m = message('raw!')
    dispatcher.accept(subscription(target, { rawPayload: true, bulk: { maxMessagesCount: 1, maxAwaitDurationMs: 1000 } }), m)
    await waitFor(() => target.requests.length >= 1)
    const env = JSON.parse(target.requests[0]!.body.toString()) as { entries: { event: string; contentType: string }[] }
    expect(env.entries[0]).toMatchObject({ event: Buffer.from('raw!').toString('base64'), contentType: 'application/octet-stream' })
    // An empty 2xx body is not a bulk answer: every entry is retried, then left unacked.
    await waitFor(() => target.requests.length === 3)
    expect(m.acked()).toBe(0)
  })
})

describe('dispatcher: circuit breaker', () => {
  it("counts single and bulk answers on the pubsub's breaker; once open, neither reaches the target until it half-opens", async () => {
    const compiled = compileTrip('consecutiveFailures >= 2')
    if (!compiled.ok) throw new Error(compiled.error)
    let now = 0
    const breaker = new CircuitBreaker({ name: 'cb', maxRequests: 1, intervalMs: 0, timeoutMs: 1_000, trip: 'consecutiveFailures >= 2', shouldTrip: compiled.shouldTrip }, undefined, () => now)
    const dispatcher = new Dispatcher({
      logger: createLogger('silent'),
      metrics: new ForwarderMetrics(),
      concurrency: 4,
      publisher: () => ({ publish: async () => {} }),
      retryPolicy: () => ({ ...fast, maxRetries: 0 }),
      requestTimeoutMs: () => 1000,
      breaker: (pubsub) => (pubsub === 'mqtt' ? breaker : undefined),
    })
    let healthy = false
    const target = scripted(() => (healthy ? ok() : { ok: true, status: 503, body: '' }))
    const single = subscription(target)
    const bulk = subscription(target, { id: 'b', bulk: { maxMessagesCount: 1, maxAwaitDurationMs: 1000 } })
    const first = [message(cloudEvent('1', {})), message(cloudEvent('2', {}))]
    dispatcher.accept(single, first[0]!)
    dispatcher.accept(bulk, first[1]!)
    await waitFor(() => first.every((m) => m.released() === 1))
    expect(breaker.state).toBe('open')
    expect(target.requests).toHaveLength(2)
    // Open: refused before the target, for single and bulk alike.
    const refused = [message(cloudEvent('3', {})), message(cloudEvent('4', {}))]
    dispatcher.accept(single, refused[0]!)
    dispatcher.accept(bulk, refused[1]!)
    await waitFor(() => refused.every((m) => m.released() === 1))
    expect(target.requests).toHaveLength(2)
    // Half-open after the timeout: one trial gets through, succeeds, and closes it.
    now += 1_000
    healthy = true
    const later = message(cloudEvent('5', {}))
    dispatcher.accept(single, later)
    await waitFor(() => later.acked() === 1)
    expect(target.requests).toHaveLength(3)
    expect(breaker.state).toBe('closed')
  })
})
