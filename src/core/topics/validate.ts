import { TopicError } from '../errors.js'

/**
 * MQTT topic names and filters (MQTT 3.1.1 section 4.7, MQTT 5 sections 4.7-4.8): UTF-8
 * strings of 1..65535 bytes without U+0000, `/` separating levels, `+` (one level) and `#`
 * (this level and all below) only in filters and only as a whole level, `#` last.
 * Shared subscriptions: `$share/{ShareName}/{filter}`.
 *
 * Also refused, because a broker may close the connection over them (MQTT 3.1.1 section 1.5.3,
 * MQTT 5 section 1.5.4) and Mosquitto does ("disconnected due to malformed packet", for every
 * other request on that connection too): the control characters U+0001..U+001F and
 * U+007F..U+009F and the Unicode noncharacters (U+FDD0..U+FDEF, U+nFFFE, U+nFFFF), which
 * Mosquitto's `mosquitto_validate_utf8` (lib/utf8_mosq.c) rejects; and, in a topic name to
 * publish to, more than 200 `/`: Mosquitto's `TOPIC_HIERARCHY_LIMIT` (lib/util_topic.c,
 * "disconnected due to protocol error"). Filters keep the spec's unlimited depth (they are
 * matched here for any broker; Mosquitto refuses a SUBSCRIBE deeper than that too).
 */

/** The largest UTF-8 length of a topic or filter (a two-byte length prefix on the wire). */
export const MAX_TOPIC_BYTES = 65535

/** The most `/` a topic name to publish to may hold: Mosquitto disconnects a client that sends more. */
export const MAX_TOPIC_SEPARATORS = 200

const SHARE_PREFIX = '$share/'

/** U+0000 is reported on its own (MQTT forbids it outright); the rest of the C0 and C1 controls here. */
function isControl(c: number): boolean {
  return (c >= 0x01 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f)
}

/** Unicode noncharacters: U+FDD0..U+FDEF and the last two code points of every plane. */
function isNoncharacter(cp: number): boolean {
  return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe
}

const hex = (cp: number): string => cp.toString(16).toUpperCase().padStart(4, '0')

/** Characters that may never appear (fast test; the loop below says which one and where). */
const SUSPECT = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]/

/** The first character MQTT or the broker refuses, as a problem text; undefined when there is none. */
function characterProblem(s: string): string | undefined {
  if (!SUSPECT.test(s)) return undefined
  if (s.includes('\u0000')) return 'must not contain U+0000 (NUL)'
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80 ? c >= 0x20 && c !== 0x7f : c > 0x9f && c < 0xd800) continue
    if (isControl(c)) return `must not contain the control character U+${hex(c)} (at index ${i})`
    let cp = c
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = c <= 0xdbff && i + 1 < s.length ? s.charCodeAt(i + 1) : 0
      if (d < 0xdc00 || d > 0xdfff) return `is not valid UTF-8 (unpaired surrogate U+${hex(c)} at index ${i})`
      cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
    }
    if (isNoncharacter(cp)) return `must not contain the Unicode noncharacter U+${hex(cp)} (at index ${i})`
    if (cp > 0xffff) i++
  }
  return undefined
}

/**
 * Why `s` cannot be an MQTT UTF-8 string (a user property name or value, a content type), or
 * undefined when it can: the characters refused as in topics, at most 65535 bytes. May be empty.
 */
export function mqttStringProblem(s: string): string | undefined {
  const bad = characterProblem(s)
  if (bad !== undefined) return bad
  if (s.length * 3 > MAX_TOPIC_BYTES && Buffer.byteLength(s, 'utf8') > MAX_TOPIC_BYTES) return `is longer than ${MAX_TOPIC_BYTES} bytes in UTF-8`
  return undefined
}

/** Problems every topic string can have, name or filter; undefined when there are none. */
function stringProblem(s: string): string | undefined {
  if (s === '') return 'must not be empty'
  const bad = characterProblem(s)
  if (bad !== undefined) return bad
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
  if (topic.length > MAX_TOPIC_SEPARATORS) {
    let separators = 0
    for (let i = topic.indexOf('/'); i >= 0; i = topic.indexOf('/', i + 1)) separators++
    if (separators > MAX_TOPIC_SEPARATORS) {
      return `has ${separators} "/" separators; Mosquitto disconnects a client that publishes to more than ${MAX_TOPIC_SEPARATORS}`
    }
  }
  return undefined
}

/**
 * Throws TopicError unless `topic` is a valid MQTT topic name to publish to: non-empty, no
 * wildcard characters, no NUL, control character or noncharacter, valid UTF-8 (no lone
 * surrogates), at most 65535 UTF-8 bytes and 200 `/`.
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
 * without `+`, `#` or `/` and a non-empty filter; the characters and lengths of a topic name.
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
