import { TopicError } from '../errors.js'

/**
 * MQTT topic names and filters (MQTT 3.1.1 section 4.7, MQTT 5 sections 4.7-4.8): UTF-8
 * strings of 1..65535 bytes without U+0000, `/` separating levels, `+` (one level) and `#`
 * (this level and all below) only in filters and only as a whole level, `#` last.
 * Shared subscriptions: `$share/{ShareName}/{filter}`.
 */

/** The largest UTF-8 length of a topic or filter (a two-byte length prefix on the wire). */
export const MAX_TOPIC_BYTES = 65535

const SHARE_PREFIX = '$share/'

/** Index of the first lone surrogate (a string that is not valid UTF-8), or -1. */
function loneSurrogateIndex(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0xd800 || c > 0xdfff) continue
    if (c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++
        continue
      }
    }
    return i
  }
  return -1
}

/** Problems every topic string can have, name or filter; undefined when there are none. */
function stringProblem(s: string): string | undefined {
  if (s === '') return 'must not be empty'
  if (s.includes('\u0000')) return 'must not contain U+0000 (NUL)'
  const bad = loneSurrogateIndex(s)
  if (bad >= 0) {
    return `is not valid UTF-8 (unpaired surrogate U+${s.charCodeAt(bad).toString(16).toUpperCase()} at index ${bad})`
  }
  // Cheap bound first: each UTF-16 unit is at most 3 UTF-8 bytes.
  if (s.length * 3 > MAX_TOPIC_BYTES) {
    const bytes = Buffer.byteLength(s, 'utf8')
    if (bytes > MAX_TOPIC_BYTES) return `is ${bytes} bytes long in UTF-8; MQTT allows at most ${MAX_TOPIC_BYTES}`
  }
  return undefined
}

/** Why `topic` cannot be a PUBLISH topic name, or undefined when it can. */
export function publishTopicProblem(topic: string): string | undefined {
  const p = stringProblem(topic)
  if (p !== undefined) return p
  if (topic.includes('+') || topic.includes('#')) return 'wildcards (+, #) are not allowed in a publish topic'
  return undefined
}

/**
 * Throws TopicError unless `topic` is a valid MQTT topic name to publish to: non-empty, no
 * wildcard characters, no NUL, valid UTF-8 (no lone surrogates), at most 65535 UTF-8 bytes.
 */
export function validatePublishTopic(topic: string): void {
  const p = publishTopicProblem(topic)
  if (p !== undefined) throw new TopicError(topic, p)
}

/** Why the levels of a plain (not shared) filter break the wildcard rules, or undefined. */
function levelsProblem(filter: string): string | undefined {
  if (!filter.includes('+') && !filter.includes('#')) return undefined
  const levels = filter.split('/')
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!
    if (level.includes('#')) {
      if (level !== '#') return `"#" must stand alone in its level (level ${i + 1} is ${JSON.stringify(level)})`
      if (i !== levels.length - 1) return '"#" is only allowed as the last level'
    } else if (level.includes('+') && level !== '+') {
      return `"+" must stand alone in its level (level ${i + 1} is ${JSON.stringify(level)})`
    }
  }
  return undefined
}

export interface SharedFilter {
  /** The share name of a `$share/{group}/{filter}` subscription; absent for a plain filter. */
  group?: string
  /** The filter that messages are matched against (without the `$share/{group}/` prefix). */
  filter: string
}

type SharedParse = { ok: true; value: SharedFilter } | { ok: false; problem: string }

function splitShared(filter: string): SharedParse {
  if (!filter.startsWith(SHARE_PREFIX)) return { ok: true, value: { filter } }
  const rest = filter.slice(SHARE_PREFIX.length)
  const slash = rest.indexOf('/')
  if (slash < 0) return { ok: false, problem: 'a shared subscription needs the form $share/{group}/{filter}' }
  const group = rest.slice(0, slash)
  const inner = rest.slice(slash + 1)
  if (group === '') return { ok: false, problem: 'the share name of $share/{group}/{filter} must not be empty' }
  if (group.includes('+') || group.includes('#')) {
    return { ok: false, problem: `the share name ${JSON.stringify(group)} must not contain "+" or "#"` }
  }
  if (inner === '') return { ok: false, problem: 'the filter of $share/{group}/{filter} must not be empty' }
  return { ok: true, value: { group, filter: inner } }
}

/** Why `filter` is not a valid subscription filter, or undefined when it is. */
export function filterProblem(filter: string): string | undefined {
  const p = stringProblem(filter)
  if (p !== undefined) return p
  const shared = splitShared(filter)
  if (!shared.ok) return shared.problem
  return levelsProblem(shared.value.filter)
}

/**
 * Throws TopicError unless `filter` is a valid MQTT topic filter: `#` only as the last level
 * and alone in it, `+` alone in its level, `$share/{group}/{filter}` with a non-empty group
 * without `+`, `#` or `/` and a non-empty filter; no NUL, valid UTF-8, at most 65535 bytes.
 */
export function validateFilter(filter: string): void {
  const p = filterProblem(filter)
  if (p !== undefined) throw new TopicError(filter, p)
}

/**
 * Splits `$share/{group}/{filter}` into its parts; a plain filter comes back as `{ filter }`.
 * Throws TopicError when the `$share/` form itself is malformed (empty group or filter, a
 * wildcard in the group). The inner filter's levels are not checked here (validateFilter does).
 */
export function parseSharedFilter(filter: string): SharedFilter {
  const shared = splitShared(filter)
  if (!shared.ok) throw new TopicError(filter, shared.problem)
  return shared.value
}

/** The filter to match with and whether it is usable at all, without throwing. */
export function matchableFilter(filter: string): string | undefined {
  if (stringProblem(filter) !== undefined) return undefined
  const shared = splitShared(filter)
  if (!shared.ok || levelsProblem(shared.value.filter) !== undefined) return undefined
  return shared.value.filter
}
