import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toApiRequest, toHttpResult } from '../../../../src/platforms/aws/http-event.js'
import { BadRequestError } from '../../../../src/platforms/http-function/failure.js'
import { httpEventV1, httpEventV2 } from '../../../../support/aws-events.js'

describe('payload 2.0 (Function URL, HTTP API)', () => {
  it('method, rawPath, rawQueryString, lower-case headers and a text body', () => {
    const req = toApiRequest(
      httpEventV2({ url: '/v1.0/publish/pubsub/orders%2Fnew?metadata.rawPayload=true&a=1&a=2', headers: { 'Content-Type': 'text/plain' }, body: 'hé' }),
    )
    expect(req.method).toBe('POST')
    expect(req.path).toBe('/v1.0/publish/pubsub/orders%2Fnew')
    expect(req.query.get('metadata.rawPayload')).toBe('true')
    expect(req.query.getAll('a')).toEqual(['1', '2'])
    expect(req.headers['content-type']).toBe('text/plain')
    expect(req.body.toString()).toBe('hé')
  })

  it('base64 bodies are decoded to the exact bytes', () => {
    const bytes = Buffer.from([0, 255, 128, 7])
    expect(toApiRequest(httpEventV2({ url: '/x', body: bytes, base64: true })).body.equals(bytes)).toBe(true)
  })

  it('cookies come back as a Cookie header; a named stage is removed from rawPath', () => {
    const req = toApiRequest(httpEventV2({ url: '/v1.0/healthz', method: 'GET', cookies: ['a=1', 'b=2'], stage: 'prod' }))
    expect(req.headers['cookie']).toBe('a=1; b=2')
    expect(req.path).toBe('/v1.0/healthz')
    expect(req.method).toBe('GET')
    expect(req.body.length).toBe(0)
  })

  it('a path the HTTP API decoded is encoded again; a base path can be removed', () => {
    const event = httpEventV2({ url: '/v1.0/publish/pubsub/a b?c' })
    event.rawPath = '/svc/v1.0/publish/pubsub/a b'
    expect(toApiRequest(event, { basePath: 'svc' }).path).toBe('/v1.0/publish/pubsub/a%20b')
  })
})

describe('payload 1.0 (REST API)', () => {
  it('multi-value headers and query parameters keep every value', () => {
    const event = httpEventV1({ url: '/v1.0/publish/pubsub/t?metadata.ttlInSeconds=5', headers: { 'Content-Type': 'application/json' }, body: '{}' })
    event.multiValueHeaders['X-Multi'] = ['a', 'b']
    event.multiValueQueryStringParameters = { k: ['1', '2'] }
    const req = toApiRequest(event)
    expect(req.headers['x-multi']).toBe('a, b')
    expect(req.headers['content-type']).toBe('application/json')
    expect(req.query.getAll('k')).toEqual(['1', '2'])
    expect(req.path).toBe('/v1.0/publish/pubsub/t')
  })

  it('single-value query parameters when there are no multi-value ones; base64 body', () => {
    const event = httpEventV1({ url: '/v1.0/publish/pubsub/t', body: Buffer.from([1, 2]), base64: true })
    event.queryStringParameters = { 'metadata.rawPayload': 'true' }
    const req = toApiRequest(event)
    expect(req.query.get('metadata.rawPayload')).toBe('true')
    expect([...req.body]).toEqual([1, 2])
  })
})

describe('anything else', () => {
  it('is a BadRequestError', () => {
    for (const event of [null, undefined, 42, 'x', [], {}, { requestContext: {} }, { requestContext: { http: {} } }, { httpMethod: 'GET' }]) {
      expect(() => toApiRequest(event as never)).toThrow(BadRequestError)
    }
  })

  it('arbitrary event-like objects: an ApiRequest with an encoded path, or a BadRequestError, nothing else', () => {
    const anyValue = fc.anything({ maxDepth: 2 })
    const v2 = fc.record(
      {
        version: fc.constant('2.0'),
        rawPath: fc.oneof(fc.string({ unit: 'binary' }), anyValue),
        rawQueryString: fc.oneof(fc.string(), anyValue),
        headers: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), anyValue)), anyValue),
        cookies: fc.oneof(fc.array(fc.string()), anyValue),
        body: fc.oneof(fc.string(), fc.constant(null), anyValue),
        isBase64Encoded: fc.oneof(fc.boolean(), anyValue),
        requestContext: fc.oneof(
          fc.record({ http: fc.record({ method: fc.oneof(fc.constantFrom('GET', 'POST', 'put'), anyValue), path: fc.oneof(fc.string(), anyValue) }), stage: fc.oneof(fc.string(), anyValue) }, { requiredKeys: [] }),
          anyValue,
        ),
      },
      { requiredKeys: [] },
    )
    const v1 = fc.record(
      {
        httpMethod: fc.oneof(fc.constantFrom('GET', 'POST'), anyValue),
        path: fc.oneof(fc.string({ unit: 'binary' }), anyValue),
        headers: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), anyValue)), anyValue),
        multiValueHeaders: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.array(fc.string()), anyValue)), anyValue),
        queryStringParameters: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), anyValue)), anyValue),
        multiValueQueryStringParameters: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.array(fc.string()), anyValue)), anyValue),
        body: fc.oneof(fc.string(), fc.constant(null), anyValue),
        isBase64Encoded: fc.oneof(fc.boolean(), anyValue),
        requestContext: fc.oneof(fc.record({ stage: fc.string() }), anyValue),
      },
      { requiredKeys: [] },
    )
    fc.assert(
      fc.property(fc.oneof(v2, v1, anyValue), (event) => {
        let req
        try {
          req = toApiRequest(event as never)
        } catch (error) {
          expect(error).toBeInstanceOf(BadRequestError)
          return
        }
        expect(req.path.startsWith('/')).toBe(true)
        expect(req.path).toMatch(/^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/)
        expect(Buffer.isBuffer(req.body)).toBe(true)
        expect(req.query).toBeInstanceOf(URLSearchParams)
        for (const [name, value] of Object.entries(req.headers)) {
          expect(name).toBe(name.toLowerCase())
          expect(typeof value).toBe('string')
        }
      }),
      { numRuns: 1000 },
    )
  })
})

describe('toHttpResult', () => {
  it('statusCode, headers and body, never base64', () => {
    expect(toHttpResult({ status: 204, headers: {}, body: '' })).toEqual({ statusCode: 204, headers: {}, body: '', isBase64Encoded: false })
    expect(toHttpResult({ status: 404, headers: { 'content-type': 'application/json' }, body: '{}' })).toMatchObject({ statusCode: 404, body: '{}' })
  })
})
