import { describe, expect, it } from 'vitest'
import { TopicError } from '../../../../src/core/errors.js'
import { parseSharedFilter, validateFilter, validatePublishTopic } from '../../../../src/core/topics/index.js'

function problem(f: () => void): string | undefined {
  try {
    f()
    return undefined
  } catch (err) {
    expect(err).toBeInstanceOf(TopicError)
    expect((err as TopicError).code).toBe('ERR_TOPIC_INVALID')
    return (err as TopicError).message
  }
}

describe('validatePublishTopic', () => {
  it('accepts topic names the spec allows', () => {
    for (const t of ['a', 'orders/new', '/', '//', '/a/', 'a b', '$SYS/x', 'é/😀', 'x'.repeat(65535), 'é'.repeat(32767)]) {
      expect(problem(() => validatePublishTopic(t)), t.slice(0, 20)).toBeUndefined()
    }
  })

  it('names the topic and the problem', () => {
    const cases: Array<[string, string]> = [
      ['', 'topic "": must not be empty'],
      ['a/#', 'topic "a/#": wildcards (+, #) are not allowed in a publish topic'],
      ['a/+/b', 'topic "a/+/b": wildcards (+, #) are not allowed in a publish topic'],
      ['foo#', 'topic "foo#": wildcards (+, #) are not allowed in a publish topic'],
      ['a\u0000b', 'topic "a\\u0000b": must not contain U+0000 (NUL)'],
      ['a\ud800', 'topic "a\\ud800": is not valid UTF-8 (unpaired surrogate U+D800 at index 1)'],
      ['\udc00a', 'topic "\\udc00a": is not valid UTF-8 (unpaired surrogate U+DC00 at index 0)'],
    ]
    for (const [t, msg] of cases) expect(problem(() => validatePublishTopic(t))).toBe(msg)
  })

  it('refuses what Mosquitto disconnects for: control characters, noncharacters (MQTT 1.5.4), more than 200 "/" (issue 17)', () => {
    const cases: Array<[string, string]> = [
      ['a\nb', 'topic "a\\nb": must not contain the control character U+000A (at index 1)'],
      ['\r\nx', 'topic "\\r\\nx": must not contain the control character U+000D (at index 0)'],
      ['a\u0001', 'topic "a\\u0001": must not contain the control character U+0001 (at index 1)'],
      ['a/\u001f', 'topic "a/\\u001f": must not contain the control character U+001F (at index 2)'],
      ['a\u007f', 'topic "a\u007f": must not contain the control character U+007F (at index 1)'],
      ['a\u0085', 'topic "a\u0085": must not contain the control character U+0085 (at index 1)'],
      ['a\u009f', 'topic "a\u009f": must not contain the control character U+009F (at index 1)'],
      ['a\ufdd0', 'topic "a\ufdd0": must not contain the Unicode noncharacter U+FDD0 (at index 1)'],
      ['a\ufffe', 'topic "a\ufffe": must not contain the Unicode noncharacter U+FFFE (at index 1)'],
      ['😀\u{1ffff}', 'topic "😀\u{1ffff}": must not contain the Unicode noncharacter U+1FFFF (at index 2)'],
      ['a\u{10fffe}', 'topic "a\u{10fffe}": must not contain the Unicode noncharacter U+10FFFE (at index 1)'],
      ['a/'.repeat(201) + 'z', `topic ${JSON.stringify('a/'.repeat(201) + 'z')}: has 201 "/" separators; Mosquitto disconnects a client that publishes to more than 200`],
    ]
    for (const [t, msg] of cases) expect(problem(() => validatePublishTopic(t))).toBe(msg)
    // Neighbours of the refused ranges stay valid.
    for (const t of ['a\u0020b', 'a~b', 'a\u00a0b', 'a\ufdcf\ufdf0\ufffd', '\u{1fffd}', '\u{10fffd}', 'a/'.repeat(200) + 'z']) {
      expect(problem(() => validatePublishTopic(t)), JSON.stringify(t).slice(0, 30)).toBeUndefined()
    }
  })

  it('limits the UTF-8 length, not the UTF-16 length', () => {
    expect(problem(() => validatePublishTopic('x'.repeat(65536)))).toMatch(/is 65536 bytes long in UTF-8; MQTT allows at most 65535$/)
    // 32768 two-byte characters are 65536 bytes.
    expect(problem(() => validatePublishTopic('é'.repeat(32768)))).toMatch(/65536 bytes/)
    expect(problem(() => validatePublishTopic('😀'.repeat(16384)))).toMatch(/65536 bytes/)
  })
})

describe('validateFilter', () => {
  it('accepts spec-valid filters', () => {
    const ok = [
      '#',
      '+',
      'a/#',
      'a/+',
      '+/+',
      '/+',
      '+/',
      '+/#',
      'a//b',
      'sport/tennis/+/#',
      '$SYS/#',
      '$share/group/a/+/b',
      '$share/g/#',
      '$share/g/$SYS/#',
      '$share',
      '$sharex/a',
      'a b/c',
    ]
    for (const f of ok) expect(problem(() => validateFilter(f)), f).toBeUndefined()
  })

  it('refuses misplaced wildcards and malformed shared subscriptions, naming the problem', () => {
    const cases: Array<[string, string]> = [
      ['', 'must not be empty'],
      ['a/#/b', '"#" is only allowed as the last level'],
      ['#/a', '"#" is only allowed as the last level'],
      ['foo#', '"#" must stand alone in its level (level 1 is "foo#")'],
      ['a/b#', '"#" must stand alone in its level (level 2 is "b#")'],
      ['a/##', '"#" must stand alone in its level (level 2 is "##")'],
      ['foo+', '"+" must stand alone in its level (level 1 is "foo+")'],
      ['a/+b/c', '"+" must stand alone in its level (level 2 is "+b")'],
      ['a/++', '"+" must stand alone in its level (level 2 is "++")'],
      ['$share/g', 'a shared subscription needs the form $share/{group}/{filter}'],
      ['$share/', 'a shared subscription needs the form $share/{group}/{filter}'],
      ['$share//a', 'the share name of $share/{group}/{filter} must not be empty'],
      ['$share/g/', 'the filter of $share/{group}/{filter} must not be empty'],
      ['$share/g+/a', 'the share name "g+" must not contain "+" or "#"'],
      ['$share/#/a', 'the share name "#" must not contain "+" or "#"'],
      ['$share/g/a/#/b', '"#" is only allowed as the last level'],
      ['a\u0000', 'must not contain U+0000 (NUL)'],
      ['a/\ud800', 'is not valid UTF-8 (unpaired surrogate U+D800 at index 2)'],
    ]
    for (const [f, msg] of cases) expect(problem(() => validateFilter(f)), f).toBe(`topic ${JSON.stringify(f)}: ${msg}`)
  })

  it('refuses control characters and noncharacters too; the depth stays unlimited', () => {
    expect(problem(() => validateFilter('a/\n/#'))).toBe('topic "a/\\n/#": must not contain the control character U+000A (at index 2)')
    expect(problem(() => validateFilter('$share/g\u0085/a'))).toMatch(/control character U\+0085/)
    expect(problem(() => validateFilter('a/\uffff'))).toMatch(/noncharacter U\+FFFF/)
    expect(problem(() => validateFilter('a/'.repeat(300) + '#'))).toBeUndefined()
  })

  it('limits the UTF-8 length', () => {
    expect(problem(() => validateFilter('a/'.repeat(32767) + '#'))).toBeUndefined()
    expect(problem(() => validateFilter('a/'.repeat(32767) + '##'))).toMatch(/65536 bytes/)
  })
})

describe('parseSharedFilter', () => {
  it('splits $share/{group}/{filter}', () => {
    expect(parseSharedFilter('$share/grp/a/+/b')).toEqual({ group: 'grp', filter: 'a/+/b' })
    expect(parseSharedFilter('$share/g/$SYS/#')).toEqual({ group: 'g', filter: '$SYS/#' })
    expect(parseSharedFilter('$share/g//')).toEqual({ group: 'g', filter: '/' })
  })

  it('returns a plain filter as it is', () => {
    expect(parseSharedFilter('a/#')).toEqual({ filter: 'a/#' })
    expect(parseSharedFilter('$share')).toEqual({ filter: '$share' })
    expect(parseSharedFilter('$SHARE/g/a')).toEqual({ filter: '$SHARE/g/a' })
  })

  it('throws TopicError for a malformed shared form', () => {
    for (const f of ['$share/g', '$share//a', '$share/g/', '$share/+/a']) {
      expect(() => parseSharedFilter(f), f).toThrowError(TopicError)
    }
  })
})
