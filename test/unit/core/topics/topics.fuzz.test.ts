import { createRequire } from 'node:module'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { TopicError } from '../../../../src/core/errors.js'
import {
  TopicMatcher,
  matchesFilter,
  parseSharedFilter,
  validateFilter,
  validatePublishTopic,
} from '../../../../src/core/topics/index.js'

// qlobber (what aedes matches subscriptions with) ships no type declarations; this is the
// slice of its API the oracle uses.
interface Qlobber<V> {
  add(topic: string, value: V): this
  match(topic: string): V[]
}
type QlobberCtor = new <V>(options: {
  separator: string
  wildcard_one: string
  wildcard_some: string
  match_empty_levels: boolean
}) => Qlobber<V>
const { Qlobber } = createRequire(import.meta.url)('qlobber') as { Qlobber: QlobberCtor }

const MQTT_OPTIONS = { separator: '/', wildcard_one: '+', wildcard_some: '#', match_empty_levels: true }

/** The spec rules, written plainly and recursively; a second oracle beside qlobber. */
function specOracle(filter: string, topic: string): boolean {
  let f = filter
  if (f.startsWith('$share/')) {
    const rest = f.slice('$share/'.length)
    f = rest.slice(rest.indexOf('/') + 1)
  }
  const fl = f.split('/')
  const tl = topic.split('/')
  if (topic.startsWith('$') && (fl[0] === '+' || fl[0] === '#')) return false
  const rec = (i: number, j: number): boolean => {
    if (i === fl.length) return j === tl.length
    if (fl[i] === '#') return true
    if (j === tl.length) return false
    return (fl[i] === '+' || fl[i] === tl[j]) && rec(i + 1, j + 1)
  }
  return rec(0, 0)
}

function isValidFilter(filter: string): boolean {
  try {
    validateFilter(filter)
    return true
  } catch (err) {
    expect(err).toBeInstanceOf(TopicError)
    return false
  }
}

const topicLevel = fc.constantFrom('a', 'b', 'c', '', '$SYS', '$x', 'é', '😀', 'a b')
const filterLevel = fc.oneof(
  { weight: 6, arbitrary: topicLevel },
  { weight: 3, arbitrary: fc.constantFrom('+', '#') },
  { weight: 1, arbitrary: fc.constantFrom('a+', 'b#', '++', '#a', '$share') },
)
const topicArb = fc.array(topicLevel, { minLength: 1, maxLength: 5 }).map((l) => l.join('/'))
const plainFilter = fc.array(filterLevel, { minLength: 1, maxLength: 5 }).map((l) => l.join('/'))
const filterArb = fc.oneof(
  { weight: 4, arbitrary: plainFilter },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('$share/g/', '$share/grp/', '$share//', '$share/g+/', '$share/g#/'), plainFilter)
      .map(([p, f]) => p + f),
  },
  { weight: 1, arbitrary: fc.constantFrom('$share/g/', '$share/g', '') },
)

describe('topic matching agrees with independent oracles', () => {
  it('matchesFilter == spec oracle on valid filters, false on invalid ones', () => {
    fc.assert(
      fc.property(filterArb, topicArb, (filter, topic) => {
        const want = isValidFilter(filter) ? specOracle(filter, topic) : false
        expect(matchesFilter(filter, topic)).toBe(want)
      }),
      { numRuns: 5000 },
    )
  })

  it('TopicMatcher == qlobber (MQTT options) plus the $-topic rule, for sets of filters', () => {
    fc.assert(
      fc.property(fc.array(filterArb, { maxLength: 12 }), fc.array(topicArb, { minLength: 1, maxLength: 8 }), (filters, topics) => {
        const matcher = new TopicMatcher<number>()
        const q = new Qlobber<number>(MQTT_OPTIONS)
        const valid: string[] = []
        filters.forEach((filter, i) => {
          if (isValidFilter(filter)) {
            matcher.add(filter, i)
            q.add(parseSharedFilter(filter).filter, i)
            valid.push(filter)
          } else {
            expect(() => matcher.add(filter, i)).toThrowError(TopicError)
          }
        })
        for (const topic of topics) {
          const dollar = topic.startsWith('$')
          const fromQlobber = q
            .match(topic)
            .filter((i) => {
              const first = parseSharedFilter(filters[i]!).filter.split('/')[0]
              return !(dollar && (first === '+' || first === '#'))
            })
            .sort((a, b) => a - b)
          const fromMatcher = matcher.match(topic).sort((a, b) => a - b)
          expect(fromMatcher, `${topic} in ${JSON.stringify(valid)}`).toEqual(fromQlobber)
          const fromFunction = filters.flatMap((f, i) => (matchesFilter(f, topic) ? [i] : []))
          expect(fromMatcher).toEqual(fromFunction)
        }
      }),
      { numRuns: 1500 },
    )
  })

  it('TopicMatcher stays consistent through removals', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(filterArb.filter(isValidFilter), { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        topicArb,
        (filters, removals, topic) => {
          const matcher = new TopicMatcher<number>()
          filters.forEach((f, i) => matcher.add(f, i))
          const live = new Set(filters.map((_, i) => i))
          for (const r of removals) {
            const i = r % filters.length
            expect(matcher.remove(filters[i]!, i)).toBe(live.delete(i))
          }
          expect(matcher.size).toBe(live.size)
          const want = [...live].filter((i) => specOracle(filters[i]!, topic)).sort((a, b) => a - b)
          expect(matcher.match(topic).sort((a, b) => a - b)).toEqual(want)
        },
      ),
      { numRuns: 1000 },
    )
  })
})

describe('validation never throws anything but TopicError', () => {
  const anyString = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: fc.constantFrom('a', '/', '+', '#', '$', '\u0000', '\ud800', '\udc00', 'é', ' ', '\n', '\u007f', '\u0085', '\ufffe', '\ufdd0', '\u{1fffe}'), maxLength: 20 }),
    fc.integer({ min: 195, max: 205 }).map((n) => 'a/'.repeat(n) + 'z'),
    filterArb,
  )

  it('validatePublishTopic', () => {
    fc.assert(
      fc.property(anyString, (topic) => {
        let ok = true
        try {
          validatePublishTopic(topic)
        } catch (err) {
          expect(err).toBeInstanceOf(TopicError)
          expect((err as TopicError).topic).toBe(topic)
          ok = false
        }
        const wellFormed = !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(topic)
        const refused = /[+#\u0000-\u001f\u007f-\u009f\ufdd0-\ufdef\ufffe\uffff]|[\ud83f\ud87f\ud8bf\ud8ff\ud93f\ud97f\ud9bf\ud9ff\uda3f\uda7f\udabf\udaff\udb3f\udb7f\udbbf\udbff][\udffe\udfff]/
        const separators = topic.split('/').length - 1
        const want = topic !== '' && !refused.test(topic) && wellFormed && Buffer.byteLength(topic) <= 65535 && separators <= 200
        expect(ok).toBe(want)
      }),
      { numRuns: 3000 },
    )
  })

  it('validateFilter, parseSharedFilter and TopicMatcher.add', () => {
    fc.assert(
      fc.property(anyString, (filter) => {
        const ok = isValidFilter(filter)
        try {
          parseSharedFilter(filter)
        } catch (err) {
          expect(err).toBeInstanceOf(TopicError)
          expect(ok).toBe(false)
        }
        let added = true
        try {
          new TopicMatcher<number>().add(filter, 1)
        } catch (err) {
          expect(err).toBeInstanceOf(TopicError)
          added = false
        }
        expect(added).toBe(ok)
      }),
      { numRuns: 3000 },
    )
  })
})
