import { beforeAll, describe, expect, it } from 'vitest'
import type { LoadedResources } from '../../../src/core/resources/types.js'
import { createPublishApi } from '../../../src/http/index.js'
import type { ApiResponse } from '../../../src/http/types.js'
import { apiRequest, loadPubsubs, type RequestInit } from '../../helpers/http.js'

// Every answer here is decided before anything is published, so the components point at a
// port where no broker listens: a test that reached the broker would fail with a 500.
const NOWHERE = 'mqtt://127.0.0.1:9'

let resources: LoadedResources
beforeAll(async () => {
  resources = await loadPubsubs(
    [
      { name: 'pubsub', url: NOWHERE },
      { name: 'guarded', url: NOWHERE, metadata: { allowedTopics: 'orders,audit', protectedTopics: 'audit' } },
      { name: 'scoped', url: NOWHERE, metadata: { publishingScopes: 'checkout=orders;other=' } },
      { name: 'elsewhere', url: NOWHERE },
      { name: 'mine-only', url: NOWHERE, scopes: ['someone-else'] },
    ],
    'checkout',
  )
})

function api(options: { apiToken?: string; maxBodyBytes?: number } = {}) {
  return createPublishApi({ resources, appId: 'checkout', ...options })
}

async function call(init: RequestInit, options: { apiToken?: string; maxBodyBytes?: number } = {}): Promise<ApiResponse> {
  return api(options)(apiRequest(init))
}

const json = { 'content-type': 'application/json' }
const ERR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo'
const RES_INFO = 'type.googleapis.com/google.rpc.ResourceInfo'

describe('publish API: answers decided before publishing (daprd pkg/api/http)', () => {
  it('404 ERR_PUBSUB_NOT_FOUND for an unknown pubsub, no ResourceInfo, request metadata in ErrorInfo', async () => {
    const res = await call({ url: '/v1.0/publish/nope/orders?metadata.k=v&metadata.a=%3C' })
    expect(res).toEqual({
      status: 404,
      headers: json,
      body:
        '{"errorCode":"ERR_PUBSUB_NOT_FOUND","message":"pubsub nope is not found","details":[' +
        `{"@type":"${ERR_INFO}","domain":"dapr.io","metadata":{"a":"\\u003c","k":"v"},"reason":"DAPR_PUBSUB_NOT_FOUND"}]}`,
    })
  })

  it('404 for a component scoped to other apps (daprd does not load it)', async () => {
    const res = await call({ url: '/v1.0/publish/mine-only/orders' })
    expect(res.status).toBe(404)
    expect(JSON.parse(res.body).message).toBe('pubsub mine-only is not found')
  })

  it('404 ERR_PUBSUB_EMPTY without a pubsub name', async () => {
    for (const url of ['/v1.0/publish', '/v1.0/publish/', '/v1.0-alpha1/publish/bulk/']) {
      const res = await call({ url })
      expect(res).toEqual({
        status: 404,
        headers: json,
        body:
          '{"errorCode":"ERR_PUBSUB_EMPTY","message":"pubsub name is empty","details":[' +
          `{"@type":"${RES_INFO}","description":"pubsub name is empty","owner":"","resource_name":"","resource_type":"pubsub"},` +
          `{"@type":"${ERR_INFO}","domain":"dapr.io","metadata":{},"reason":"DAPR_PUBSUB_NAME_EMPTY"}]}`,
      })
    }
  })

  it('404 ERR_TOPIC_NAME_EMPTY without a topic', async () => {
    for (const url of ['/v1.0/publish/pubsub', '/v1.0/publish/pubsub/', '/v1.0/publish/bulk/pubsub']) {
      const res = await call({ url })
      expect(res).toEqual({
        status: 404,
        headers: json,
        body:
          '{"errorCode":"ERR_TOPIC_NAME_EMPTY","message":"topic is empty in pubsub pubsub","details":[' +
          `{"@type":"${RES_INFO}","description":"topic is empty in pubsub pubsub","owner":"","resource_name":"pubsub","resource_type":"pubsub"},` +
          `{"@type":"${ERR_INFO}","domain":"dapr.io","metadata":{},"reason":"DAPR_PUBSUB_TOPIC_NAME_EMPTY"}]}`,
      })
    }
  })

  it('400 ERR_PUBSUB_REQUEST_METADATA for a rawPayload that is not a Go bool (daprd integration test text)', async () => {
    const res = await call({ url: '/v1.0/publish/pubsub/topic?metadata.rawPayload=invalidBooleanValue' })
    const message = "failed deserializing metadata. Error: rawPayload value must be a valid boolean: actual is 'invalidBooleanValue'"
    expect(res).toEqual({
      status: 400,
      headers: json,
      body:
        `{"errorCode":"ERR_PUBSUB_REQUEST_METADATA","message":${JSON.stringify(message)},"details":[` +
        `{"@type":"${RES_INFO}","description":${JSON.stringify(message)},"owner":"","resource_name":"pubsub","resource_type":"pubsub"},` +
        `{"@type":"${ERR_INFO}","domain":"dapr.io","metadata":{"rawPayload":"invalidBooleanValue"},"reason":"DAPR_PUBSUB_METADATA_DESERIALIZATION"}]}`,
    })
  })

  it('400 ERR_PUBSUB_REQUEST_METADATA for a retain that is not a Go bool (daprd: 500 from the component)', async () => {
    const res = await call({ url: '/v1.0/publish/pubsub/topic?metadata.retain=yes', body: 'x' })
    expect(res.status).toBe(400)
    expect(JSON.parse(res.body)).toMatchObject({
      errorCode: 'ERR_PUBSUB_REQUEST_METADATA',
      message: 'failed deserializing metadata. Error: mqtt invalid retain yes, strconv.ParseBool: parsing "yes": invalid syntax',
    })
  })

  it('500 ERR_PUBSUB_CLOUD_EVENTS_SER for a cloudevents+json body that is not JSON (daprd integration test)', async () => {
    const res = await call({
      url: '/v1.0/publish/pubsub/topic?metadata.rawPayload=false',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: '{"}',
    })
    expect(res.status).toBe(500)
    expect(res.headers).toEqual(json)
    const body = JSON.parse(res.body)
    expect(body.errorCode).toBe('ERR_PUBSUB_CLOUD_EVENTS_SER')
    expect(body.message).toBe('cannot create cloudevent')
    expect(body.details[0]).toEqual({
      '@type': RES_INFO,
      description: 'cannot create cloudevent',
      owner: '',
      resource_name: 'pubsub',
      resource_type: 'pubsub',
    })
    expect(body.details[1]).toMatchObject({ '@type': ERR_INFO, domain: 'dapr.io', reason: 'DAPR_PUBSUB_CLOUD_EVENT_CREATION' })
    expect(body.details[1].metadata.appID).toBe('checkout')
    expect(typeof body.details[1].metadata.error).toBe('string')
  })

  it('403 ERR_PUBSUB_FORBIDDEN outside allowedTopics, on a protected topic, outside publishingScopes', async () => {
    const forbidden = (topic: string, pubsub: string) => {
      const message = `topic ${topic} is not allowed for app id checkout`
      return {
        status: 403,
        headers: json,
        body:
          `{"errorCode":"ERR_PUBSUB_FORBIDDEN","message":"${message}","details":[` +
          `{"@type":"${RES_INFO}","description":"${message}","owner":"","resource_name":"${pubsub}","resource_type":"pubsub"},` +
          `{"@type":"${ERR_INFO}","domain":"dapr.io","metadata":{"error":"${message}","topic":"${topic}"},"reason":"DAPR_PUBSUB_FORBIDDEN"}]}`,
      }
    }
    expect(await call({ url: '/v1.0/publish/guarded/payments', body: '{}' })).toEqual(forbidden('payments', 'guarded'))
    expect(await call({ url: '/v1.0/publish/guarded/audit', body: '{}' })).toEqual(forbidden('audit', 'guarded'))
    expect(await call({ url: '/v1.0/publish/scoped/refunds', body: '{}' })).toEqual(forbidden('refunds', 'scoped'))
    expect(await call({ method: 'POST', url: '/v1.0-alpha1/publish/bulk/guarded/payments', body: '[]' })).toEqual(
      forbidden('payments', 'guarded'),
    )
  })

  it('403 for every topic when this app’s publishingScopes list is empty (`other=`)', async () => {
    const handler = createPublishApi({ resources, appId: 'other' })
    const res = await handler(apiRequest({ url: '/v1.0/publish/scoped/orders', body: 'x' }))
    expect(res.status).toBe(403)
    expect(JSON.parse(res.body).message).toBe('topic orders is not allowed for app id other')
  })

  it('400 ERR_MALFORMED_REQUEST for a topic MQTT cannot carry (daprd would hand it to the broker)', async () => {
    for (const url of ['/v1.0/publish/pubsub/orders%2F%2B', '/v1.0/publish/pubsub/orders/%23', '/v1.0/publish/pubsub/a%00b', '/v1.0/publish/pubsub/%FF']) {
      const res = await call({ url, body: 'x' })
      expect(res.status, url).toBe(400)
      expect(res.headers).toEqual(json)
      const body = JSON.parse(res.body)
      expect(Object.keys(body)).toEqual(['errorCode', 'message'])
      expect(body.errorCode).toBe('ERR_MALFORMED_REQUEST')
    }
  })

  it('a literal + in the path stays +, as Go’s PathUnescape leaves it: the wildcard 400, not a space (issue 17)', async () => {
    const res = await call({ url: '/v1.0/publish/pubsub/a+b', body: 'x' })
    expect(res).toEqual({
      status: 400,
      headers: json,
      body: '{"errorCode":"ERR_MALFORMED_REQUEST","message":"topic \\"a+b\\": wildcards (+, #) are not allowed in a publish topic"}',
    })
    // An encoded space is a space.
    const handler = createPublishApi({
      resources: await loadPubsubs([{ name: 'p', url: NOWHERE, metadata: { allowedTopics: 'x' } }]),
    })
    const spaced = await handler(apiRequest({ url: '/v1.0/publish/p/a%20b', body: 'x' }))
    expect(JSON.parse(spaced.body).message).toBe('topic a b is not allowed for app id ')
  })

  it('400 ERR_MALFORMED_REQUEST for a bad percent escape', async () => {
    const res = await call({ url: '/v1.0/publish/pubsub/a%zz', body: 'x' })
    expect(res).toEqual({
      status: 400,
      headers: json,
      body: '{"errorCode":"ERR_MALFORMED_REQUEST","message":"failed to unescape request parameter \\"*\\". Error: invalid URL escape \\"%zz\\""}',
    })
  })

  it('413 ERR_BODY_READ over maxBodyBytes, after the pubsub/topic checks', async () => {
    const res = await call({ url: '/v1.0/publish/pubsub/orders', body: Buffer.alloc(11) }, { maxBodyBytes: 10 })
    expect(res).toEqual({
      status: 413,
      headers: json,
      body: '{"errorCode":"ERR_BODY_READ","message":"failed to read request body: stream too large (limit 10 bytes)"}',
    })
    expect((await call({ url: '/v1.0/publish/nope/orders', body: Buffer.alloc(11) }, { maxBodyBytes: 10 })).status).toBe(404)
    expect((await call({ url: '/v1.0-alpha1/publish/bulk/pubsub/orders', body: Buffer.alloc(11) }, { maxBodyBytes: 10 })).status).toBe(413)
  })

  it('the default body limit is 1 MiB', async () => {
    const handler = api()
    expect(handler.maxBodyBytes).toBe(1024 * 1024)
    const res = await handler(apiRequest({ url: '/v1.0/publish/pubsub/orders', body: Buffer.alloc(1024 * 1024 + 1) }))
    expect(res.status).toBe(413)
  })
})

describe('bulk publish: request errors (daprd onBulkPublish)', () => {
  const bulk = (body: string, query = '') => call({ url: `/v1.0-alpha1/publish/bulk/pubsub/orders${query}`, body })

  it('400 ERR_PUBSUB_EVENTS_SER when the body is not the entry list (daprd integration test text)', async () => {
    const message =
      'error when unmarshaling the request for topic orders pubsub pubsub: json: cannot unmarshal object into Go value of type []http.bulkPublishMessageEntry'
    expect(await bulk('{"entryID": ""}')).toEqual({
      status: 400,
      headers: json,
      body:
        `{"errorCode":"ERR_PUBSUB_EVENTS_SER","message":"${message}","details":[` +
        `{"@type":"${RES_INFO}","description":"${message}","owner":"","resource_name":"pubsub","resource_type":"pubsub"},` +
        `{"@type":"${ERR_INFO}","domain":"dapr.io","metadata":{"appID":"checkout"},"reason":"DAPR_PUBSUB_UNMARSHAL_EVENTS"}]}`,
    })
    expect(JSON.parse((await bulk('{"entryID": "}')).body).message).toBe(
      'error when unmarshaling the request for topic orders pubsub pubsub: unexpected EOF',
    )
    expect(JSON.parse((await bulk('')).body).message).toBe('error when unmarshaling the request for topic orders pubsub pubsub: EOF')
  })

  it('400 ERR_PUBSUB_EVENTS_SER for an empty or repeated entryId', async () => {
    const message = 'error marshaling events to bytes for topic orders pubsub pubsub. error: entryId is duplicated or not present for entry'
    const expected = {
      status: 400,
      headers: json,
      body:
        `{"errorCode":"ERR_PUBSUB_EVENTS_SER","message":"${message}","details":[` +
        `{"@type":"${RES_INFO}","description":"${message}","owner":"","resource_name":"pubsub","resource_type":"pubsub"},` +
        `{"@type":"${ERR_INFO}","domain":"dapr.io","metadata":{"appID":"checkout","error":"entryId is duplicated or not present for entry"},"reason":"DAPR_PUBSUB_MARSHAL_EVENTS"}]}`,
    }
    expect(await bulk('[{"event":"a","contentType":"text/plain"}]')).toEqual(expected)
    expect(
      await bulk('[{"entryId":"1","event":"a","contentType":"text/plain"},{"entryId":"1","event":"b","contentType":"text/plain"}]'),
    ).toEqual(expected)
  })

  it('400 ERR_PUBSUB_EVENTS_SER for an event that does not fit its contentType', async () => {
    const res = await bulk('[{"entryId":"1","event":{"a":1},"contentType":"text/plain"}]')
    expect(res.status).toBe(400)
    const body = JSON.parse(res.body)
    expect(body.errorCode).toBe('ERR_PUBSUB_EVENTS_SER')
    expect(body.message).toBe(
      'error when marshalling cloud event envelope for topic orders pubsub pubsub: error: mismatch between contentType and event',
    )
    expect(body.details[1]).toMatchObject({
      reason: 'DAPR_PUBSUB_MARSHAL_ENVELOPE',
      metadata: { appID: 'checkout', error: 'error: mismatch between contentType and event' },
    })
  })

  it('500 ERR_PUBSUB_CLOUD_EVENTS_SER for a cloudevents+json entry that is not an object', async () => {
    const res = await bulk('[{"entryId":"1","event":"not an event","contentType":"application/cloudevents+json"}]')
    expect(res.status).toBe(500)
    expect(JSON.parse(res.body)).toMatchObject({ errorCode: 'ERR_PUBSUB_CLOUD_EVENTS_SER', message: 'cannot create cloudevent' })
  })

  it('400 for a bad request-level rawPayload, before the body is read', async () => {
    const res = await bulk('not json', '?metadata.rawPayload=maybe')
    expect(res.status).toBe(400)
    expect(JSON.parse(res.body).errorCode).toBe('ERR_PUBSUB_REQUEST_METADATA')
  })

  it('an empty list and a null body publish nothing: 204', async () => {
    expect(await bulk('[]')).toEqual({ status: 204, headers: {}, body: '' })
    expect(await bulk('null')).toEqual({ status: 204, headers: {}, body: '' })
  })

  it('a wildcard topic is 400 for the whole request', async () => {
    const res = await call({ url: '/v1.0/publish/bulk/pubsub/a/%2B', body: '[{"entryId":"1","event":"x","contentType":"text/plain"}]' })
    expect(res.status).toBe(400)
    expect(JSON.parse(res.body).errorCode).toBe('ERR_MALFORMED_REQUEST')
  })
})

describe('routes, methods, health and metadata', () => {
  it('404 with daprd’s fallback body for a path it has no route for', async () => {
    for (const url of ['/', '/v1.0', '/v1.0/state/store', '/v1.0-alpha1/publish/pubsub/t', '/v1.0/healthz/x', '/V1.0/healthz']) {
      expect(await call({ method: 'GET', url })).toEqual({
        status: 404,
        headers: json,
        body: '{"errorCode":"ERR_DIRECT_INVOKE","message":"failed getting app id either from the URL path or the header dapr-app-id"}',
      })
    }
  })

  it('405 with Allow for a wrong method on a known route (daprd: the 404 above)', async () => {
    expect(await call({ method: 'GET', url: '/v1.0/publish/pubsub/orders' })).toEqual({
      status: 405,
      headers: { ...json, allow: 'POST, PUT' },
      body: '{"errorCode":"ERR_METHOD_NOT_ALLOWED","message":"method GET is not allowed on /v1.0/publish/pubsub/orders; use POST or PUT"}',
    })
    for (const url of ['/v1.0/healthz', '/v1.0/healthz/outbound', '/v1.0/metadata']) {
      const res = await call({ method: 'POST', url })
      expect(res.status).toBe(405)
      expect(res.headers['allow']).toBe('GET')
    }
    expect((await call({ method: 'HEAD', url: '/v1.0/healthz' })).status).toBe(405)
  })

  it('GET /v1.0/healthz and /v1.0/healthz/outbound: 204', async () => {
    expect(await call({ method: 'GET', url: '/v1.0/healthz' })).toEqual({ status: 204, headers: {}, body: '' })
    expect(await call({ method: 'GET', url: '/v1.0/healthz/outbound' })).toEqual({ status: 204, headers: {}, body: '' })
    expect(await call({ method: 'GET', url: '/v1.0/healthz?appid=checkout' })).toEqual({ status: 204, headers: {}, body: '' })
  })

  it('GET /v1.0/healthz?appid=other: 500 ERR_HEALTH_APPID_NOT_MATCH', async () => {
    expect(await call({ method: 'GET', url: '/v1.0/healthz?appid=other' })).toEqual({
      status: 500,
      headers: json,
      body: '{"errorCode":"ERR_HEALTH_APPID_NOT_MATCH","message":"dapr app-id does not match"}',
    })
  })

  it('GET /v1.0/metadata: daprd’s shape, the pubsubs this app sees', async () => {
    const res = await call({ method: 'GET', url: '/v1.0/metadata' })
    expect(res.status).toBe(200)
    expect(res.headers).toEqual(json)
    const component = (name: string) => ({ name, type: 'pubsub.mqtt', version: 'v1', capabilities: ['SUBSCRIBE_WILDCARDS'] })
    expect(JSON.parse(res.body)).toEqual({
      id: 'checkout',
      runtimeVersion: 'edge',
      enabledFeatures: [],
      actors: [],
      components: ['pubsub', 'guarded', 'scoped', 'elsewhere'].map(component),
      extended: { daprRuntimeVersion: 'edge', mqttfn: 'publish-api' },
      subscriptions: [],
      httpEndpoints: [],
      actorRuntime: { runtimeStatus: 'DISABLED', hostReady: false },
    })
  })
})

describe('dapr-api-token (daprd APITokenAuthMiddleware)', () => {
  const token = 's3cret-token'
  const unauthorized = {
    status: 401,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
    body: 'invalid api token\n',
  }

  it('401 with daprd’s plain-text body without the header, with a wrong one, or one of another length', async () => {
    expect(await call({ url: '/v1.0/publish/pubsub/orders', body: 'x' }, { apiToken: token })).toEqual(unauthorized)
    expect(await call({ url: '/v1.0/publish/pubsub/orders', headers: { 'dapr-api-token': 's3cret-tokem' } }, { apiToken: token })).toEqual(
      unauthorized,
    )
    expect(await call({ url: '/v1.0/publish/pubsub/orders', headers: { 'dapr-api-token': 's3cret' } }, { apiToken: token })).toEqual(unauthorized)
  })

  it('checked before routing: unknown paths and metadata need it too', async () => {
    expect(await call({ method: 'GET', url: '/nothing' }, { apiToken: token })).toEqual(unauthorized)
    expect(await call({ method: 'GET', url: '/v1.0/metadata' }, { apiToken: token })).toEqual(unauthorized)
  })

  it('GET healthz routes are exempt, as in daprd', async () => {
    expect((await call({ method: 'GET', url: '/v1.0/healthz' }, { apiToken: token })).status).toBe(204)
    expect((await call({ method: 'GET', url: '/v1.0/healthz/outbound' }, { apiToken: token })).status).toBe(204)
    expect(await call({ method: 'POST', url: '/v1.0/healthz' }, { apiToken: token })).toEqual(unauthorized)
  })

  it('the right token passes', async () => {
    const res = await call({ method: 'GET', url: '/v1.0/metadata', headers: { 'dapr-api-token': token } }, { apiToken: token })
    expect(res.status).toBe(200)
  })
})
