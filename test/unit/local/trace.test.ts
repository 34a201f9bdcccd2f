import { describe, expect, it } from 'vitest'
import { DevTrace } from '../../../src/local/trace.js'

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
