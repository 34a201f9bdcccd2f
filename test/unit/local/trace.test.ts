import { describe, expect, it, vi } from 'vitest'
import { cloudEventId, deliveryHop, DevTrace, forwarderLogger } from '../../../src/local/trace.js'

function capture(format: 'pretty' | 'json'): { trace: DevTrace; lines: string[] } {
  const lines: string[] = []
  return { trace: new DevTrace(format, (l) => lines.push(l), false), lines }
}

describe('DevTrace.log (lines from the forwarder)', () => {
  it('json: one flat object, the fields beside time, level, source and msg', () => {
    const { trace, lines } = capture('json')
    const time = new Date('2024-05-06T07:08:09.010Z')
    trace.log({ source: 'forwarder', level: 'warn', msg: 'payload is not a CloudEvent', time, fields: { topic: 'a/b', reason: 'bad', err: { type: 'Error' } } })
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] ?? '')).toEqual({
      time: '2024-05-06T07:08:09.010Z',
      level: 'warn',
      source: 'forwarder',
      msg: 'payload is not a CloudEvent',
      topic: 'a/b',
      reason: 'bad',
      err: { type: 'Error' },
    })
  })

  it('json: a field named like a structural key does not replace it', () => {
    const { trace, lines } = capture('json')
    trace.log({ source: 'forwarder', level: 'error', msg: 'm', fields: { source: 'x', level: 1, msg: '{"a":1}', time: 5 } })
    const entry = JSON.parse(lines[0] ?? '') as Record<string, unknown>
    expect(entry).toMatchObject({ source: 'forwarder', level: 'error', msg: 'm' })
    expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT/)
  })

  it('pretty: source, level and message', () => {
    const { trace, lines } = capture('pretty')
    trace.log({ source: 'forwarder', level: 'warn', msg: 'no matching route; skipping', fields: { topic: 'a' } })
    expect(lines).toEqual(['forwarder warn: no matching route; skipping'])
  })
})

describe('forwarderLogger (the forwarder\'s pino lines in the dev log)', () => {
  it('json: a warning becomes one flat line with source forwarder, without pid, hostname and name', async () => {
    const { trace, lines } = capture('json')
    const logger = forwarderLogger(trace)
    logger.warn({ topic: 'orders/x', reason: 'not JSON' }, 'payload is not a CloudEvent')
    await vi.waitFor(() => expect(lines).toHaveLength(1))
    const entry = JSON.parse(lines[0] ?? '') as Record<string, unknown>
    expect(entry).toMatchObject({ source: 'forwarder', level: 'warn', msg: 'payload is not a CloudEvent', topic: 'orders/x', reason: 'not JSON' })
    expect(entry).not.toHaveProperty('pid')
    expect(entry).not.toHaveProperty('hostname')
    expect(entry).not.toHaveProperty('name')
  })

  it('below warn is not written; sensitive fields are redacted', async () => {
    const { trace, lines } = capture('json')
    const logger = forwarderLogger(trace)
    logger.info('routine')
    logger.error({ headers: { authorization: 'Bearer s3cret' } }, 'target refused')
    await vi.waitFor(() => expect(lines).toHaveLength(1))
    expect(lines[0]).toContain('target refused')
    expect(lines[0]).not.toContain('s3cret')
  })
})

describe('deliveryHop (the forwarder\'s hops)', () => {
  it('routed, dead-lettered, dropped and left unacknowledged each get their line; an acked success none', () => {
    const { trace, lines } = capture('pretty')
    const base = { subscription: 'orders', topic: 'orders/1', id: 'abcdef0123' }
    deliveryHop(trace, { kind: 'routed', ...base, target: 'lambda:priority-orders', rule: '1' })
    deliveryHop(trace, { kind: 'routed', ...base, target: 'http://app/orders', rule: 'default' })
    deliveryHop(trace, { kind: 'settled', ...base, acked: true, how: 'deadlettered', ms: 1 })
    deliveryHop(trace, { kind: 'settled', ...base, acked: true, how: 'dropped', ms: 1 })
    deliveryHop(trace, { kind: 'settled', ...base, acked: false, how: 'timeout', ms: 1 })
    deliveryHop(trace, { kind: 'settled', ...base, acked: true, how: 'success', ms: 1 })
    expect(lines).toHaveLength(5)
    expect(lines[0]).toMatch(/forwarder\s+orders\/1  subscription orders -> lambda:priority-orders \(rule 1\)  \[abcdef01\]$/)
    expect(lines[1]).toContain('(default route)')
    expect(lines[2]).toMatch(/dead-letter\s+orders\/1  published to the dead-letter topic/)
    expect(lines[3]).toContain('dropped (DROP, 404, expired or no route)')
    expect(lines[4]).toContain('left unacknowledged (timeout): the broker redelivers it')
  })
})

describe('cloudEventId', () => {
  it('the id of a CloudEvent payload, nothing for other payloads', () => {
    expect(cloudEventId(Buffer.from('{"id":"e1","type":"t"}'))).toBe('e1')
    expect(cloudEventId('{"id":7}')).toBeUndefined()
    expect(cloudEventId('{not json')).toBeUndefined()
    expect(cloudEventId(Buffer.from('raw bytes'))).toBeUndefined()
  })
})
