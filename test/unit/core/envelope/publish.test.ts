import { describe, expect, it } from 'vitest'
import { MqttFnError } from '../../../../src/core/errors.js'
import { buildPublishPayload, type PublishRequest } from '../../../../src/core/envelope/index.js'

// Each fixture is the exact payload daprd would hand to pubsub.mqtt for the same request:
// dapr pkg/api/http/http.go onPublish -> pkg/runtime/pubsub/cloudevents.go NewCloudEvent ->
// components-contrib pubsub/envelope.go -> ApplyMetadata -> json.Marshal. Written by hand.

const NOW = new Date('2026-11-26T07:20:48.123Z')
const ID = 'b2d1c0a8-3c4e-4f5a-9b6c-7d8e9f0a1b2c'
const TP = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'

function publish(overrides: Partial<PublishRequest> & { body?: string | Uint8Array }): string {
  const { body = '', ...rest } = overrides
  const req: PublishRequest = {
    pubsubName: 'mqtt',
    topic: 'orders/new',
    data: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
    appId: 'checkout',
    now: NOW,
    newId: () => ID,
    ...rest,
  }
  return buildPublishPayload(req).payload.toString('utf8')
}

/** The fields every fresh envelope of these fixtures shares, in Go's key order around `data`. */
function envelope(data: string, extra: { ct?: string; exp?: string; subject?: string; trace?: [string, string]; source?: string; id?: string; type?: string } = {}): string {
  const [tp, ts] = extra.trace ?? ['', '']
  return (
    `{${data},"datacontenttype":${JSON.stringify(extra.ct ?? 'text/plain')}` +
    (extra.exp === undefined ? '' : `,"expiration":"${extra.exp}"`) +
    `,"id":"${extra.id ?? ID}","pubsubname":"mqtt","source":"${extra.source ?? 'checkout'}","specversion":"1.0"` +
    (extra.subject === undefined ? '' : `,"subject":"${extra.subject}"`) +
    `,"time":"2026-11-26T07:20:48Z","topic":"orders/new","traceid":"${tp}","traceparent":"${tp}","tracestate":"${ts}"` +
    `,"type":"${extra.type ?? 'com.dapr.event.sent'}"}`
  )
}

describe('new envelope: data and data_base64 (NewCloudEventsEnvelope)', () => {
  it('embeds a JSON body: keys sorted at every level, numbers verbatim, whitespace dropped', () => {
    const body = '{ "z": 1,\n  "a": { "y": [3, {"b": 2, "a": 1}], "x": 12345678901234567890 },\n  "m": 1.0, "e": -0.5e+10 }'
    expect(publish({ body, contentType: 'application/json' })).toBe(
      envelope('"data":{"a":{"x":12345678901234567890,"y":[3,{"a":1,"b":2}]},"e":-0.5e+10,"m":1.0,"z":1}', {
        ct: 'application/json',
      }),
    )
  })

  it('escapes HTML characters and U+2028 inside embedded JSON', () => {
    expect(publish({ body: '{"html":"<b>&amp;</b>","ls":"\\u2028"}', contentType: 'application/json' })).toBe(
      envelope('"data":{"html":"\\u003cb\\u003e\\u0026amp;\\u003c/b\\u003e","ls":"\\u2028"}', { ct: 'application/json' }),
    )
  })

  it('writes a text body as a string; no Content-Type means text/plain', () => {
    expect(publish({ body: 'hello <world> & "friends"\n' })).toBe(
      envelope('"data":"hello \\u003cworld\\u003e \\u0026 \\"friends\\"\\n"'),
    )
    expect(publish({ body: 'x', contentType: 'text/csv' })).toBe(envelope('"data":"x"', { ct: 'text/csv' }))
  })

  it('writes an application/octet-stream body as standard base64 in data_base64', () => {
    const body = new Uint8Array([0, 1, 2, 253, 254, 255])
    expect(publish({ body, contentType: 'application/octet-stream' })).toBe(
      envelope('"data_base64":"AAEC/f7/"', { ct: 'application/octet-stream' }),
    )
    expect(publish({ body, contentType: 'Application/Octet-Stream; x=y' })).toBe(
      envelope('"data_base64":"AAEC/f7/"', { ct: 'Application/Octet-Stream; x=y' }),
    )
  })

  it('writes application/cloudevents+protobuf as data_base64 too', () => {
    expect(publish({ body: new Uint8Array([0x0a, 0x01]), contentType: 'application/cloudevents+protobuf' })).toBe(
      envelope('"data_base64":"CgE="', { ct: 'application/cloudevents+protobuf' }),
    )
  })

  it('keeps "application/json; charset=utf-8" verbatim in datacontenttype and still parses the body', () => {
    expect(publish({ body: '{"b":1,"a":[true,null]}', contentType: 'application/json; charset=utf-8' })).toBe(
      envelope('"data":{"a":[true,null],"b":1}', { ct: 'application/json; charset=utf-8' }),
    )
    expect(publish({ body: '{"a":1}', contentType: 'APPLICATION/JSON' })).toBe(
      envelope('"data":{"a":1}', { ct: 'APPLICATION/JSON' }),
    )
  })

  it('does not trim before the ";": "application/json ; charset=utf-8" is text for Dapr', () => {
    // contenttype.isContentType compares lower[0:semicolon] with "application/json", spaces included.
    expect(publish({ body: '{"a":1}', contentType: 'application/json ; charset=utf-8' })).toBe(
      envelope('"data":"{\\"a\\":1}"', { ct: 'application/json ; charset=utf-8' }),
    )
  })

  it('treats application/problem+json (any +json) as text', () => {
    expect(publish({ body: '{"title":"x"}', contentType: 'application/problem+json' })).toBe(
      envelope('"data":"{\\"title\\":\\"x\\"}"', { ct: 'application/problem+json' }),
    )
  })

  it('falls back to a string when an application/json body is not JSON', () => {
    expect(publish({ body: '{"a":', contentType: 'application/json' })).toBe(
      envelope('"data":"{\\"a\\":"', { ct: 'application/json' }),
    )
    // io.EOF from the decoder: an empty body is the empty string.
    expect(publish({ body: '', contentType: 'application/json' })).toBe(envelope('"data":""', { ct: 'application/json' }))
  })

  it('embeds only the first JSON value of the body, as Decoder.Decode reads it', () => {
    expect(publish({ body: '{"a":1} trailing', contentType: 'application/json' })).toBe(
      envelope('"data":{"a":1}', { ct: 'application/json' }),
    )
  })

  it('embeds JSON scalars and null as they are', () => {
    expect(publish({ body: 'null', contentType: 'application/json' })).toBe(envelope('"data":null', { ct: 'application/json' }))
    expect(publish({ body: ' 1.50 ', contentType: 'application/json' })).toBe(envelope('"data":1.50', { ct: 'application/json' }))
    expect(publish({ body: '"<s>"', contentType: 'application/json' })).toBe(
      envelope('"data":"\\u003cs\\u003e"', { ct: 'application/json' }),
    )
  })

  it('writes control characters the way Go does', () => {
    expect(publish({ body: '\u0000\u0007\b\f\u001f\u007f\t' })).toBe(envelope('"data":"\\u0000\\u0007\\b\\f\\u001f\u007f\\t"'))
  })

  it('writes each invalid UTF-8 byte of a text body as \\ufffd; a real U+FFFD stays raw', () => {
    const body = Buffer.from([0x61, 0xe2, 0x82, 0x62, 0xef, 0xbf, 0xbd, 0xff])
    expect(publish({ body })).toBe(envelope('"data":"a\\ufffd\\ufffdb\ufffd\\ufffd"'))
  })

  it('turns invalid UTF-8 inside a JSON body into raw U+FFFD characters, as Go unquote does', () => {
    const body = Buffer.concat([Buffer.from('{"k":"a'), Buffer.from([0xe2, 0x82]), Buffer.from('b"}')])
    expect(publish({ body, contentType: 'application/json' })).toBe(
      envelope('"data":{"k":"a\ufffd\ufffdb"}', { ct: 'application/json' }),
    )
  })
})

describe('new envelope: id, source, type, subject, trace (NewCloudEvent overrides)', () => {
  it('uses the app ID as source, "Dapr" without one', () => {
    expect(publish({ body: 'x', appId: undefined })).toBe(envelope('"data":"x"', { source: 'Dapr' }))
  })

  it('generates a UUID v4 id by default', () => {
    const { event } = buildPublishPayload({ pubsubName: 'p', topic: 't', data: Buffer.from('x') })
    expect(event?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  it('applies cloudevent.* overrides, keys matched case-insensitively', () => {
    const metadata = {
      'cloudevent.id': 'my-id',
      'CloudEvent.Source': 'my-source',
      'cloudevent.type': 'my.type',
      'cloudevent.subject': 'my <subject>',
      'cloudevent.traceparent': TP,
      'cloudevent.tracestate': 'k=v',
    }
    expect(publish({ body: 'x', metadata })).toBe(
      envelope('"data":"x"', {
        id: 'my-id',
        source: 'my-source',
        type: 'my.type',
        subject: 'my \\u003csubject\\u003e',
        trace: [TP, 'k=v'],
      }),
    )
  })

  it('writes subject only when cloudevent.subject is given', () => {
    expect(publish({ body: 'x' })).not.toContain('"subject"')
    expect(publish({ body: 'x', metadata: { 'cloudevent.subject': '' } })).not.toContain('"subject"')
  })

  it('prefers the exact key over a case variant', () => {
    expect(publish({ body: 'x', metadata: { 'CLOUDEVENT.ID': 'upper', 'cloudevent.id': 'exact' } })).toBe(
      envelope('"data":"x"', { id: 'exact' }),
    )
  })

  it('matches with Go strings.EqualFold, where U+017F folds to s', () => {
    expect(publish({ body: 'x', metadata: { 'cloudevent.\u017fource': 'folded' } })).toBe(
      envelope('"data":"x"', { source: 'folded' }),
    )
  })

  it('treats an empty override as given: id is generated, source falls to "Dapr" (not the app ID)', () => {
    expect(publish({ body: 'x', metadata: { 'cloudevent.id': '', 'cloudevent.source': '' } })).toBe(
      envelope('"data":"x"', { source: 'Dapr' }),
    )
  })

  it('copies the request traceparent into traceid and traceparent, tracestate alongside', () => {
    expect(publish({ body: 'x', traceparent: TP, tracestate: 'a=1' })).toBe(envelope('"data":"x"', { trace: [TP, 'a=1'] }))
  })

  it('lets cloudevent.traceid set both trace fields, and cloudevent.traceparent win over it', () => {
    expect(publish({ body: 'x', traceparent: TP, metadata: { 'cloudevent.traceid': 'tid' } })).toBe(
      envelope('"data":"x"', { trace: ['tid', ''] }),
    )
    expect(publish({ body: 'x', metadata: { 'cloudevent.traceid': 'tid', 'cloudevent.traceparent': 'tp' } })).toBe(
      envelope('"data":"x"', { trace: ['tp', ''] }),
    )
    // An empty cloudevent.traceparent does not win (Go checks != "").
    expect(publish({ body: 'x', traceparent: TP, metadata: { 'cloudevent.traceparent': '' } })).toBe(
      envelope('"data":"x"', { trace: [TP, ''] }),
    )
  })
})

describe('TTL (TryGetTTL + ApplyMetadata)', () => {
  const cases: Array<[Record<string, string>, string | undefined, string]> = [
    [{ ttl: '90s' }, '2026-11-26T07:22:18Z', 'Go duration'],
    [{ ttlInSeconds: '60' }, '2026-11-26T07:21:48Z', 'integer seconds'],
    [{ ttlInSeconds: '1m30s' }, '2026-11-26T07:22:18Z', 'a duration under ttlInSeconds'],
    [{ TTL: '1.5h' }, '2026-11-26T08:50:48Z', 'fractional hours, key in another case'],
    [{ ttlinseconds: '+10' }, '2026-11-26T07:20:58Z', 'signed integer'],
    [{ ttlInSeconds: '-1' }, undefined, 'negative integer: ignored'],
    [{ ttlInSeconds: '0' }, '2026-11-26T07:20:48Z', '"0" is a valid duration: expires now'],
    [{ ttl: '-5s' }, '2026-11-26T07:20:48Z', 'negative duration counts as 0'],
    [{ ttl: 'abc' }, undefined, 'garbage: ignored'],
    [{ ttl: '' }, undefined, 'empty: ignored'],
    [{ ttl: '', ttlInSeconds: '60' }, undefined, 'an empty ttl hides ttlInSeconds (GetMetadataProperty finds ttl first)'],
    [{ ttl: '10s', ttlInSeconds: '60' }, '2026-11-26T07:20:58Z', 'ttl before ttlInSeconds'],
    [{ ttlInSeconds: '9223372037' }, '2319-03-08T07:08:04Z', 'int64 overflow saturates at MaxInt64 ns'],
  ]
  for (const [metadata, exp, why] of cases) {
    it(`${JSON.stringify(metadata)}: ${why}`, () => {
      const got = buildPublishPayload({
        pubsubName: 'mqtt',
        topic: 'orders/new',
        data: Buffer.from('x'),
        appId: 'checkout',
        now: NOW,
        newId: () => ID,
        metadata,
      })
      expect(got.payload.toString()).toBe(envelope('"data":"x"', exp === undefined ? {} : { exp }))
      expect(got.expiration?.toISOString().replace('.000Z', 'Z')).toBe(exp)
    })
  }
})

describe('body already a CloudEvent (FromCloudEvent)', () => {
  const ce = 'application/cloudevents+json'

  it('keeps the event, overwrites topic and pubsubname, adds time and trace, applies TTL, ignores cloudevent.*', () => {
    const body =
      '{"specversion":"1.0","id":"evt-1","source":"my-src","type":"my.type","data":{"b":1,"a":2.50},' +
      '"topic":"spoofed","pubsubname":"spoofed","datacontenttype":"application/json","x-ext":"<e>"}'
    expect(
      publish({ body, contentType: ce, traceparent: TP, metadata: { 'cloudevent.id': 'ignored', ttlInSeconds: '30' } }),
    ).toBe(
      '{"data":{"a":2.50,"b":1},"datacontenttype":"application/json","expiration":"2026-11-26T07:21:18Z","id":"evt-1",' +
        '"pubsubname":"mqtt","source":"my-src","specversion":"1.0","time":"2026-11-26T07:20:48Z","topic":"orders/new",' +
        `"traceid":"${TP}","traceparent":"${TP}","tracestate":"","type":"my.type","x-ext":"\\u003ce\\u003e"}`,
    )
  })

  it('fills defaults (source "Dapr", not the app ID), keeps time and traceid, generates no id', () => {
    const body = '{"data":"x","source":null,"time":"2020-01-01T00:00:00Z","traceid":"keep"}'
    expect(publish({ body, contentType: 'Application/CloudEvents+JSON; charset=utf-8', traceparent: TP })).toBe(
      '{"data":"x","pubsubname":"mqtt","source":"Dapr","specversion":"1.0","time":"2020-01-01T00:00:00Z",' +
        '"topic":"orders/new","traceid":"keep","tracestate":"","type":"com.dapr.event.sent"}',
    )
  })

  it('overwrites a traceparent when traceid is absent (Dapr tests traceid only)', () => {
    const body = '{"traceparent":"old","tracestate":"s=1","time":null}'
    expect(publish({ body, contentType: ce, traceparent: TP, tracestate: 'new' })).toBe(
      '{"pubsubname":"mqtt","source":"Dapr","specversion":"1.0","time":null,"topic":"orders/new",' +
        `"traceid":"${TP}","traceparent":"${TP}","tracestate":"s=1","type":"com.dapr.event.sent"}`,
    )
  })

  it('fails with ERR_PUBSUB_CLOUD_EVENTS_SER when the body is not a JSON object', () => {
    for (const body of ['not json', '', '[1]', '"s"', 'null', '42', '1.0', 'true', '{"a":']) {
      expect(() => publish({ body, contentType: ce }), body).toThrowError(
        expect.objectContaining({ name: 'MqttFnError', code: 'ERR_PUBSUB_CLOUD_EVENTS_SER' }),
      )
    }
  })
})

describe('rawPayload (IsRawPayload)', () => {
  const req = (metadata: Record<string, string>): PublishRequest => ({
    pubsubName: 'mqtt',
    topic: 'orders/new',
    data: Buffer.from([0x7b, 0xff, 0x00]),
    contentType: 'application/json',
    metadata: { ttlInSeconds: '60', ...metadata },
    now: NOW,
    newId: () => ID,
  })

  it('sends the body unchanged, without envelope or TTL, for true and 1', () => {
    for (const v of ['true', '1', 'T', 'TRUE', 'True', 't']) {
      const got = buildPublishPayload(req({ rawPayload: v }))
      expect(got.raw, v).toBe(true)
      expect([...got.payload]).toEqual([0x7b, 0xff, 0x00])
      expect(got.event).toBeUndefined()
      expect(got.expiration).toBeUndefined()
    }
  })

  it('wraps as usual for false, 0 and empty', () => {
    for (const v of ['false', '0', 'F', '']) expect(buildPublishPayload(req({ rawPayload: v })).raw, v).toBe(false)
  })

  it('refuses other values with ERR_PUBSUB_REQUEST_METADATA naming rawPayload', () => {
    for (const v of ['garbage', 'yes', 'on', ' true']) {
      let err: unknown
      try {
        buildPublishPayload(req({ rawPayload: v }))
      } catch (e) {
        err = e
      }
      expect(err, v).toBeInstanceOf(MqttFnError)
      expect((err as MqttFnError).code).toBe('ERR_PUBSUB_REQUEST_METADATA')
      expect((err as MqttFnError).message).toBe(
        `failed deserializing metadata. Error: rawPayload value must be a valid boolean: actual is '${v}'`,
      )
    }
  })

  it('reads only the exact key "rawPayload", as daprd does (props[RawPayloadKey])', () => {
    expect(buildPublishPayload(req({ rawpayload: 'true' })).raw).toBe(false)
    expect(buildPublishPayload(req({ RAWPAYLOAD: 'garbage' })).raw).toBe(false)
  })
})

describe('PublishPayload', () => {
  it('returns the event map and payload = goMarshal(event)', () => {
    const got = buildPublishPayload({ pubsubName: 'mqtt', topic: 't', data: Buffer.from('x'), now: NOW, newId: () => ID })
    expect(got.raw).toBe(false)
    expect(got.event).toMatchObject({ id: ID, data: 'x', topic: 't', pubsubname: 'mqtt', time: '2026-11-26T07:20:48Z' })
    expect(Buffer.isBuffer(got.payload)).toBe(true)
  })
})
