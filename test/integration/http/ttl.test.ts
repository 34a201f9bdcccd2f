// Issue 17 item 6a: `metadata.ttlInSeconds` / `metadata.ttl` over the publish API, single and
// bulk, exactly as daprd treats them. daprd's publish path (dapr/dapr pkg/api/http/http.go
// onPublish / onBulkPublish) reads the TTL only in components-contrib pubsub/envelope.go
// `ApplyMetadata`, which discards the error of metadata/utils.go `TryGetTTL`: so daprd answers
// 204 for every value, a value TryGetTTL refuses (`-1`, `abc`, `1.5`) means no expiration, and
// `0` (a valid Go duration) means an event that expires at once. A real HTTP server, the real
// client and aedes; the events are read by a plain MQTT.js subscriber.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hasExpired } from '../../../src/core/envelope/index.js'
import { closeAllPubsubClients } from '../../../src/core/pubsub/index.js'
import { createPublishApi } from '../../../src/http/index.js'
import { startHttpServer, type HttpServer } from '../../../src/http/node-server.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { httpCall } from '../../helpers/http-client.js'
import { loadPubsubs } from '../../helpers/http.js'
import { recordTopics, type Recorder } from '../../helpers/mqtt-recorder.js'

describe('TTL metadata over the publish API follows daprd (accepted as daprd accepts it)', () => {
  let broker: EmbeddedBroker
  let server: HttpServer
  let recorder: Recorder

  beforeAll(async () => {
    broker = await startEmbeddedBroker()
    const resources = await loadPubsubs([{ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }], 'checkout')
    server = await startHttpServer(createPublishApi({ resources, appId: 'checkout' }))
    recorder = await recordTopics(broker.url, 'ttl/#')
  })

  afterAll(async () => {
    await recorder?.close()
    await server?.close()
    await closeAllPubsubClients()
    await broker?.close()
  })

  const event = async (topic: string): Promise<Record<string, unknown>> =>
    JSON.parse((await recorder.next((m) => m.topic === topic)).payload.toString()) as Record<string, unknown>

  it.each([
    ['ttlInSeconds=0', '"0" is a Go duration of 0'],
    ['ttl=0s', 'a zero duration'],
    ['ttl=-5s', 'a negative duration counts as 0'],
  ])('%s: 204 and an event that expires at once (%s)', async (query, _why) => {
    const topic = `ttl/now/${query.replace(/[^a-z0-9]/gi, '_')}`
    const res = await httpCall(`${server.url}/v1.0/publish/pubsub/${topic}?metadata.${query}`, { body: 'x' })
    expect(res.status).toBe(204)
    const e = await event(topic)
    // now + 0, truncated to the second like `time`: a daprd subscriber drops it as expired.
    expect(e['expiration']).toBe(e['time'])
    expect(hasExpired(e, new Date(Date.parse(e['expiration'] as string) + 1000))).toBe(true)
  })

  it.each(['-1', 'abc', '1.5', '0x10', ' 5', '1e3'])('ttlInSeconds=%j: 204 and no expiration (TryGetTTL refuses it, ApplyMetadata ignores that)', async (value) => {
    const topic = `ttl/ignored/${Buffer.from(value).toString('hex')}`
    const res = await httpCall(`${server.url}/v1.0/publish/pubsub/${topic}?metadata.ttlInSeconds=${encodeURIComponent(value)}`, { body: 'x' })
    expect(res.status).toBe(204)
    expect(await event(topic)).not.toHaveProperty('expiration')
  })

  it('bulk: each entry’s TTL is read the same way', async () => {
    const values = ['0', '-1', 'abc', '1.5', '60']
    const entries = values.map((ttl, i) => ({ entryId: String(i), event: ttl, contentType: 'text/plain', metadata: { ttlInSeconds: ttl } }))
    const res = await httpCall(`${server.url}/v1.0-alpha1/publish/bulk/pubsub/ttl/bulk`, { body: JSON.stringify(entries) })
    expect(res.status).toBe(204)
    const got = (await recorder.take(values.length, (m) => m.topic === 'ttl/bulk')).map(
      (m) => JSON.parse(m.payload.toString()) as Record<string, unknown>,
    )
    const byValue = new Map(got.map((e) => [e['data'] as string, e]))
    expect(byValue.get('0')?.['expiration']).toBe(byValue.get('0')?.['time'])
    for (const ignored of ['-1', 'abc', '1.5']) expect(byValue.get(ignored)).not.toHaveProperty('expiration')
    const sixty = byValue.get('60') as Record<string, unknown>
    expect(Date.parse(sixty['expiration'] as string) - Date.parse(sixty['time'] as string)).toBe(60_000)
  })
})
