import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Batcher, bulkEnvelope, deliverBulk } from '../../../src/forwarder/bulk.js'
import type { ForwardSubscription, Outcome, Target, TargetRequest } from '../../../src/forwarder/types.js'

const target: Target = { kind: 'http', name: 'x', send: async () => ({ ok: true, status: 200, body: '' }) }
const sub = (extra: Partial<ForwardSubscription> = {}): ForwardSubscription => ({
  id: 'b',
  source: { file: 'f', document: 1, origin: 'yaml' },
  pubsubname: 'mqtt',
  topic: 'metrics/#',
  rules: [{ match: '', path: '/m', target }],
  rawPayload: false,
  ordered: false,
  metadata: {},
  bulk: { maxMessagesCount: 3, maxAwaitDurationMs: 30 },
  ...extra,
})

describe('Batcher', () => {
  // Fake timers: the partial batch is handed over by its own maxAwaitDurationMs timer, exactly.
  beforeEach(() => void vi.useFakeTimers())
  afterEach(() => void vi.useRealTimers())

  it('hands over a full batch at once and a partial one after maxAwaitDurationMs', () => {
    const batches: number[][] = []
    const b = new Batcher<number>({ maxMessagesCount: 3, maxAwaitDurationMs: 30 }, (items) => batches.push(items))
    for (const n of [1, 2, 3, 4]) b.add(n)
    expect(batches).toEqual([[1, 2, 3]])
    vi.advanceTimersByTime(29)
    expect(batches).toEqual([[1, 2, 3]])
    vi.advanceTimersByTime(1)
    expect(batches).toEqual([[1, 2, 3], [4]])
  })

  it('take() empties without handing over', () => {
    const batches: number[][] = []
    const b = new Batcher<number>({ maxMessagesCount: 10, maxAwaitDurationMs: 10 }, (items) => batches.push(items))
    b.add(1)
    expect(vi.getTimerCount()).toBe(1)
    expect(b.take()).toEqual([1])
    expect(vi.getTimerCount()).toBe(0) // its timer is gone, not merely not yet due
    vi.advanceTimersByTime(1000)
    expect(batches).toEqual([])
  })
})

describe('bulkEnvelope', () => {
  it("is Dapr's bulk envelope with per-entry metadata and content type", () => {
    const event = { id: 'e1', data: { v: 1 }, specversion: '1.0' }
    const envelope = JSON.parse(bulkEnvelope(sub(), [{ entryId: 'x1', event, retained: true }]).toString())
    expect(envelope).toMatchObject({
      type: 'com.dapr.event.sent.bulk',
      topic: 'metrics/#',
      pubsubname: 'mqtt',
      metadata: { pubsubName: 'mqtt' },
      entries: [{ entryId: 'x1', event, metadata: { retained: 'true' }, contentType: 'application/cloudevents+json' }],
    })
    expect(envelope.id).toMatch(/^[0-9a-f-]{36}$/)
  })
})

describe('deliverBulk', () => {
  it('settles each entry once; RETRY entries are re-sent alone until the retries are used up', async () => {
    const sent: string[][] = []
    const t: Target = {
      kind: 'http',
      name: 'app',
      send: async (req: TargetRequest) => {
        const env = JSON.parse(req.body.toString()) as { entries: { entryId: string }[] }
        sent.push(env.entries.map((e) => e.entryId))
        const statuses = env.entries.map((e) => ({ entryId: e.entryId, status: e.entryId === 'a' ? 'SUCCESS' : e.entryId === 'b' ? 'DROP' : 'RETRY' }))
        return { ok: true, status: 200, body: JSON.stringify({ statuses }) }
      },
    }
    const outcomes = new Map<string, Outcome[]>()
    const retries: number[] = []
    await deliverBulk(sub(), t, ['a', 'b', 'c'].map((entryId) => ({ entryId, event: { id: entryId }, retained: false })), {
      policy: { policy: 'constant', initialIntervalMs: 1, maxIntervalMs: 1, maxRetries: 2, multiplier: 1, randomizationFactor: 0 },
      signal: new AbortController().signal,
      timeoutMs: 5000,
      onOutcome: (id, o) => outcomes.set(id, [...(outcomes.get(id) ?? []), o]),
      onRetry: (_retry, _delay, n) => retries.push(n),
    })
    expect(sent).toEqual([['a', 'b', 'c'], ['c'], ['c']])
    expect(Object.fromEntries([...outcomes].map(([id, os]) => [id, os.map((o) => o.kind)]))).toEqual({ a: ['success'], b: ['drop'], c: ['retry'] })
    expect(retries).toEqual([1, 1])
  })
})
