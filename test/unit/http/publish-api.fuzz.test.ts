// Property-based tests of the publish API handler with arbitrary requests.
//
// The MQTT client here is a recording fake, on purpose and only in this file: the properties
// are about what the handler lets through to a client (never a topic with `+` or `#`), across
// thousands of requests per run, and about the handler surviving a client that rejects or
// throws. A real broker would neither observe a forbidden topic (MQTT.js refuses it before
// sending) nor keep up with the run count. Real brokers are used in test/integration/http.
import { validateHeaderName, validateHeaderValue } from 'node:http'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { PublishError } from '../../../src/core/errors.js'
import type { PublishOptions } from '../../../src/core/pubsub/types.js'
import type { LoadedResources, PubsubComponent } from '../../../src/core/resources/types.js'
import { createPublishApi, type PublishClient } from '../../../src/http/index.js'
import type { ApiRequest, ApiResponse } from '../../../src/http/types.js'
import { loadPubsubs } from '../../helpers/http.js'

interface Published {
  component: string
  topic: string
  payload: Buffer
  options: PublishOptions | undefined
}

/** Records every publish; fails some on request (by payload marker) to drive the error paths. */
function recordingClients(): { published: Published[]; getClient: (c: PubsubComponent) => PublishClient } {
  const published: Published[] = []
  return {
    published,
    getClient: (component) => ({
      publish: (topic, payload, options) => {
        published.push({ component: component.name, topic, payload, options })
        const text = payload.toString('latin1')
        if (text.includes('THROW')) throw new Error('client threw synchronously')
        if (text.includes('FAIL')) return Promise.reject(new PublishError(topic, 'broker said no'))
        return Promise.resolve()
      },
    }),
  }
}

let resources: LoadedResources
beforeAll(async () => {
  resources = await loadPubsubs(
    [
      { name: 'pubsub', url: 'mqtt://127.0.0.1:9' },
      { name: 'bulk', url: 'mqtt://127.0.0.1:9' },
      { name: 'guarded', url: 'mqtt://127.0.0.1:9', metadata: { allowedTopics: 'a,b/c', protectedTopics: 'b/c', publishingScopes: 'app=b/c' } },
    ],
    'app',
  )
})

const segmentToken = fc.oneof(
  fc.constantFrom(
    'v1.0', 'v1.0-alpha1', 'publish', 'bulk', 'healthz', 'outbound', 'metadata', 'pubsub', 'guarded', 'a', 'b', 'c',
    '', '.', '..', '+', '#', '%2B', '%23', '%2F', '%2f', '%00', '%zz', '%', '%F', '%FF', '%C3%A9', 'a+b', '$SYS', 'é', '%20',
    '%0A', '%0D%0A', '%01', '%7F', '%C2%85', '%EF%BF%BE',
  ),
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
)
const plainLevel = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('orders', 'a', 'b', 'c', 'new', 'x%20y', 'caf%C3%A9') },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,6}$/) },
  { weight: 2, arbitrary: segmentToken },
)
const pathArb = fc.oneof(
  {
    weight: 7,
    arbitrary: fc
      .tuple(
        fc.constantFrom('/v1.0/publish/', '/v1.0-alpha1/publish/bulk/', '/v1.0/publish/bulk/'),
        fc.oneof({ weight: 5, arbitrary: fc.constantFrom('pubsub', 'guarded', 'bulk') }, { weight: 1, arbitrary: segmentToken }),
        fc.array(plainLevel, { maxLength: 4 }),
        fc.constantFrom('', '', '', '/', '//'),
      )
      .map(([prefix, pubsub, levels, tail]) => prefix + pubsub + '/' + levels.join('/') + tail),
  },
  { weight: 1, arbitrary: fc.constantFrom('/v1.0/healthz', '/v1.0/healthz/outbound', '/v1.0/metadata', '/v1.0//healthz', '/v1.0/healthz/') },
  { weight: 1, arbitrary: fc.array(segmentToken, { maxLength: 7 }).map((s) => '/' + s.join('/')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
)
const metadataValue = fc.oneof(fc.constantFrom('true', 'false', '1', 'T', 'yes', '', '10', '-1', '1h', 'x'), fc.string({ maxLength: 6 }))
const queryArb = fc
  .array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(
          'metadata.rawPayload', 'metadata.retain', 'metadata.ttlInSeconds', 'metadata.ttl', 'metadata.cloudevent.id',
          'metadata.cloudevent.traceparent', 'metadata.cloudevent.type', 'metadata.', 'metadata.__proto__', 'appid', 'x',
        ),
        fc.string({ maxLength: 10 }),
      ),
      metadataValue,
    ),
    { maxLength: 5 },
  )
  .map((pairs) => new URLSearchParams(pairs))
const contentType = fc.constantFrom(
  undefined, 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/octet-stream',
  'application/cloudevents+json', 'application/xml', 'image/png', '', 'APPLICATION/JSON',
)
const entryArb = fc.record(
  {
    entryId: fc.oneof(fc.constantFrom('1', '2', '', 'x'), fc.string({ maxLength: 4 }), fc.integer()),
    event: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('AAEC', 'AP8=', 'FAIL', 'THROW', '{"id":"x"}')),
    contentType: fc.oneof(contentType, fc.integer()),
    metadata: fc.oneof(fc.constant(null), fc.dictionary(fc.constantFrom('retain', 'rawPayload', 'ttlInSeconds', 'cloudevent.type', 'k'), metadataValue)),
  },
  { requiredKeys: [] },
)
const bodyArb = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? '')),
  { weight: 1, arbitrary: fc.array(entryArb, { maxLength: 5 }).map((v) => Buffer.from(JSON.stringify(v))) },
  {
    weight: 3,
    arbitrary: fc
      .uniqueArray(entryArb, { maxLength: 5, selector: (e) => e.entryId })
      .map((v) => Buffer.from(JSON.stringify(v))),
  },
  fc.constantFrom('', 'FAIL', 'THROW', '{"specversion":"1.0","id":"1"}', '{"}', '[{"entryId":"1"', 'null').map((s) => Buffer.from(s)),
)
const requestArb: fc.Arbitrary<ApiRequest> = fc.record({
  method: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom('POST', 'PUT') },
    { weight: 1, arbitrary: fc.constantFrom('GET', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS', 'post') },
  ),
  path: pathArb,
  query: queryArb,
  headers: fc.record(
    {
      'content-type': contentType,
      traceparent: fc.oneof(fc.constant('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'), fc.string({ maxLength: 10 })),
      tracestate: fc.string({ maxLength: 10 }),
      'dapr-api-token': fc.constantFrom('tok', 'tok', 'tok', 'tok2', ''),
    },
    { requiredKeys: [] },
  ),
  body: bodyArb,
})

const ERROR_KEYS = new Set(['errorCode', 'message', 'details'])

/** The response invariants: a status, and either an empty 204, daprd's 401 text, or a Dapr JSON body. */
function checkResponse(req: ApiRequest, res: ApiResponse): void {
  expect(Number.isInteger(res.status) && res.status >= 200 && res.status <= 599).toBe(true)
  for (const [name, value] of Object.entries(res.headers)) {
    validateHeaderName(name)
    validateHeaderValue(name, value)
  }
  if (res.status === 204) {
    expect(res.body).toBe('')
    return
  }
  if (res.status === 401) {
    expect(res.body).toBe('invalid api token\n')
    return
  }
  expect(res.headers['content-type']).toBe('application/json')
  const body: unknown = JSON.parse(res.body)
  expect(typeof body).toBe('object')
  const record = body as Record<string, unknown>
  if (res.status === 200) {
    expect(req.method).toBe('GET')
    expect(Array.isArray(record['components'])).toBe(true)
    return
  }
  if ('failedEntries' in record) {
    expect(res.status).toBe(500)
    expect(Object.keys(record)).toEqual(['failedEntries', 'errorCode'])
    expect(record['errorCode']).toBe('ERR_PUBSUB_PUBLISH_MESSAGE')
    const failed = record['failedEntries'] as { entryId: unknown; error: unknown }[]
    expect(failed.length).toBeGreaterThan(0)
    for (const f of failed) {
      expect(typeof f.entryId).toBe('string')
      expect(typeof f.error).toBe('string')
    }
    return
  }
  expect(res.status).toBeGreaterThanOrEqual(400)
  for (const key of Object.keys(record)) expect(ERROR_KEYS.has(key)).toBe(true)
  expect(typeof record['errorCode']).toBe('string')
  expect(record['errorCode']).toMatch(/^ERR_[A-Z_]+$/)
  expect(typeof record['message']).toBe('string')
  if ('details' in record) expect(Array.isArray(record['details'])).toBe(true)
}

function checkPublished(published: Published[]): void {
  for (const p of published) {
    expect(p.topic).not.toBe('')
    expect(p.topic).not.toMatch(/[+#\u0000-\u001f\u007f-\u009f\ufdd0-\ufdef\ufffe\uffff]/)
    expect(p.topic).not.toMatch(/[\ud800-\udfff]/u)
  }
}

describe('publish API fuzz (recording fake MQTT client)', () => {
  it('never throws, never publishes a wildcard topic, always answers in Dapr’s shapes', async () => {
    await fc.assert(
      fc.asyncProperty(requestArb, fc.constantFrom(undefined, undefined, undefined, 'tok'), async (req, apiToken) => {
        const { published, getClient } = recordingClients()
        const errors: unknown[] = []
        const handler = createPublishApi({
          resources,
          appId: 'app',
          getClient,
          maxBodyBytes: 200,
          logger: { error: (m, f) => errors.push([m, f]), warn: () => {} },
          ...(apiToken ? { apiToken } : {}),
        })
        const res = await handler(req)
        checkResponse(req, res)
        checkPublished(published)
        // Only a sync throw of the fake is a non-MqttFn failure, and even that is a publish failure.
        expect(errors).toEqual([])
        if (res.status === 204 && published.length > 0) {
          for (const p of published) expect(p.payload.toString('latin1')).not.toMatch(/FAIL|THROW/)
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('a valid publish reaches the client once, on the topic the path names', async () => {
    const level = fc
      .string({ unit: fc.oneof(fc.constantFrom('a', 'Z', '0', ' ', '%', '/', '&', '?', 'é', '😀', '$', ':', '~', '"'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 6 })
      .filter((s) => !/[+#/\u0000-\u001f\u007f-\u009f\ufdd0-\ufdef\ufffe\uffff]/.test(s))
    await fc.assert(
      fc.asyncProperty(fc.array(level, { minLength: 1, maxLength: 4 }), fc.boolean(), fc.uint8Array({ maxLength: 32 }), async (levels, encodeSlash, body) => {
        const { published, getClient } = recordingClients()
        const handler = createPublishApi({ resources, appId: 'app', getClient })
        const sep = encodeSlash ? '%2F' : '/'
        const path = '/v1.0/publish/pubsub/' + levels.map(encodeURIComponent).join(sep)
        const res = await handler({ method: 'POST', path, query: new URLSearchParams('metadata.rawPayload=true'), headers: {}, body: Buffer.from(body) })
        expect(res).toEqual({ status: 204, headers: {}, body: '' })
        expect(published.map((p) => p.topic)).toEqual([levels.join('/')])
        expect(published[0]?.payload).toEqual(Buffer.from(body))
      }),
      { numRuns: 1000 },
    )
  })

  it('bulk: every entry is published once or reported failed, never both, never silently dropped', async () => {
    const entry = fc.record({
      event: fc.constantFrom('ok', 'FAIL', 'THROW', 'fine'),
      retain: fc.constantFrom(undefined, 'true', 'nope'),
    })
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 20 }), async (entries) => {
        const { published, getClient } = recordingClients()
        const handler = createPublishApi({ resources, appId: 'app', getClient })
        const body = entries.map((e, i) => ({
          entryId: `e${i}`,
          event: e.event,
          contentType: 'text/plain',
          ...(e.retain === undefined ? {} : { metadata: { retain: e.retain } }),
        }))
        const res = await handler({ method: 'POST', path: '/v1.0-alpha1/publish/bulk/pubsub/t', query: new URLSearchParams(), headers: {}, body: Buffer.from(JSON.stringify(body)) })
        const expectFailed = entries.flatMap((e, i) => (e.retain === 'nope' || e.event === 'FAIL' || e.event === 'THROW' ? [`e${i}`] : []))
        if (expectFailed.length === 0) {
          expect(res.status).toBe(204)
        } else {
          expect(res.status).toBe(500)
          expect(JSON.parse(res.body).failedEntries.map((f: { entryId: string }) => f.entryId)).toEqual(expectFailed)
        }
        // Entries with a bad retain never reach the client; the rest are published exactly once.
        expect(published.length).toBe(entries.filter((e) => e.retain !== 'nope').length)
        for (const p of published) expect(p.topic).toBe('t')
      }),
      { numRuns: 300 },
    )
  })
})
