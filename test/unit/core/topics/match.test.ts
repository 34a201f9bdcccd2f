import { describe, expect, it } from 'vitest'
import { TopicError } from '../../../../src/core/errors.js'
import { TopicMatcher, matchesFilter } from '../../../../src/core/topics/index.js'

// Examples from the MQTT 3.1.1 spec, section 4.7.1, and MQTT 5, section 4.7.2.
const SPEC_CASES: Array<[filter: string, topic: string, matches: boolean]> = [
  ['sport/tennis/player1/#', 'sport/tennis/player1', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
  ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
  ['sport/#', 'sport', true],
  ['#', 'sport/tennis', true],
  ['sport/tennis/+', 'sport/tennis/player1', true],
  ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
  ['sport/+', 'sport', false],
  ['sport/+', 'sport/', true],
  ['+', 'sport', true],
  ['+/+', '/finance', true],
  ['/+', '/finance', true],
  ['+', '/finance', false],
  ['+/tennis/#', 'sport/tennis', true],
  ['#', '$SYS/monitor/Clients', false],
  ['+/monitor/Clients', '$SYS/monitor/Clients', false],
  ['$SYS/#', '$SYS/monitor/Clients', true],
  ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
  // More edge cases.
  ['a/b', 'a/b', true],
  ['a/b', 'a/b/', false],
  ['a/b', 'A/b', false],
  ['a/#', 'a/', true],
  ['a/#', 'ab', false],
  ['a/+', 'ab', false],
  ['+/#', 'a', true],
  ['+/#', '/', true],
  ['+', '', true],
  ['#', '', true],
  ['a//b', 'a//b', true],
  ['a/+/b', 'a//b', true],
  ['$x', '$x', true],
  ['+', '$', false],
  ['a/$b/#', 'a/$b/c', true],
  ['+/$b', 'a/$b', true],
  ['#', 'a\nb', true],
  ['é/+', 'é/😀', true],
  ['$share/g/#', 'a/b', true],
  ['$share/g/#', '$SYS/x', false],
  ['$share/g/a/+', 'a/b', true],
  ['$share/g/a/+', '$share/g/a/b', false],
  // Invalid filters match nothing.
  ['a/#/b', 'a/x/b', false],
  ['foo#', 'foo#', false],
  ['foo+', 'foo+', false],
  ['$share//a', 'a', false],
  ['', '', false],
]

describe('matchesFilter', () => {
  for (const [filter, topic, want] of SPEC_CASES) {
    it(`${JSON.stringify(filter)} vs ${JSON.stringify(topic)} -> ${want}`, () => {
      expect(matchesFilter(filter, topic)).toBe(want)
    })
  }
})

describe('TopicMatcher', () => {
  it('agrees with matchesFilter on the spec cases', () => {
    const m = new TopicMatcher<number>()
    const valid = SPEC_CASES.filter(([f]) => {
      try {
        m.add(f, -1)
        m.removeAll(f)
        return true
      } catch {
        return false
      }
    })
    valid.forEach(([f], i) => m.add(f, i))
    for (const [, topic] of SPEC_CASES) {
      const want = valid.flatMap(([f], i) => (matchesFilter(f, topic) ? [i] : []))
      expect(m.match(topic).sort((a, b) => a - b), topic).toEqual(want)
    }
  })

  it('returns every value under every matching filter, with the filter as registered', () => {
    const m = new TopicMatcher<string>()
    m.add('orders/#', 'all-orders')
    m.add('orders/+/created', 'created')
    m.add('$share/workers/orders/+/created', 'shared')
    m.add('orders/+/created', 'created-too')
    m.add('other', 'other')
    expect(m.size).toBe(5)
    const got = m.matchEntries('orders/42/created').sort((a, b) => a.value.localeCompare(b.value))
    expect(got).toEqual([
      { filter: 'orders/#', value: 'all-orders' },
      { filter: 'orders/+/created', value: 'created' },
      { filter: 'orders/+/created', value: 'created-too' },
      { filter: '$share/workers/orders/+/created', value: 'shared' },
    ])
    expect(m.match('orders')).toEqual(['all-orders'])
    expect(m.test('nothing')).toBe(false)
  })

  it('keeps a repeated (filter, value) pair once', () => {
    const m = new TopicMatcher<string>()
    m.add('a/+', 'v')
    m.add('a/+', 'v')
    expect(m.size).toBe(1)
    expect(m.match('a/b')).toEqual(['v'])
  })

  it('refuses invalid filters with TopicError', () => {
    const m = new TopicMatcher<string>()
    for (const f of ['', 'a/#/b', 'foo+', '$share//a', '$share/g/']) expect(() => m.add(f, 'x'), f).toThrowError(TopicError)
    expect(m.size).toBe(0)
  })

  it('removes one value or all values of a filter and prunes empty branches', () => {
    const m = new TopicMatcher<string>()
    m.add('a/+/c', 'one')
    m.add('a/+/c', 'two')
    m.add('$share/g/a/+/c', 'three')
    m.add('a/#', 'hash')
    expect(m.remove('a/+/c', 'one')).toBe(true)
    expect(m.remove('a/+/c', 'one')).toBe(false)
    expect(m.match('a/b/c').sort()).toEqual(['hash', 'three', 'two'])
    expect(m.removeAll('a/+/c')).toBe(true)
    expect(m.match('a/b/c').sort()).toEqual(['hash', 'three'])
    expect(m.removeAll('$share/g/a/+/c')).toBe(true)
    expect(m.removeAll('a/#')).toBe(true)
    expect(m.size).toBe(0)
    expect(m.match('a/b/c')).toEqual([])
    expect(m.removeAll('not/there')).toBe(false)
    expect(m.removeAll('a/#/b')).toBe(false)
    m.add('x', 'again')
    m.clear()
    expect(m.size).toBe(0)
    expect(m.match('x')).toEqual([])
  })

  it('handles topics with many levels without recursion', () => {
    const m = new TopicMatcher<string>()
    m.add('#', 'all')
    m.add('+/' + 'a/'.repeat(9999) + '#', 'deep')
    const topic = 'x/' + 'a/'.repeat(20000) + 'end'
    expect(m.match(topic).sort()).toEqual(['all', 'deep'])
  })
})
