import { describe, expect, it } from 'vitest'
import { compileMatch, route } from '../../../src/forwarder/router.js'
import type { CompiledRule, Target } from '../../../src/forwarder/types.js'

const target = (name: string): Target => ({ kind: 'http', name, send: async () => ({ ok: true, status: 200, body: '' }) })

function rules(list: [string, string][]): CompiledRule[] {
  return list.map(([match, path]) => {
    if (!match) return { match, path, target: target(path) }
    const compiled = compileMatch(match)
    if (!compiled.ok) throw new Error(compiled.error)
    return { match, path, target: target(path), test: compiled.test }
  })
}

const event = { id: '1', type: 'order.created', source: 'shop', data: { total: 120.5, items: [1, 2, 3], country: 'DE' } }

describe('router (daprd findMatchingRoute)', () => {
  it('first true rule wins, in order; the default (empty match) last', () => {
    const r = rules([
      ['event.type == "order.cancelled"', '/cancel'],
      ['event.data.total > 100.0', '/big'],
      ['event.data.country == "DE"', '/de'],
      ['', '/default'],
    ])
    const result = route(r, event)
    expect(result.kind === 'matched' && result.rule.path).toBe('/big')
    const small = route(r, { ...event, data: { ...event.data, total: 5 } })
    expect(small.kind === 'matched' && small.rule.path).toBe('/de')
    const other = route(r, { ...event, data: { total: 1, items: [], country: 'FR' } })
    expect(other.kind === 'matched' && other.rule.path).toBe('/default')
  })

  it('JSON numbers compare as doubles with int literals too (cel-go heterogeneous equality)', () => {
    const r = rules([['event.data.n == 1', '/one']])
    expect(route(r, { data: { n: 1 } }).kind).toBe('matched')
  })

  it('no rule matches and no default: none (the message is dropped and acked)', () => {
    expect(route(rules([['event.type == "x"', '/x']]), event)).toEqual({ kind: 'none' })
  })

  it('a missing key without has() is an error, not a non-match', () => {
    const result = route(rules([['event.data.missing == 1', '/m'], ['', '/default']]), event)
    expect(result.kind).toBe('error')
    expect(route(rules([['has(event.data.missing)', '/m'], ['', '/default']]), event)).toMatchObject({ kind: 'matched', rule: { path: '/default' } })
  })

  it('a non-bool result is an error', () => {
    const result = route(rules([['event.type', '/t']]), event)
    expect(result.kind === 'error' && result.error.message).toMatch(/did not return a bool/)
  })

  it('macros and string functions work (size, exists, startsWith, matches)', () => {
    const r = rules([['event.data.items.exists(i, i > 2) && event.source.startsWith("sh") && event.type.matches("^order\\\\.")', '/ok']])
    expect(route(r, event).kind).toBe('matched')
  })

  it('a syntax error is reported at compile time with its position', () => {
    const bad = compileMatch('event.type ==')
    expect(bad.ok).toBe(false)
    expect(!bad.ok && bad.error).toMatch(/1:/)
  })
})
