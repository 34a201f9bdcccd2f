import { describe, expect, it } from 'vitest'
import {
  CloudEventsSpecVersion,
  DataBase64Field,
  DefaultCloudEventSource,
  DefaultCloudEventType,
  decodeEvent,
  fromRawPayload,
  goMarshal,
  hasExpired,
  parseRfc3339,
} from '../../../../src/core/envelope/index.js'

describe('fromRawPayload (subscribe side, rawPayload subscriptions)', () => {
  it('builds the envelope Dapr posts to the app, without time or trace fields', () => {
    const ev = fromRawPayload(Buffer.from('hi<>'), 'sensors/1', 'mqtt', () => 'id-raw')
    expect(goMarshal(ev)).toBe(
      '{"data_base64":"aGk8Pg==","datacontenttype":"application/octet-stream","id":"id-raw","pubsubname":"mqtt",' +
        '"source":"Dapr","specversion":"1.0","topic":"sensors/1","type":"com.dapr.event.sent"}',
    )
  })

  it('uses a new UUID per call by default', () => {
    const a = fromRawPayload(new Uint8Array(), 't', 'p')
    const b = fromRawPayload(new Uint8Array(), 't', 'p')
    expect(a.id).not.toBe(b.id)
    expect(a[DataBase64Field]).toBe('')
    expect([a.source, a.type, a.specversion]).toEqual([DefaultCloudEventSource, DefaultCloudEventType, CloudEventsSpecVersion])
  })
})

describe('decodeEvent (json.Unmarshal into map[string]any)', () => {
  it('returns the event with float64 numbers', () => {
    expect(decodeEvent(Buffer.from('{"id":"1","data":{"n":12345678901234567890,"f":1.0}}'))).toEqual({
      id: '1',
      data: { n: 12345678901234567000, f: 1 },
    })
  })

  it('throws ERR_PUBSUB_CLOUD_EVENTS_SER for non-JSON and for JSON that is not an object', () => {
    for (const text of ['plain text from a device', '', '{"a":', '[1,2]', '"s"', '42', 'null', '{"a":1} x', '{"n":1e400}']) {
      expect(() => decodeEvent(Buffer.from(text)), text).toThrowError(
        expect.objectContaining({ name: 'MqttFnError', code: 'ERR_PUBSUB_CLOUD_EVENTS_SER' }),
      )
    }
  })

  it('replaces invalid UTF-8 with U+FFFD as Go does', () => {
    const bytes = Buffer.concat([Buffer.from('{"d":"'), Buffer.from([0xc3]), Buffer.from('x"}')])
    expect(decodeEvent(bytes)).toEqual({ d: '\ufffdx' })
  })
})

describe('hasExpired (HasExpired)', () => {
  const now = new Date('2026-11-26T07:20:48Z')
  const cases: Array<[unknown, boolean, string]> = [
    ['2026-11-26T07:20:47Z', true, 'one second ago'],
    ['2026-11-26T07:20:48Z', false, 'exactly now is not before now'],
    ['2026-11-26T07:20:49Z', false, 'in the future'],
    ['2026-11-26T07:20:47.5+00:00', true, 'fraction and numeric zone'],
    ['2026-11-26T08:20:47+01:00', true, 'zone offset applied'],
    ['2026-11-26T06:20:49-01:00', false, 'negative offset'],
    ['2026-11-26T7:20:47Z', true, "Go's fallback parser takes a one-digit hour"],
    ['2026-11-26T07:20:47,5Z', true, "Go's fallback parser takes a comma before the fraction"],
    ['2026-02-30T00:00:00Z', false, 'malformed: no such day'],
    ['2026-11-26t07:20:47Z', false, "malformed: lowercase 't'"],
    ['2026-11-26 07:20:47Z', false, 'malformed: space'],
    ['2026-11-26T07:20:47', false, 'malformed: no zone'],
    ['2026-11-26T24:00:00Z', false, 'malformed: hour 24'],
    ['yesterday', false, 'malformed'],
    ['', false, 'empty'],
    [1, false, 'not a string'],
    [null, false, 'null'],
  ]
  for (const [expiration, want, why] of cases) {
    it(`${JSON.stringify(expiration)}: ${why}`, () => expect(hasExpired({ expiration }, now)).toBe(want))
  }

  it('is false without an expiration field', () => {
    expect(hasExpired({}, now)).toBe(false)
  })

  it('defaults now to the current time', () => {
    expect(hasExpired({ expiration: '2000-01-01T00:00:00Z' })).toBe(true)
    expect(hasExpired({ expiration: '9999-01-01T00:00:00Z' })).toBe(false)
  })
})

describe('parseRfc3339', () => {
  it('handles leap days and years below 100', () => {
    expect(parseRfc3339('2024-02-29T00:00:00Z')).toBe(Date.UTC(2024, 1, 29))
    expect(parseRfc3339('2023-02-29T00:00:00Z')).toBeUndefined()
    expect(parseRfc3339('0001-01-01T00:00:00Z')).toBe(-62135596800000)
  })
})
