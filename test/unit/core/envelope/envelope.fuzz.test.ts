import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MqttFnError } from '../../../../src/core/errors.js'
import {
  buildPublishPayload,
  decodeEvent,
  goMarshal,
  parseGoJson,
  parseGoJsonFloat,
  parseJsonUseNumber,
} from '../../../../src/core/envelope/index.js'

// V8's JSON.parse implements the same RFC 8259 grammar as Go's scanner, so it serves as the
// oracle for what is accepted; Go-specific decoding (U+FFFD, numbers) is checked elsewhere.

/** Text near JSON: real documents, fragments of them, and JSON-ish characters. */
const jsonish = fc.oneof(
  fc.json(),
  fc.json().map((t) => t.slice(0, Math.max(0, t.length - 1))),
  fc.string({ unit: fc.constantFrom(...'{}[]":,.-+eE0123456789 \t\n\\utrfalsn\u00e9\ud800\udc00'.split('')), maxLength: 30 }),
  fc.tuple(fc.json(), fc.string({ maxLength: 3 })).map(([a, b]) => a + b),
)

function accepts(f: () => unknown): boolean {
  try {
    f()
    return true
  } catch (err) {
    if (!(err instanceof MqttFnError)) throw err
    return false
  }
}

describe('Go JSON reader/writer properties', () => {
  it('parseJsonUseNumber accepts exactly what JSON.parse accepts', () => {
    fc.assert(
      fc.property(jsonish, (text) => {
        let oracle = true
        try {
          JSON.parse(text)
        } catch {
          oracle = false
        }
        expect(accepts(() => parseJsonUseNumber(text))).toBe(oracle)
      }),
      { numRuns: 2000 },
    )
  })

  it('goMarshal(parseJsonUseNumber(t)) is valid JSON equal to JSON.parse(t), and a fixed point', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        const once = goMarshal(parseJsonUseNumber(text))
        expect(JSON.parse(once)).toEqual(JSON.parse(text))
        expect(goMarshal(parseJsonUseNumber(once))).toBe(once)
      }),
      { numRuns: 1000 },
    )
  })

  it('goMarshal writes every string so that it reads back, lone surrogates as U+FFFD', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        const out = goMarshal(s)
        expect(/[<>&\u2028\u2029\u0000-\u001f]/.test(out)).toBe(false)
        expect(JSON.parse(out)).toBe(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'))
      }),
      { numRuns: 1000 },
    )
  })

  it('the JSON.parse fast path of parseGoJsonFloat agrees with the byte-level reader', () => {
    const withEscapes = fc.oneof(
      fc.json(),
      fc.array(fc.constantFrom('"\\ud800"', '"\\udc00"', '"\\ud83d\\ude00"', '"\\ud800\\ud800\\udc00"', '1e400', '-0', '"\\u0041"'), {
        minLength: 1,
        maxLength: 4,
      }).map((items) => `{${items.map((v, i) => `"${i % 2 === 0 ? '\\ud800' : 'k'}${i}":${v}`).join(',')}}`),
    )
    fc.assert(
      fc.property(withEscapes, (text) => {
        const bytes = Buffer.from(text, 'utf8')
        let fast: unknown
        let slow: unknown
        const fastOk = accepts(() => (fast = parseGoJsonFloat(bytes)))
        const slowOk = accepts(() => (slow = parseGoJson(bytes, { useNumber: false })))
        expect(fastOk).toBe(slowOk)
        if (fastOk) expect(fast).toEqual(slow)
      }),
      { numRuns: 1000 },
    )
  })
})

describe('buildPublishPayload on arbitrary requests', () => {
  const contentType = fc.oneof(
    fc.constantFrom(
      undefined,
      '',
      'application/json',
      'application/json; charset=utf-8',
      'application/cloudevents+json',
      'application/octet-stream',
      'text/plain',
      'application/problem+json',
    ),
    fc.string({ maxLength: 20 }),
  )
  const metadata = fc.dictionary(
    fc.constantFrom('rawPayload', 'ttl', 'ttlInSeconds', 'TTL', 'cloudevent.id', 'cloudevent.source', 'cloudevent.traceparent', 'x'),
    fc.oneof(fc.constantFrom('true', 'false', '1', '60', '90s', '-1', ''), fc.string({ maxLength: 8 })),
  )
  const body = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.json().map((t) => Buffer.from(t)))

  it('throws only MqttFnError, and otherwise writes a JSON object with topic, pubsubname and time', () => {
    fc.assert(
      fc.property(body, contentType, metadata, fc.string({ maxLength: 10 }), (data, ct, md, topic) => {
        let built: ReturnType<typeof buildPublishPayload>
        try {
          built = buildPublishPayload({
            pubsubName: 'p',
            topic,
            data,
            metadata: md,
            now: new Date(0),
            newId: () => 'id',
            ...(ct === undefined ? {} : { contentType: ct }),
          })
        } catch (err) {
          expect(err).toBeInstanceOf(MqttFnError)
          return
        }
        if (built.raw) {
          expect([...built.payload]).toEqual([...data])
          return
        }
        const ev = decodeEvent(built.payload)
        expect(ev.topic).toBe(topic.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'))
        expect(ev.pubsubname).toBe('p')
        expect(Object.hasOwn(ev, 'time')).toBe(true)
      }),
      { numRuns: 1500 },
    )
  })
})
