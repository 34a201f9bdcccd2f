import { describe, expect, it } from 'vitest'
import { bulkBody, bulkEntries, DataSerializationError, inferContentType, publishBody } from '../../../src/functions/sdk-body.js'

describe("the Dapr SDK's body rules", () => {
  it('infers content types as getContentType does', () => {
    expect(inferContentType({ a: 1 })).toBe('application/json')
    expect(inferContentType([1])).toBe('application/json')
    expect(inferContentType({ id: '1', source: 's', type: 't', specversion: '1.0' })).toBe('application/cloudevents+json')
    expect(inferContentType('x')).toBe('text/plain')
    expect(inferContentType(5)).toBe('text/plain')
    expect(inferContentType(Buffer.from('x'))).toBe('application/octet-stream')
    expect(inferContentType(new Uint8Array(1))).toBe('application/octet-stream')
  })

  it('sends no body for falsy data, as the SDK does', () => {
    expect(publishBody(undefined, undefined)).toEqual({ body: Buffer.alloc(0) })
    expect(publishBody('', 'text/plain')).toEqual({ body: Buffer.alloc(0), contentType: 'text/plain' })
  })

  it('serializes by the content type', () => {
    expect(publishBody({ a: 1 }, undefined).body.toString()).toBe('{"a":1}')
    expect(publishBody(7, undefined).body.toString()).toBe('7')
    expect(publishBody({ a: 1 }, 'application/json; charset=utf-8').body.toString()).toBe('{"a":1}')
    expect([...publishBody(new Uint8Array([1, 2]), undefined).body]).toEqual([1, 2])
  })

  it('refuses what cannot be serialized, naming why', () => {
    expect(() => publishBody({ a: 1n }, undefined)).toThrow(DataSerializationError)
    expect(() => publishBody({ a: 1 }, 'application/xml')).toThrow(/cannot be sent as application\/xml/)
  })

  it('fills bulk entry ids and content types, keeps explicit ones, and sends binary events as base64', () => {
    const entries = bulkEntries([{ a: 1 }, 'two', { entryID: 'e3', event: Buffer.from('hi'), metadata: { k: 1 } }])
    expect(entries.map((e) => e.contentType)).toEqual(['application/json', 'text/plain', 'application/octet-stream'])
    expect(entries[2]?.entryID).toBe('e3')
    expect(new Set(entries.map((e) => e.entryID)).size).toBe(3)
    const wire = JSON.parse(bulkBody(entries).toString()) as { event: unknown; metadata: unknown }[]
    expect(wire[2]).toMatchObject({ event: Buffer.from('hi').toString('base64'), metadata: { k: '1' } })
  })
})
