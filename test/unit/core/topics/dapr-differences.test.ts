import { describe, expect, it } from 'vitest'
import { matchesFilter, validateFilter } from '../../../../src/core/topics/index.js'

/**
 * Dapr's pubsub.mqtt3 routes an incoming message to a subscription with
 * `handlerForTopic` (exact topic, then the `$share` alias, then `buildRegexForTopic`'s regex),
 * components-contrib pubsub/mqtt3/mqtt.go. mqtt-fn follows the MQTT spec instead.
 *
 * Rows: the filters and `tryMatches` of components-contrib `Test_buildRegexForTopic`
 * (mqtt_test.go), plus rows found by porting the function (marked "extra"). For each topic:
 * [what Dapr answers, what the spec (and mqtt-fn) answers]. Every pair that differs carries a
 * comment saying how. `daprMatches` below is that port; the first test checks it against
 * Dapr's own column, so the table cannot drift from what Dapr does.
 */

// The Go regexp `.` does not match "\n"; JS `.` also skips "\r", U+2028, U+2029.
const GO_DOT = '[^\\n]'

function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&')
}

/** Port of components-contrib `buildRegexForTopic`. */
function daprBuildRegex(topicName: string): string {
  let lastPos = -1
  let start = 0
  let sb = ''
  if (/[#+]/.test(topicName)) {
    sb = '^'
    for (let i = 0; i < topicName.length; i++) {
      const okPos = i === 0 || topicName[i - 1] === '/'
      if (topicName[i] === '#' && okPos) {
        lastPos = i
        const end = i > 0 && i === topicName.length - 1 ? i - 1 : i
        sb += quoteMeta(topicName.slice(start, end)) + `(${GO_DOT}*)`
        start = i + 1
      } else if (topicName[i] === '+' && okPos) {
        lastPos = i
        if (i > 0 && i === topicName.length - 1) sb += quoteMeta(topicName.slice(start, i - 1)) + '((\\/|)[^\\/]*)'
        else sb += quoteMeta(topicName.slice(start, i)) + '([^\\/]*)'
        start = i + 1
      }
    }
    sb += quoteMeta(topicName.slice(lastPos + 1)) + '$'
  }
  return lastPos === -1 ? '' : sb
}

/** Port of `addTopic` + `handlerForTopic` for one subscription. */
function daprMatches(subscription: string, topic: string): boolean {
  let topicName = subscription
  let alias: string | undefined
  const shared = new RegExp(`^\\$share\\/(${GO_DOT}*?)\\/${GO_DOT}`).exec(subscription)
  if (shared !== null) {
    topicName = subscription.slice(shared[0].length - 1)
    alias = topicName
  }
  if (topic === subscription || topic === alias) return true
  const regex = daprBuildRegex(topicName)
  return regex !== '' && new RegExp(regex).test(topic)
}

interface Row {
  filter: string
  /** topic -> [Dapr, spec] */
  cases: Record<string, [boolean, boolean]>
}

const T = true
const F = false

const ROWS: Row[] = [
  {
    filter: '#',
    cases: {
      helloworld: [T, T],
      'helloworld/': [T, T],
      'helloworld/22': [T, T],
      '/helloworld': [T, T],
      '/helloworld/': [T, T],
      '/helloworld/22': [T, T],
      'Ei fu. Siccome immobile, dato il mortal sospiro, stette la spoglia immemore.': [T, T],
      '🐶': [T, T],
      '🐶/foo': [T, T],
      '🐶/foo/bar': [T, T],
      '$SYS/broker/load': [T, F], // extra. Dapr: "#" matches $-topics. Spec: a filter starting with a wildcard never matches a topic starting with "$".
      'a\nb': [F, T], // extra. Dapr: "#" is the Go regex (.*), whose "." skips "\n". Spec: "#" matches any level content.
    },
  },
  {
    filter: '#/foo', // Spec: invalid filter ("#" not last); brokers refuse it, so it matches nothing.
    cases: {
      helloworld: [F, F],
      'helloworld/': [F, F],
      'helloworld/22': [F, F],
      'helloworld/foo': [T, F], // Dapr: "#" in the middle accepted, matches one or more levels.
      'hello/world/foo': [T, F], // Dapr: "#" in the middle spans several levels.
      'helloworld/foo/bar': [F, F],
      '/helloworld': [F, F],
      '/helloworld/': [F, F],
      '/helloworld/22': [F, F],
      '/helloworld/foo': [T, F], // Dapr: "#" in the middle accepted.
      '/hello/world/foo': [T, F], // Dapr: "#" in the middle accepted.
      '/helloworld/foo/bar': [F, F],
      '🐶': [F, F],
      '🐶/foo': [T, F], // Dapr: "#" in the middle accepted.
      '🐶/😄/foo': [T, F], // Dapr: "#" in the middle accepted.
      '🐶/foo/bar': [F, F],
      '🐶/😄': [F, F],
    },
  },
  {
    filter: '+',
    cases: {
      helloworld: [T, T],
      'helloworld/': [F, F],
      'helloworld/22': [F, F],
      '/helloworld': [F, F],
      '/helloworld/': [F, F],
      '/helloworld/22': [F, F],
      'Ei fu. Siccome immobile, dato il mortal sospiro, stette la spoglia immemore.': [T, T],
      '🐶': [T, T],
      '🐶/foo': [F, F],
      '🐶/foo/bar': [F, F],
      $SYS: [T, F], // extra. Dapr: "+" matches a $-topic. Spec: no wildcard-first filter matches a "$" topic.
    },
  },
  {
    filter: '+/foo',
    cases: {
      helloworld: [F, F],
      'helloworld/': [F, F],
      'helloworld/22': [F, F],
      'helloworld/foo': [T, T],
      'hello/world/foo': [F, F],
      'helloworld/foo/bar': [F, F],
      '/helloworld': [F, F],
      '/helloworld/': [F, F],
      '/helloworld/22': [F, F],
      '/helloworld/foo': [F, F],
      '/hello/world/foo': [F, F],
      '/helloworld/foo/bar': [F, F],
      '🐶': [F, F],
      '🐶/foo': [T, T],
      '🐶/😄/foo': [F, F],
      '🐶/foo/bar': [F, F],
      '🐶/😄': [F, F],
      '$SYS/foo': [T, F], // extra. Dapr: "+" first matches "$SYS". Spec: it does not.
    },
  },
  {
    filter: 'foo#', // Dapr: not a wildcard, exact match only. Spec: invalid filter.
    cases: {
      'foo#': [T, F], // extra. Dapr: exact topic "foo#" matches. Spec: the filter is invalid and matches nothing.
      foo: [F, F],
    },
  },
  {
    filter: 'foo+', // Dapr: not a wildcard, exact match only. Spec: invalid filter.
    cases: {
      'foo+': [T, F], // extra. Dapr: exact topic "foo+" matches. Spec: invalid filter.
      foox: [F, F],
    },
  },
  {
    filter: 'foo/#',
    cases: {
      helloworld: [F, F],
      foo: [T, T],
      'foo/': [T, T],
      'foo/bar': [T, T],
      '/helloworld': [F, F],
      'foo/helloworld': [T, T],
      'foo/hello/world': [T, T],
      'hello/world': [F, F],
      '🐶': [F, F],
      'foo/🐶': [T, T],
      '🐶/foo/bar': [F, F],
      'foo/🐶/bar': [T, T],
      foobar: [T, F], // extra. Dapr: trailing "/#" becomes ^foo(.*)$, so any topic starting "foo" matches. Spec: only "foo" and below.
    },
  },
  {
    filter: 'foo/#/bar', // Spec: invalid filter.
    cases: {
      helloworld: [F, F],
      'foo/': [F, F],
      'foo/bar': [F, F],
      'foo/hi/bar': [T, F], // Dapr: "#" in the middle accepted.
      'foo/hi/hi/hi/bar': [T, F], // Dapr: "#" in the middle spans several levels.
      'foo/hi/world': [F, F],
    },
  },
  {
    filter: 'foo/+',
    cases: {
      helloworld: [F, F],
      foo: [T, F], // Dapr: trailing "/+" also matches the parent. Spec: "+" needs a level.
      'foo/': [T, T],
      'foo/bar': [T, T],
      '/helloworld': [F, F],
      'foo/helloworld': [T, T],
      'foo/hello/world': [F, F],
      'hello/world': [F, F],
      '🐶': [F, F],
      'foo/🐶': [T, T],
      '🐶/foo/bar': [F, F],
      'foo/🐶/bar': [F, F],
      foobar: [T, F], // extra. Dapr: trailing "/+" becomes ^foo((\/|)[^\/]*)$, so "foobar" matches. Spec: no.
    },
  },
  {
    filter: 'foo/+/bar',
    cases: {
      helloworld: [F, F],
      'foo/': [F, F],
      'foo/bar': [F, F],
      'foo/hi/bar': [T, T],
      'foo/hi/hi/hi/bar': [F, F],
      'foo/hi/world': [F, F],
    },
  },
  {
    filter: 'event/data/+/+/+/1/1',
    cases: {
      helloworld: [F, F],
      'event/data': [F, F],
      'event/data/a/b/c/1/1': [T, T],
      'event/data/a/b/c/1/2': [F, F],
      'event/data/a/b/1/1': [F, F],
      'event/data/a/bbb/ccc/1/1': [T, T],
    },
  },
  {
    filter: '+/+/+/1/1',
    cases: {
      helloworld: [F, F],
      'a/b/c/': [F, F],
      'a/b/c/1': [F, F],
      'a/b/c/1/1': [T, T],
      'a/b/c/1/2': [F, F],
      'a/b/1/1': [F, F],
      'a/bbb/ccc/1/1': [T, T],
    },
  },
  {
    filter: '+/#/1/1', // Spec: invalid filter.
    cases: {
      helloworld: [F, F],
      'a/b/c/': [F, F],
      'a/b/c/1': [F, F],
      'a/b/c/1/1': [T, F], // Dapr: "#" in the middle accepted.
      'a/b/c/1/2': [F, F],
      'a/b/1/1': [T, F], // Dapr: "#" in the middle accepted.
      'a/bbb/ccc/1/1': [T, F], // Dapr: "#" in the middle accepted.
      'aa/bbb/ccc/ddd/1/1': [T, F], // Dapr: "#" in the middle accepted.
    },
  },
  {
    filter: 'foo/+/bar/+',
    cases: {
      helloworld: [F, F],
      'foo/': [F, F],
      'foo/bar': [F, F],
      'foo/hi/bar': [T, F], // Dapr: trailing "/+" also matches the parent. Spec: "+" needs a level.
      'foo/hi/bar/foo': [T, T],
      'foo/hi/bar/foo/hi': [F, F],
      'foo/hi/bar/foo/bar': [F, F],
      'foo/hi/hi/hi/bar': [F, F],
      'foo/hi/world': [F, F],
    },
  },
  {
    filter: 'foo/#/bar/+', // Spec: invalid filter.
    cases: {
      helloworld: [F, F],
      'foo/': [F, F],
      'foo/bar': [F, F],
      'foo/hi/bar': [T, F], // Dapr: "#" in the middle, and trailing "/+" matching the parent.
      'foo/hi/bar/foo': [T, F], // Dapr: "#" in the middle accepted.
      'foo/h/i/bar/foo': [T, F], // Dapr: "#" in the middle accepted.
      'foo/h/i/0/bar/foo': [T, F], // Dapr: "#" in the middle accepted.
      'foo/hi/bar/foo/hi': [F, F],
      'foo/hi/bar/foo/bar': [T, F], // Dapr: "#" in the middle accepted.
      'foo/h/i/bar/foo/bar': [T, F], // Dapr: "#" in the middle accepted.
      'foo/hi/hi/hi/bar': [T, F], // Dapr: "#" in the middle accepted.
      'foo/hi/world': [F, F],
    },
  },
  // Extra rows.
  {
    filter: 'a/+b', // Spec: invalid filter ("+" not alone in its level).
    cases: {
      'a/xb': [T, F], // Dapr: "+" after "/" is a wildcard even when the level goes on.
      'a/+b': [T, F], // Dapr: regex ^a/([^\/]*)b$ matches. Spec: invalid filter.
      'a/x': [F, F],
    },
  },
  {
    filter: 'a/#b', // Spec: invalid filter ("#" not alone in its level).
    cases: {
      'a/x/yb': [T, F], // Dapr: "#" after "/" is a wildcard even when the level goes on.
      'a/x': [F, F],
    },
  },
  {
    filter: '$share/g/foo/+',
    cases: {
      'foo/x': [T, T],
      foo: [T, F], // Dapr: the alias "foo/+" matches its parent. Spec: no.
      '$share/g/foo/x': [F, F],
    },
  },
  {
    filter: '$share//foo', // Spec: invalid (empty share name).
    cases: {
      foo: [T, F], // Dapr: its $share regex takes an empty group. Spec: invalid filter.
    },
  },
  {
    filter: '$share/g/#',
    cases: {
      'a/b': [T, T],
      '$SYS/x': [T, F], // Dapr: "#" matches $-topics. Spec: no.
    },
  },
]

describe("Dapr's pubsub.mqtt3 matching vs the MQTT spec", () => {
  it("the port reproduces Dapr's column (Test_buildRegexForTopic tryMatches)", () => {
    for (const row of ROWS) {
      for (const [topic, [dapr]] of Object.entries(row.cases)) {
        expect(daprMatches(row.filter, topic), `${row.filter} vs ${topic}`).toBe(dapr)
      }
    }
  })

  it("the port builds Dapr's regexes", () => {
    // The `regex` column of Test_buildRegexForTopic.
    const regexes: Record<string, string> = {
      'hello world': '',
      '#': '^(.*)$',
      '#/foo': '^(.*)/foo$',
      '+': '^([^\\/]*)$',
      '+/foo': '^([^\\/]*)/foo$',
      'foo#': '',
      'foo+': '',
      'foo/#': '^foo(.*)$',
      'foo/#/bar': '^foo/(.*)/bar$',
      'foo/+': '^foo((\\/|)[^\\/]*)$',
      'foo/+/bar': '^foo/([^\\/]*)/bar$',
      'event/data/+/+/+/1/1': '^event/data/([^\\/]*)/([^\\/]*)/([^\\/]*)/1/1$',
      '+/+/+/1/1': '^([^\\/]*)/([^\\/]*)/([^\\/]*)/1/1$',
      '+/#/1/1': '^([^\\/]*)/(.*)/1/1$',
      'foo/+/bar/+': '^foo/([^\\/]*)/bar((\\/|)[^\\/]*)$',
      'foo/#/bar/+': '^foo/(.*)/bar((\\/|)[^\\/]*)$',
    }
    for (const [filter, want] of Object.entries(regexes)) {
      expect(daprBuildRegex(filter).replaceAll(`(${GO_DOT}*)`, '(.*)'), filter).toBe(want)
    }
  })

  it('mqtt-fn answers the spec column', () => {
    for (const row of ROWS) {
      for (const [topic, [, spec]] of Object.entries(row.cases)) {
        expect(matchesFilter(row.filter, topic), `${row.filter} vs ${topic}`).toBe(spec)
      }
    }
  })

  it('mqtt-fn refuses the filters that Dapr accepts but the spec forbids', () => {
    for (const f of ['#/foo', 'foo#', 'foo+', 'foo/#/bar', '+/#/1/1', 'foo/#/bar/+', 'a/+b', 'a/#b', '$share//foo']) {
      expect(() => validateFilter(f), f).toThrow()
    }
  })

  it('counts the differences the README lists', () => {
    const diffs = ROWS.flatMap((row) =>
      Object.entries(row.cases)
        .filter(([, [dapr, spec]]) => dapr !== spec)
        .map(([topic]) => `${row.filter} | ${topic}`),
    )
    expect(diffs).toHaveLength(35)
  })
})
