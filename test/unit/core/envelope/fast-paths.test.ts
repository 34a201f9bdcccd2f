/**
 * The publish path's shortcuts against the general code they stand in for: each must give
 * the same bytes on every input, or decline (and leave it to the general path).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { goCompactJsonAsIs } from '../../../../src/core/envelope/go-json-compact.js'
import { writeNewEnvelope } from '../../../../src/core/envelope/envelope.js'
import {
  applyMetadata,
  buildPublishPayload,
  decodeGoString,
  decodeJsonUseNumber,
  formatRfc3339,
  goMarshal,
  newCloudEventsEnvelope,
  type NewEnvelopeArgs,
} from '../../../../src/core/envelope/index.js'

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8')

/** What daprd writes for a JSON-typed body: the decoded value re-encoded, or the text as a string when it is not JSON. */
function general(bytes: Uint8Array): string {
  let data: unknown
  try {
    data = decodeJsonUseNumber(bytes)
  } catch {
    data = decodeGoString(bytes)
  }
  return goMarshal(data)
}

/** The fast path agrees with the general one whenever it answers. Returns whether it answered. */
function agrees(bytes: Uint8Array): boolean {
  const fast = goCompactJsonAsIs(bytes)
  if (fast === undefined) return false
  expect(fast).toBe(general(bytes))
  return true
}

const NUMBERS = [
  '0', '-0', '1', '-1', '1.0', '-0.0', '1e21', '1E21', '1e+21', '1e-7', '1.5e300', '1e400', '-1e-400',
  '12345678901234567890', '-9223372036854775809', '18446744073709551616', '0.1', '3.14159265358979323846',
  '100', '1E+2', '0e0', '0.000001', '123456789012345678901234567890.5',
]
const NOT_NUMBERS = ['01', '1.', '.5', '-', '+1', '1e', '1e+', '--1', '0x10', 'NaN', 'Infinity', '1.e5', '-.5', '00']

/** Strings as they appear between quotes in a body: plain, escaped, HTML, separators, non-ASCII, invalid. */
const STRING_BODIES = [
  '', 'a', 'plain text', 'x'.repeat(300), '\\"', '\\\\', '\\n', '\\r\\t', '\\b\\f', '\\/', '\\u0041', '\\u003c', '\\u00e9',
  '\\ud83d\\ude00', '\\ud800', '\\udc00x', '\\u2028', '<', '>', '&', 'a<b', '\u2028', '\u2029', 'é', '日本', '😀', '\u007f',
  '\u0080', '\ufffd', '\ufeff', 'tab\there', 'nl\nhere',
]

describe('goCompactJsonAsIs (JSON data as it came) vs decode + goMarshal', () => {
  it('takes the body as is when Go would write it back unchanged', () => {
    for (const text of [
      '{}', '[]', '""', '0', 'true', 'false', 'null', '{"a":1}', '{"a":{"b":[1,2,{"c":null}]}}', '[1,"x",true,null,{}]',
      '{"orderId":42,"pad":"xxx","status":"created"}', '{"a":"\\"quoted\\" \\\\ \\n"}', '{"é":"日本","😀":1}',
    ]) {
      expect(agrees(utf8(text)), text).toBe(true)
      expect(goCompactJsonAsIs(utf8(text))).toBe(text)
    }
  })

  it('sorts members that are out of Go order, each written as it came', () => {
    for (const text of [
      '{"orderId":42,"status":"created","pad":"xxx"}',
      '{"b":1,"a":2}',
      '{"z":{"y":1,"x":[{"q":1,"p":2}]},"a":[]}',
      '[{"b":1,"a":2},{"d":[3,{"f":1,"e":0}],"c":"x"}]',
      '{"b":1,"ab":2,"a":3,"":4}',
      '{"\u00e9":1,"z":2,"\ud83d\ude00":3,"\uffff":4}',
    ]) {
      expect(agrees(utf8(text)), text).toBe(true)
    }
    expect(goCompactJsonAsIs(utf8('{"b":1,"a":2}'))).toBe('{"a":2,"b":1}')
  })

  it('declines what Go writes differently: whitespace, trailing bytes, duplicates, escapes, HTML, U+2028/9, invalid UTF-8, deep nesting', () => {
    const declined = [
      ' {}', '{} ', '{ }', '{"a": 1}', '[1, 2]', '{"a":1}x', '{"a":1}{"b":2}', '{"a":1,"a":2}', '{"b":1,"a":2,"b":3}',
      '{"a\\"":1}', '{"a\\n":1}', '{"\\u0061":1}', '"\\/"', '"\\u0041"', '"\\ud800"', '"<"', '{"<":1}', '"a&b"',
      '"\u2028"', '"\u2029"', '{"\u2028":1}', '"x\ty"',
      '[' .repeat(600) + ']'.repeat(600),
    ]
    for (const text of declined) {
      expect(goCompactJsonAsIs(utf8(text)), text).toBeUndefined()
    }
    for (const bytes of [
      Buffer.from([0x22, 0xff, 0x22]),
      Buffer.from([0x22, 0xc3, 0x22]),
      Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]),
      Buffer.from([0x7b, 0x22, 0x80, 0x22, 0x3a, 0x31, 0x7d]),
      Buffer.alloc(0),
    ]) {
      expect(goCompactJsonAsIs(bytes)).toBeUndefined()
    }
    // What is declined still comes out right through the general path (checked by the callers' tests).
    for (const text of declined) agrees(utf8(text))
  })

  it('numbers: literals kept, non-numbers declined', () => {
    for (const n of NUMBERS) {
      for (const text of [n, `[${n}]`, `{"n":${n}}`, `[${n},${n}]`]) {
        expect(agrees(utf8(text)), text).toBe(true)
        expect(goCompactJsonAsIs(utf8(text))).toBe(text)
      }
    }
    for (const n of NOT_NUMBERS) {
      for (const text of [n, `[${n}]`, `{"n":${n}}`]) expect(goCompactJsonAsIs(utf8(text)), text).toBeUndefined()
    }
  })

  it('strings: every escape, HTML character, separator and non-ASCII case, as values and as keys', () => {
    for (const s of STRING_BODIES) {
      for (const text of [`"${s}"`, `["${s}"]`, `{"${s}":1}`, `{"k":"${s}","a":"${s}"}`, `{"z":1,"${s}":"${s}"}`]) agrees(utf8(text))
    }
  })

  const jsonBodies = fc.oneof(
    fc.json({ maxDepth: 4 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc.string({ unit: 'binary', maxLength: 20 }).map((s) => JSON.stringify({ [s]: s, a: [s, 1.5, -0], z: { [s]: null } })),
    fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 4 }), fc.oneof(fc.constantFrom(...NUMBERS), fc.constantFrom(...STRING_BODIES.map((s) => `"${s}"`)))).map(
      (d) => `{${Object.entries(d).map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`,
    ),
    fc.array(fc.tuple(fc.constantFrom('a', 'b', 'ab', 'é', ''), fc.constantFrom(...NUMBERS)), { maxLength: 6 }).map(
      (members) => `{${members.map(([k, v]) => `"${k}":${v}`).join(',')}}`,
    ),
  )

  it('agrees with the general path on generated JSON (compact, unsorted, duplicated, unicode, numbers)', () => {
    let answered = 0
    fc.assert(
      fc.property(jsonBodies, (text) => {
        if (agrees(utf8(text))) answered++
      }),
      { numRuns: 3000 },
    )
    // The fast path must actually run for most of these, or the comparison proves nothing.
    expect(answered).toBeGreaterThan(1000)
  })

  it('agrees with the general path on mutated bytes (inserted, replaced, truncated)', () => {
    const mutated = fc
      .tuple(jsonBodies, fc.nat(), fc.constantFrom(0x20, 0x0a, 0x22, 0x5c, 0x2c, 0x3a, 0x7b, 0x7d, 0x5b, 0x5d, 0x30, 0x2d, 0x65, 0x2e, 0x80, 0xff, 0xe2, 0x3c, 0x00), fc.constantFrom('insert', 'replace', 'truncate'))
      .map(([text, at, byte, how]) => {
        const b = utf8(text)
        const i = b.length === 0 ? 0 : at % b.length
        if (how === 'truncate') return b.subarray(0, i)
        if (how === 'insert') return Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)])
        const c = Buffer.from(b)
        if (c.length > 0) c[i] = byte
        return c
      })
    fc.assert(
      fc.property(mutated, (bytes) => {
        agrees(bytes)
      }),
      { numRuns: 4000 },
    )
  })

  it('is not fooled by its own reused state between calls', () => {
    // A deep unsorted body, then a shallow one: nothing of the first may leak into the second.
    agrees(utf8('{"b":{"d":1,"c":2},"a":1}'))
    expect(goCompactJsonAsIs(utf8('{"a":1}'))).toBe('{"a":1}')
    expect(goCompactJsonAsIs(utf8('{"x":{"z":1}}'))).toBe('{"x":{"z":1}}')
    expect(goCompactJsonAsIs(utf8('{"x":{"a":1},"y":{"a":1}}'))).toBe('{"x":{"a":1},"y":{"a":1}}')
  })
})

describe('writeNewEnvelope (the fields in sorted order) vs goMarshal of the envelope map', () => {
  const text = fc.oneof(
    fc.constantFrom('', 'x', 'a<b>&c', '\u2028\u2029', '\ud800', '\udcff', 'é日本😀', '"\\', '\u0000\u001f', 'Dapr'),
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.string({ maxLength: 12 }),
  )
  const contentType = fc.constantFrom(
    '', 'application/json', 'APPLICATION/JSON', 'application/json; charset=utf-8', 'application/json;', 'text/plain',
    'application/octet-stream', 'application/cloudevents+protobuf', 'application/xml', 'application/jsonx', 'text/json', 'ApPlIcAtIoN/OcTeT-StReAm;x',
  )
  const data = fc.oneof(
    fc.json({ maxDepth: 3 }).map(utf8),
    fc.constantFrom(...['{"b":1,"a":2}', '{"a":1,"a":2}', ' {"a":1}', '"<"', '1e21', '-0', '1.0', '12345678901234567890', 'not json', ''].map(utf8)),
    fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a)),
    fc.string({ unit: 'binary', maxLength: 16 }).map(utf8),
  )
  const args = fc.record({
    id: text,
    source: text,
    type: text,
    subject: text,
    topic: text,
    pubsubName: text,
    dataContentType: contentType,
    data,
    traceParent: text,
    traceState: text,
    nowMs: fc.integer({ min: 0, max: 4_102_444_800_000 }),
    expirationMs: fc.option(fc.integer({ min: 0, max: 4_102_444_800 }).map((s) => s * 1000)),
  })

  it('gives the same bytes on every generated envelope', () => {
    fc.assert(
      fc.property(args, (a) => {
        const envelopeArgs: NewEnvelopeArgs = { ...a, now: new Date(a.nowMs), newId: () => 'generated-id' }
        const expiration = a.expirationMs === null ? undefined : new Date(a.expirationMs)
        const map = newCloudEventsEnvelope(envelopeArgs)
        if (expiration !== undefined) map['expiration'] = formatRfc3339(expiration.getTime())
        expect(writeNewEnvelope(envelopeArgs, expiration)).toBe(goMarshal(map))
      }),
      { numRuns: 3000 },
    )
  })
})

describe('buildPublishPayload: payload and the event built on first use agree', () => {
  it('the payload is goMarshal of the event, the id is drawn once, the event is the general path\'s', () => {
    fc.assert(
      fc.property(
        fc.json({ maxDepth: 3 }),
        fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', ''),
        fc.constantFrom<Record<string, string>>({}, { ttlInSeconds: '60' }, { 'cloudevent.id': 'mine', 'cloudevent.subject': 's<' }, { ttl: '1h', 'cloudevent.type': 't' }),
        (body, contentType, metadata) => {
          let ids = 0
          const now = new Date(1_764_000_000_123)
          const built = buildPublishPayload({ pubsubName: 'p', topic: 't/1', data: utf8(body), contentType, metadata, now, newId: () => `id-${++ids}` })
          expect(ids).toBeLessThanOrEqual(1)
          const event = built.event!
          expect(built.payload.toString('utf8')).toBe(goMarshal(event))
          expect(built.event).toBe(event)
          // The event as the general path builds it, with the same id.
          const expected = newCloudEventsEnvelope({
            id: metadata['cloudevent.id'] ?? 'id-1', source: '', type: metadata['cloudevent.type'] ?? '', subject: metadata['cloudevent.subject'] ?? '',
            topic: 't/1', pubsubName: 'p', dataContentType: contentType, data: utf8(body), traceParent: '', traceState: '', now, newId: () => 'unused',
          })
          const expiration = applyMetadata(expected, metadata, now)
          expect(event).toEqual(expected)
          expect(built.expiration).toEqual(expiration)
          expect(ids).toBeLessThanOrEqual(1)
        },
      ),
      { numRuns: 500 },
    )
  })
})

describe('formatRfc3339 with its one-second cache', () => {
  it('matches a fresh format for times in any order, within and across seconds', () => {
    const fresh = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z')
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 253_402_300_797_000 }), { maxLength: 8 }), fc.integer({ min: 0, max: 2_000 }), (times, step) => {
        for (const t of times) {
          expect(formatRfc3339(t)).toBe(fresh(t))
          expect(formatRfc3339(t + step)).toBe(fresh(t + step))
          expect(formatRfc3339(t)).toBe(fresh(t))
        }
      }),
    )
  })
})
