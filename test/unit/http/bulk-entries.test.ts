import { describe, expect, it } from 'vitest'
import { BulkDecodeError, convertEventToBytes, decodeBulkEntries, entryMetadata } from '../../../src/http/bulk-entries.js'

const decode = (s: string) => decodeBulkEntries(Buffer.from(s))

describe('decodeBulkEntries (Go json decoding into []bulkPublishMessageEntry)', () => {
  it('reads entries', () => {
    expect(decode('[{"entryId":"1","event":{"a":1},"contentType":"application/json","metadata":{"k":"v"}}]')).toEqual([
      { entryId: '1', event: { a: 1 }, contentType: 'application/json', metadata: { k: 'v' } },
    ])
  })
  it('matches field names case-insensitively, later keys win', () => {
    expect(decode('[{"EntryID":"1","EVENT":"x","contenttype":"text/plain","entryId":"2"}]')).toEqual([
      { entryId: '2', event: 'x', contentType: 'text/plain', metadata: null },
    ])
  })
  it('null leaves zero values; a top-level null is an empty list', () => {
    expect(decode('null')).toEqual([])
    expect(decode('[null,{"entryId":null,"metadata":null}]')).toEqual([
      { entryId: '', event: undefined, contentType: '', metadata: null },
      { entryId: '', event: undefined, contentType: '', metadata: null },
    ])
  })
  it('a null metadata value is the empty string; repeated metadata objects merge', () => {
    expect(decode('[{"metadata":{"a":null},"Metadata":{"b":"2"}}]')[0]?.metadata).toEqual({ a: '', b: '2' })
  })
  it.each([
    ['', 'EOF'],
    ['  \n', 'EOF'],
    ['{}', 'json: cannot unmarshal object into Go value of type []http.bulkPublishMessageEntry'],
    ['"x"', 'json: cannot unmarshal string into Go value of type []http.bulkPublishMessageEntry'],
    ['[1]', 'json: cannot unmarshal number into Go value of type http.bulkPublishMessageEntry'],
    ['[{"entryId":1}]', 'json: cannot unmarshal number into Go struct field bulkPublishMessageEntry.entryId of type string'],
    ['[{"contentType":true}]', 'json: cannot unmarshal bool into Go struct field bulkPublishMessageEntry.contentType of type string'],
    ['[{"metadata":[]}]', 'json: cannot unmarshal array into Go struct field bulkPublishMessageEntry.metadata of type map[string]string'],
    ['[{"metadata":{"a":1}}]', 'json: cannot unmarshal number into Go struct field bulkPublishMessageEntry.metadata of type string'],
    ['[{"event":1e400}]', 'json: cannot unmarshal number 1e400 into Go value of type float64'],
    ['[{', 'unexpected EOF'],
    ['{"entryID": "}', 'unexpected EOF'], // daprd tests/integration/suite/daprd/pubsub/http/errors.go
    ['[1,]', "invalid character ']' looking for beginning of value"],
  ])('%j fails with %j', (body, message) => {
    expect(() => decode(body)).toThrow(new BulkDecodeError(message))
  })
  it('reads only the first JSON value, as json.Decoder.Decode does', () => {
    expect(decode('[] trailing')).toEqual([])
  })
})

describe('convertEventToBytes (daprd ConvertEventToBytes)', () => {
  it('application/json and cloudevents+json: json.Marshal of the event', () => {
    expect(convertEventToBytes({ b: 1, a: '<' }, 'application/json').toString()).toBe('{"a":"\\u003c","b":1}')
    expect(convertEventToBytes('text', 'application/json; charset=utf-8').toString()).toBe('"text"')
    expect(convertEventToBytes(42, 'APPLICATION/JSON').toString()).toBe('42')
    expect(convertEventToBytes(undefined, 'application/json').toString()).toBe('null')
    expect(convertEventToBytes({ id: 'x' }, 'application/cloudevents+json').toString()).toBe('{"id":"x"}')
  })
  it('text/* and application/xml: the string itself', () => {
    expect(convertEventToBytes('héllo', 'text/plain').toString()).toBe('héllo')
    expect(convertEventToBytes('<a/>', 'application/xml').toString()).toBe('<a/>')
    expect(() => convertEventToBytes({}, 'text/plain')).toThrow('error: mismatch between contentType and event')
  })
  it('application/octet-stream: standard base64', () => {
    expect(convertEventToBytes('AAEC/w==', 'application/octet-stream')).toEqual(Buffer.from([0, 1, 2, 255]))
    expect(convertEventToBytes('AAEC\r\n/w==', 'application/octet-stream')).toEqual(Buffer.from([0, 1, 2, 255]))
    expect(() => convertEventToBytes('AAEC/w', 'application/octet-stream')).toThrow(
      /^error: unable to decode base64 application\/octect-stream data: illegal base64 data at input byte \d+$/,
    )
    expect(() => convertEventToBytes('AA-_', 'application/octet-stream')).toThrow('illegal base64 data at input byte 2')
    expect(() => convertEventToBytes(1, 'application/octet-stream')).toThrow('error: mismatch between contentType and event')
  })
  it('any other or no content type is a mismatch', () => {
    expect(() => convertEventToBytes('x', '')).toThrow('error: mismatch between contentType and event')
    expect(() => convertEventToBytes('x', 'image/png')).toThrow('error: mismatch between contentType and event')
  })
})

describe('entryMetadata (PopulateMetadataForBulkPublishEntry)', () => {
  it('entry keys win, request keys fill in', () => {
    expect(entryMetadata({ a: '1', b: '2' }, { b: '3' })).toEqual({ a: '1', b: '3' })
  })
  it('an entry without metadata gets none of the request’s (daprd merges only into a non-nil map)', () => {
    expect(entryMetadata({ a: '1' }, null)).toEqual({})
    expect(entryMetadata({ a: '1' }, {})).toEqual({ a: '1' })
  })
})
