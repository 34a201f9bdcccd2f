import { matchableFilter } from './validate.js'

/**
 * Topic matching as the MQTT spec defines it (3.1.1 section 4.7, 5.0 section 4.7):
 * - `+` matches exactly one level, which may be empty;
 * - `#` matches its parent level and any number of levels below (`a/#` matches `a`, `a/`, `a/b/c`);
 * - a topic starting with `$` is not matched by a filter whose first level is a wildcard;
 * - `$share/{group}/` is not part of what is matched.
 * Dapr's pubsub.mqtt3 is laxer (`buildRegexForTopic`); the differences are listed in the
 * README and pinned in test/unit/core/topics/dapr-differences.test.ts.
 */

/**
 * True when `topic` (a PUBLISH topic name) matches `filter`. An invalid filter matches nothing,
 * as a broker would refuse to subscribe to it. The topic is compared level by level as given.
 */
export function matchesFilter(filter: string, topic: string): boolean {
  const f = matchableFilter(filter)
  if (f === undefined) return false
  return matchLevels(f.split('/'), topic)
}

function matchLevels(levels: readonly string[], topic: string): boolean {
  const first = levels[0]
  if (topic.startsWith('$') && (first === '+' || first === '#')) return false
  let start = 0
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!
    if (level === '#') return true
    // start === -1: the topic has no level i.
    if (start < 0) return false
    const slash = topic.indexOf('/', start)
    const end = slash < 0 ? topic.length : slash
    if (level !== '+' && (end - start !== level.length || !topic.startsWith(level, start))) return false
    start = slash < 0 ? -1 : slash + 1
  }
  return start < 0
}
