import { describe, expect, it } from 'vitest'
import { metadataFromQuery, rawPayloadFlag, retainFlag } from '../../../src/http/request-metadata.js'

describe('metadataFromQuery (daprd getMetadataFromRequest)', () => {
  it('keeps metadata.* with the prefix stripped, first value of a repeated key', () => {
    const q = new URLSearchParams('metadata.rawPayload=true&metadata.ttlInSeconds=10&other=1&metadata.ttlInSeconds=20&Metadata.x=1&metadata.=e')
    expect(metadataFromQuery(q)).toEqual({ rawPayload: 'true', ttlInSeconds: '10', '': 'e' })
  })
  it('decodes + and %XX in values as a query string does', () => {
    expect(metadataFromQuery(new URLSearchParams('metadata.cloudevent.subject=a+b%26c'))).toEqual({ 'cloudevent.subject': 'a b&c' })
  })
  it('keeps __proto__ as an own key', () => {
    const md = metadataFromQuery(new URLSearchParams('metadata.__proto__=x'))
    expect(Object.keys(md)).toEqual(['__proto__'])
    expect(md['__proto__']).toBe('x')
  })
  it('an empty query gives no metadata', () => {
    expect(metadataFromQuery(new URLSearchParams(''))).toEqual({})
  })
})

describe('rawPayloadFlag (components-contrib IsRawPayload)', () => {
  it('absent or empty is false', () => {
    expect(rawPayloadFlag({})).toEqual({ value: false })
    expect(rawPayloadFlag({ rawPayload: '' })).toEqual({ value: false })
  })
  it('exact key only', () => {
    expect(rawPayloadFlag({ rawpayload: 'true' })).toEqual({ value: false })
    expect(rawPayloadFlag({ rawPayload: 'True' })).toEqual({ value: true })
  })
  it('invalid gives daprd’s text', () => {
    expect(rawPayloadFlag({ rawPayload: 'yes' })).toEqual({ error: "rawPayload value must be a valid boolean: actual is 'yes'" })
  })
})

describe('retainFlag (pubsub/mqtt3 Publish)', () => {
  it('absent or empty leaves the component default', () => {
    expect(retainFlag({})).toEqual({ value: undefined })
    expect(retainFlag({ retain: '' })).toEqual({ value: undefined })
  })
  it('parses with ParseBool', () => {
    expect(retainFlag({ retain: 't' })).toEqual({ value: true })
    expect(retainFlag({ retain: '0' })).toEqual({ value: false })
  })
  it.each(['yes', 'on', 'tRUE', ' true', '2'])('%j is invalid', (v) => {
    expect(retainFlag({ retain: v })).toHaveProperty('error')
  })
  it('invalid gives the component’s text', () => {
    expect(retainFlag({ retain: 'yes' })).toEqual({ error: 'mqtt invalid retain yes, strconv.ParseBool: parsing "yes": invalid syntax' })
  })
})
