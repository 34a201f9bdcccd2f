// The publish API end to end: a real HTTP server on loopback (startHttpServer), the real MQTT
// client of core/pubsub, a real broker (aedes in-process, then Mosquitto), and a plain MQTT.js
// subscriber that checks what arrives on the wire.
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { closeAllPubsubClients } from '../../../src/core/pubsub/index.js'
import { startEmbeddedBroker } from '../../../src/local/broker.js'
import { createPublishApi } from '../../../src/http/index.js'
import { startHttpServer, type HttpServer } from '../../../src/http/node-server.js'
import { httpCall } from '../../helpers/http-client.js'
import { loadPubsubs } from '../../helpers/http.js'
import { MOSQUITTO_BIN, startMosquitto } from '../../../support/mosquitto.js'
import { recordTopics, type Recorder } from '../../helpers/mqtt-recorder.js'
import { getFreePort } from '../../../support/ports.js'

interface Broker {
  url: string
  stop(): Promise<void>
}

const brokers: { name: string; start(): Promise<Broker> }[] = [
  { name: 'aedes', start: async () => { const b = await startEmbeddedBroker(); return { url: b.url, stop: () => b.close() } } },
]
if (MOSQUITTO_BIN) {
  brokers.push({ name: 'mosquitto', start: async () => { const b = await startMosquitto(); return { url: b.url, stop: () => b.stop() } } })
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/

describe.each(brokers)('publish API over HTTP against $name', (target) => {
  let broker: Broker
  let server: HttpServer
  let recorder: Recorder
  const base = (): string => server.url

  beforeAll(async () => {
    broker = await target.start()
    const deadPort = await getFreePort()
    const resources = await loadPubsubs(
      [
        { name: 'pubsub', url: broker.url, metadata: { qos: '1' } },
        { name: 'retained', url: broker.url, metadata: { qos: '1', retain: 'true' } },
        // Nothing listens there: every publish must fail within the bounds, never hang.
        { name: 'down', url: `mqtt://127.0.0.1:${deadPort}`, metadata: { connectTimeout: '500', publishTimeout: '1000' } },
      ],
      'checkout',
    )
    server = await startHttpServer(createPublishApi({ resources, appId: 'checkout', logger: { warn: () => {} } }))
    recorder = await recordTopics(broker.url, ['orders/#', 'bulk/#', 'raw/#', 'ttl/#'])
  })

  afterAll(async () => {
    await recorder?.close()
    await server?.close()
    await closeAllPubsubClients()
    await broker?.stop()
  })

  it('204 and a Dapr CloudEvent for a JSON body, keys sorted and HTML-escaped as Go writes them', async () => {
    const res = await httpCall(`${base()}/v1.0/publish/pubsub/orders/json`, {
      headers: { 'content-type': 'application/json' },
      body: '{"b": 2, "a": "<x>", "n": 1.50}',
    })
    expect(res.status).toBe(204)
    expect(res.body).toBe('')
    const msg = await recorder.next((m) => m.topic === 'orders/json')
    const text = msg.payload.toString()
    expect(text).toMatch(
      /^\{"data":\{"a":"\\u003cx\\u003e","b":2,"n":1\.50\},"datacontenttype":"application\/json","id":"[^"]+","pubsubname":"pubsub","source":"checkout","specversion":"1\.0","time":"[^"]+","topic":"orders\/json","traceid":"","traceparent":"","tracestate":"","type":"com\.dapr\.event\.sent"\}$/,
    )
    const event = JSON.parse(text)
    expect(event.id).toMatch(UUID)
    expect(event.time).toMatch(RFC3339)
    expect(msg.qos).toBe(1)
    expect(msg.retain).toBe(false)
  })

  it('text body: data is the string; no Content-Type is text/plain', async () => {
    expect((await httpCall(`${base()}/v1.0/publish/pubsub/orders/text`, { headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'héllo <b>' })).status).toBe(204)
    const withType = JSON.parse((await recorder.next((m) => m.topic === 'orders/text')).payload.toString())
    expect(withType).toMatchObject({ data: 'héllo <b>', datacontenttype: 'text/plain; charset=utf-8' })

    expect((await httpCall(`${base()}/v1.0/publish/pubsub/orders/notype`, { body: 'plain' })).status).toBe(204)
    const noType = JSON.parse((await recorder.next((m) => m.topic === 'orders/notype')).payload.toString())
    expect(noType).toMatchObject({ data: 'plain', datacontenttype: 'text/plain' })
  })

  it('binary body: data_base64', async () => {
    const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff])
    const res = await httpCall(`${base()}/v1.0/publish/pubsub/orders/bin`, { headers: { 'content-type': 'application/octet-stream' }, body: bytes })
    expect(res.status).toBe(204)
    const event = JSON.parse((await recorder.next((m) => m.topic === 'orders/bin')).payload.toString())
    expect(event.data_base64).toBe(bytes.toString('base64'))
    expect(event).not.toHaveProperty('data')
    expect(event.datacontenttype).toBe('application/octet-stream')
  })

  it('a CloudEvent body passes through: topic and pubsubname overwritten, time added, no id generated', async () => {
    const ce = { specversion: '1.0', id: 'ce-1', source: 'billing', type: 'invoice.paid', topic: 'spoofed', pubsubname: 'spoofed', data: { x: 1 } }
    const res = await httpCall(`${base()}/v1.0/publish/pubsub/orders/ce`, {
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(ce),
    })
    expect(res.status).toBe(204)
    const event = JSON.parse((await recorder.next((m) => m.topic === 'orders/ce')).payload.toString())
    expect(event).toMatchObject({ id: 'ce-1', source: 'billing', type: 'invoice.paid', topic: 'orders/ce', pubsubname: 'pubsub', data: { x: 1 } })
    expect(event.time).toMatch(RFC3339)
  })

  it('the topic may hold / as segments or as %2F; PUT works like POST', async () => {
    expect((await httpCall(`${base()}/v1.0/publish/pubsub/orders%2Fnew%2Feu`, { body: 'a' })).status).toBe(204)
    expect((await recorder.next((m) => m.topic === 'orders/new/eu')).payload.toString()).toContain('"topic":"orders/new/eu"')
    expect((await httpCall(`${base()}/v1.0/publish/pubsub/orders/put`, { method: 'PUT', body: 'a' })).status).toBe(204)
    await recorder.next((m) => m.topic === 'orders/put')
  })

  it('cloudevent.* metadata overrides id, source, type, subject; traceparent header lands in the event', async () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
    const res = await httpCall(
      `${base()}/v1.0/publish/pubsub/orders/override?metadata.cloudevent.id=my-id&metadata.cloudevent.source=my-src&metadata.cloudevent.type=my.type&metadata.cloudevent.subject=sub`,
      { headers: { 'content-type': 'application/json', traceparent, tracestate: 'k=v' }, body: '{}' },
    )
    expect(res.status).toBe(204)
    const event = JSON.parse((await recorder.next((m) => m.topic === 'orders/override')).payload.toString())
    expect(event).toMatchObject({ id: 'my-id', source: 'my-src', type: 'my.type', subject: 'sub', traceparent, traceid: traceparent, tracestate: 'k=v' })
  })

  it('rawPayload=true: the body bytes unchanged, no envelope', async () => {
    const body = Buffer.from([0x7b, 0x00, 0xff, 0x41])
    const res = await httpCall(`${base()}/v1.0/publish/pubsub/raw/bytes?metadata.rawPayload=true`, { body })
    expect(res.status).toBe(204)
    expect((await recorder.next((m) => m.topic === 'raw/bytes')).payload).toEqual(body)
  })

  it('ttlInSeconds: an expiration field ttl seconds from now (UTC, RFC 3339)', async () => {
    const before = Date.now()
    const res = await httpCall(`${base()}/v1.0/publish/pubsub/ttl/one?metadata.ttlInSeconds=120`, { body: 'x' })
    expect(res.status).toBe(204)
    const event = JSON.parse((await recorder.next((m) => m.topic === 'ttl/one')).payload.toString())
    expect(event.expiration).toMatch(/Z$/)
    const expires = Date.parse(event.expiration)
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 120_000)
    expect(expires).toBeLessThanOrEqual(Date.now() + 121_000)
  })

  it('retain: metadata.retain=true is stored by the broker; a late subscriber gets it', async () => {
    const topic = `retain/${target.name}/${Date.now()}`
    const res = await httpCall(`${base()}/v1.0/publish/pubsub/${topic}?metadata.retain=true`, { body: 'kept' })
    expect(res.status).toBe(204)
    const late = await recordTopics(broker.url, topic)
    try {
      const msg = await late.next()
      expect(msg.retain).toBe(true)
      expect(JSON.parse(msg.payload.toString()).data).toBe('kept')
    } finally {
      await late.client.publishAsync(topic, '', { retain: true, qos: 1 })
      await late.close()
    }
  })

  it('retain: the component default applies, metadata.retain=false overrides it', async () => {
    const topic = `retain/default/${target.name}/${Date.now()}`
    expect((await httpCall(`${base()}/v1.0/publish/retained/${topic}?metadata.retain=false`, { body: 'not kept' })).status).toBe(204)
    expect((await httpCall(`${base()}/v1.0/publish/retained/${topic}-2`, { body: 'kept' })).status).toBe(204)
    const late = await recordTopics(broker.url, [topic, `${topic}-2`])
    try {
      const kept = await late.next()
      expect(kept.topic).toBe(`${topic}-2`)
      expect(kept.retain).toBe(true)
      // Retained messages go out with the subscription, before anything published after it:
      // once a live marker on the first topic arrives, a wrongly retained one would be here.
      await late.client.publishAsync(topic, 'marker', { qos: 1 })
      await late.next((m) => m.topic === topic && m.payload.toString() === 'marker')
      expect(late.messages.map((m) => [m.topic, m.retain])).toEqual([
        [`${topic}-2`, true],
        [topic, false],
      ])
    } finally {
      await late.client.publishAsync(`${topic}-2`, '', { retain: true, qos: 1 })
      await late.close()
    }
  })

  it('bulk: JSON, text and binary entries each arrive as their CloudEvent; 204', async () => {
    const entries = [
      { entryId: '1', event: { n: 1 }, contentType: 'application/json' },
      { entryId: '2', event: 'two', contentType: 'text/plain' },
      { entryId: '3', event: Buffer.from('three').toString('base64'), contentType: 'application/octet-stream' },
      { entryId: '4', event: { specversion: '1.0', id: 'four', source: 's', type: 't', data: 4 }, contentType: 'application/cloudevents+json' },
    ]
    const res = await httpCall(`${base()}/v1.0-alpha1/publish/bulk/pubsub/bulk/ok`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify(entries) })
    expect(res.status).toBe(204)
    const got = (await recorder.take(4, (m) => m.topic === 'bulk/ok')).map((m) => JSON.parse(m.payload.toString()))
    const byType = (ct: string) => got.find((e) => e.datacontenttype === ct)
    expect(byType('application/json')).toMatchObject({ data: { n: 1 }, source: 'checkout', topic: 'bulk/ok' })
    expect(byType('text/plain')).toMatchObject({ data: 'two' })
    expect(byType('application/octet-stream')).toMatchObject({ data_base64: Buffer.from('three').toString('base64') })
    expect(got.find((e) => e.id === 'four')).toMatchObject({ data: 4, source: 's', topic: 'bulk/ok', pubsubname: 'pubsub' })
  })

  it('bulk: request metadata merges into entries that have metadata (entry wins), not into those without', async () => {
    const entries = [
      { entryId: 'with', event: 'a', contentType: 'text/plain', metadata: { 'cloudevent.type': 'entry.type' } },
      { entryId: 'without', event: 'b', contentType: 'text/plain' },
    ]
    const url = `${base()}/v1.0/publish/bulk/pubsub/bulk/merge?metadata.ttlInSeconds=60&metadata.cloudevent.type=request.type`
    expect((await httpCall(url, { body: JSON.stringify(entries) })).status).toBe(204)
    const got = (await recorder.take(2, (m) => m.topic === 'bulk/merge')).map((m) => JSON.parse(m.payload.toString()))
    const a = got.find((e) => e.data === 'a')
    const b = got.find((e) => e.data === 'b')
    expect(a).toMatchObject({ type: 'entry.type' })
    expect(a.expiration).toMatch(RFC3339)
    expect(b).toMatchObject({ type: 'com.dapr.event.sent' })
    expect(b).not.toHaveProperty('expiration')
  })

  it('bulk: rawPayload=true sends each entry’s bytes unwrapped', async () => {
    const entries = [
      { entryId: '1', event: { z: 1, a: '<' }, contentType: 'application/json' },
      { entryId: '2', event: 'AP8=', contentType: 'application/octet-stream' },
    ]
    expect((await httpCall(`${base()}/v1.0/publish/bulk/pubsub/raw/bulk?metadata.rawPayload=true`, { body: JSON.stringify(entries) })).status).toBe(204)
    const got = (await recorder.take(2, (m) => m.topic === 'raw/bulk')).map((m) => m.payload.toString('hex')).sort()
    expect(got).toEqual([Buffer.from('{"a":"\\u003c","z":1}').toString('hex'), '00ff'].sort())
  })

  it('bulk with one failing entry (bad per-entry retain): 500 naming only it; the others are delivered', async () => {
    const entries = [
      { entryId: 'good-1', event: 'g1', contentType: 'text/plain' },
      { entryId: 'bad', event: 'b', contentType: 'text/plain', metadata: { retain: 'perhaps' } },
      { entryId: 'good-2', event: 'g2', contentType: 'text/plain' },
    ]
    const res = await httpCall(`${base()}/v1.0-alpha1/publish/bulk/pubsub/bulk/partial`, { body: JSON.stringify(entries) })
    expect(res.status).toBe(500)
    expect(res.headers['content-type']).toBe('application/json')
    expect(res.body).toBe(
      '{"failedEntries":[{"entryId":"bad","error":"mqtt invalid retain perhaps, strconv.ParseBool: parsing \\"perhaps\\": invalid syntax"}],"errorCode":"ERR_PUBSUB_PUBLISH_MESSAGE"}',
    )
    const got = await recorder.take(2, (m) => m.topic === 'bulk/partial')
    expect(got.map((m) => JSON.parse(m.payload.toString()).data).sort()).toEqual(['g1', 'g2'])
  })

  it('broker down: 500 ERR_PUBSUB_PUBLISH_MESSAGE within the publish bounds, not a hang', async () => {
    const res = await httpCall(`${base()}/v1.0/publish/down/orders`, { body: 'x' })
    expect(res.status).toBe(500)
    expect(res.headers['content-type']).toBe('application/json')
    const body = JSON.parse(res.body)
    expect(body.errorCode).toBe('ERR_PUBSUB_PUBLISH_MESSAGE')
    expect(body.message).toMatch(/^error when publishing to topic orders in pubsub down: failed to publish: /)
    expect(body.details[1]).toMatchObject({ reason: 'DAPR_PUBSUB_PUBLISH_MESSAGE', metadata: { topic: 'orders' } })
    // The answer came from the component's publishTimeout (1000 ms; connectTimeout is 500),
    // the wait for a connection armed with what was left of it: the mechanism, not a clock.
    const bound = /connect to mqtt:\/\/127\.0\.0\.1:\d+ timed out after ([\d.]+) ms/.exec(body.message)
    expect(bound, body.message).not.toBeNull()
    expect(Number(bound![1])).toBeLessThanOrEqual(1000)
    expect(Number(bound![1])).toBeGreaterThan(800)
  })

  it('broker down, bulk: every entry listed as failed', async () => {
    const entries = [
      { entryId: 'a', event: 'x', contentType: 'text/plain' },
      { entryId: 'b', event: 'y', contentType: 'text/plain' },
    ]
    const res = await httpCall(`${base()}/v1.0/publish/bulk/down/orders`, { body: JSON.stringify(entries) })
    expect(res.status).toBe(500)
    const body = JSON.parse(res.body)
    expect(body.errorCode).toBe('ERR_PUBSUB_PUBLISH_MESSAGE')
    expect(body.failedEntries.map((e: { entryId: string }) => e.entryId)).toEqual(['a', 'b'])
    for (const e of body.failedEntries) expect(e.error).toMatch(/^failed to publish: /)
  })
})

describe('node-server adapter', () => {
  let broker: Broker
  let recorder: Recorder
  beforeAll(async () => {
    broker = await brokers[0]!.start()
    recorder = await recordTopics(broker.url, 'adapter/#')
  })
  afterAll(async () => {
    await recorder?.close()
    await closeAllPubsubClients()
    await broker?.stop()
  })

  it('413 for a body over the limit, whether announced by Content-Length or streamed', async () => {
    const resources = await loadPubsubs([{ name: 'adapter-413', url: broker.url }])
    const server = await startHttpServer(createPublishApi({ resources, maxBodyBytes: 1024 }))
    try {
      const big = Buffer.alloc(64 * 1024, 0x61)
      const declared = await httpCall(`${server.url}/v1.0/publish/adapter-413/adapter/big`, { body: big })
      expect(declared.status).toBe(413)
      expect(declared.headers['connection']).toBe('close')
      expect(JSON.parse(declared.body)).toEqual({
        errorCode: 'ERR_BODY_READ',
        message: 'failed to read request body: stream too large (limit 1024 bytes)',
      })
      // Chunked: no Content-Length, the limit is found while reading.
      const chunked = await new Promise<number>((resolve, reject) => {
        const req = http.request(`${server.url}/v1.0/publish/adapter-413/adapter/big`, { method: 'POST', agent: false }, (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        })
        req.on('error', reject)
        req.write(big.subarray(0, 800))
        req.write(big.subarray(0, 800))
        req.end()
      })
      expect(chunked).toBe(413)
      // Exactly at the limit is accepted.
      expect((await httpCall(`${server.url}/v1.0/publish/adapter-413/adapter/ok`, { body: Buffer.alloc(1024, 0x62) })).status).toBe(204)
      await recorder.next((m) => m.topic === 'adapter/ok')
    } finally {
      await server.close()
    }
  })

  it('401 with an API token as the CLI passes it from APP_API_TOKEN; the right header publishes', async () => {
    const env = { APP_API_TOKEN: 'tok-' + Date.now() }
    const resources = await loadPubsubs([{ name: 'adapter-auth', url: broker.url }])
    const server = await startHttpServer(createPublishApi({ resources, apiToken: env.APP_API_TOKEN }))
    try {
      const denied = await httpCall(`${server.url}/v1.0/publish/adapter-auth/adapter/auth`, { body: 'x' })
      expect(denied.status).toBe(401)
      expect(denied.headers['content-type']).toBe('text/plain; charset=utf-8')
      expect(denied.body).toBe('invalid api token\n')
      const ok = await httpCall(`${server.url}/v1.0/publish/adapter-auth/adapter/auth`, { body: 'x', headers: { 'dapr-api-token': env.APP_API_TOKEN } })
      expect(ok.status).toBe(204)
      await recorder.next((m) => m.topic === 'adapter/auth')
      expect((await httpCall(`${server.url}/v1.0/healthz`, { method: 'GET' })).status).toBe(204)
    } finally {
      await server.close()
    }
  })

  it('keeps connections alive: consecutive requests reuse one socket', async () => {
    const resources = await loadPubsubs([{ name: 'adapter-ka', url: broker.url }])
    const server = await startHttpServer(createPublishApi({ resources }))
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const a = await httpCall(`${server.url}/v1.0/publish/adapter-ka/adapter/ka`, { body: '1', agent })
      const b = await httpCall(`${server.url}/v1.0/healthz`, { method: 'GET', agent })
      const c = await httpCall(`${server.url}/v1.0/publish/adapter-ka/adapter/ka?`, { body: '2', agent })
      expect([a.status, b.status, c.status]).toEqual([204, 204, 204])
      expect(a.localPort).toBeDefined()
      expect(new Set([a.localPort, b.localPort, c.localPort]).size).toBe(1)
      await recorder.take(2, (m) => m.topic === 'adapter/ka')
    } finally {
      agent.destroy()
      await server.close()
    }
  })

  it('close() returns promptly with an idle keep-alive connection open', async () => {
    const resources = await loadPubsubs([{ name: 'adapter-close', url: broker.url }])
    const server = await startHttpServer(createPublishApi({ resources }))
    const agent = new http.Agent({ keepAlive: true })
    await httpCall(`${server.url}/v1.0/healthz`, { method: 'GET', agent })
    // Promptly = the idle connection was closed as idle; close() did not need its fallback
    // (closeAllConnections after a 2 s bound) to get rid of it.
    const fallback = vi.spyOn(http.Server.prototype, 'closeAllConnections')
    try {
      await server.close()
      expect(fallback).not.toHaveBeenCalled()
    } finally {
      fallback.mockRestore()
      agent.destroy()
    }
  })
})
