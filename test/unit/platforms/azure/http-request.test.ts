import { HttpRequest } from '@azure/functions'
import { describe, expect, it } from 'vitest'
import { toApiRequest, toHttpResponseInit } from '../../../../src/platforms/azure/http-request.js'

describe('Azure HttpRequest → ApiRequest', () => {
  it('keeps the encoded path, decodes the query, lower-cases headers, reads the body bytes', async () => {
    const req = await toApiRequest(
      new HttpRequest({
        method: 'post',
        url: 'https://app.azurewebsites.net/v1.0/publish/pubsub/orders%2Fnew?metadata.rawPayload=true&x=a%20b',
        headers: { 'Content-Type': 'application/octet-stream', 'Dapr-Api-Token': 't' },
        body: { bytes: Buffer.from([1, 2, 255]) },
      }),
    )
    expect(req.method).toBe('POST')
    expect(req.path).toBe('/v1.0/publish/pubsub/orders%2Fnew')
    expect(req.query.get('metadata.rawPayload')).toBe('true')
    expect(req.query.get('x')).toBe('a b')
    expect(req.headers).toMatchObject({ 'content-type': 'application/octet-stream', 'dapr-api-token': 't' })
    expect([...req.body]).toEqual([1, 2, 255])
  })

  it('an app that keeps the /api route prefix passes it as basePath', async () => {
    const req = await toApiRequest(new HttpRequest({ method: 'GET', url: 'http://localhost:7071/api/v1.0/healthz' }), { basePath: 'api' })
    expect(req.path).toBe('/v1.0/healthz')
    expect(req.body.length).toBe(0)
  })

  it('ApiResponse → HttpResponseInit; no body for 204', () => {
    expect(toHttpResponseInit({ status: 204, headers: {}, body: '' })).toEqual({ status: 204, headers: {} })
    expect(toHttpResponseInit({ status: 500, headers: { 'content-type': 'application/json' }, body: '{}' })).toEqual({
      status: 500,
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
  })
})
