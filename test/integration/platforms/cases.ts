// The platform cases, run twice: against the handlers built from src/ (integration) and against
// the bundles in dist/ as Lambda and the Functions host load them (e2e). Every case goes through
// a real broker and is checked by a plain MQTT subscriber on the wire.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HttpRequest, InvocationContext, type HttpHandler, type HttpResponseInit, type StorageQueueHandler } from '@azure/functions'
import type { APIGatewayProxyResult } from 'aws-lambda'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEADLINE_MARGIN_MS } from '../../../src/function-runtime/deadline.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import type { HttpPublishHandler, SqsRelayHandler } from '../../../src/platforms/aws/index.js'
import type { AwsHttpEvent } from '../../../src/platforms/aws/http-event.js'
import { FIFO_QUEUE_ARN, httpEventV1, httpEventV2, lambdaContext, sqsEvent, type RecordInit } from '../../../support/aws-events.js'
import { pubsubYaml } from '../../../support/component-yaml.js'
import { recordTopics, type Received, type Recorder } from '../../helpers/mqtt-recorder.js'
import { getFreePort } from '../../../support/ports.js'

/** Handlers as a platform sees them: plain functions (from src/ or from a bundle). */
export interface PlatformHandlers {
  awsHttp: HttpPublishHandler
  /** MQTTFN_PUBSUB=pubsub, MQTTFN_TOPIC=relay/default. */
  sqsRelay: SqsRelayHandler
  /** MQTTFN_PUBSUB=down: a broker nobody listens on. */
  sqsRelayDown: SqsRelayHandler
  azureHttp: HttpHandler
  azureRelay: StorageQueueHandler
  azureRelayDown: StorageQueueHandler
}

/** The environment of each variant; a resources folder with `pubsub` (live) and `down` components. */
export interface PlatformEnv {
  resourcesPath: string
  brokerUrl: string
  live: Record<string, string>
  down: Record<string, string>
}

export const APP_ID = 'checkout'
export const DEFAULT_TOPIC = 'relay/default'
/** `down`: CONNACK bound 500 ms, whole publish bound 1000 ms. */
export const DOWN_PUBLISH_TIMEOUT_MS = 1000

/**
 * The bound a failed publish reports ("... timed out after N ms"): which timer answered, read
 * from the answer itself rather than from a wall clock a loaded machine stretches.
 */
function reportedBoundMs(text: string): number {
  const m = /timed out after ([\d.]+) ms/.exec(text)
  expect(m, text).not.toBeNull()
  return Number(m![1])
}

/** The wait for a connection was armed with what was left of publishTimeout (a few ms less). */
function expectPublishTimeoutBound(text: string): void {
  const ms = reportedBoundMs(text)
  expect(ms, text).toBeLessThanOrEqual(DOWN_PUBLISH_TIMEOUT_MS)
  expect(ms, text).toBeGreaterThan(DOWN_PUBLISH_TIMEOUT_MS * 0.8)
}

export interface PlatformSetup {
  handlers: PlatformHandlers
  close(): Promise<void>
}

/** Starts aedes and writes the resources folder the handlers load (through MQTTFN_RESOURCES_PATH). */
async function startEnvironment(): Promise<{ broker: EmbeddedBroker; env: PlatformEnv; dir: string }> {
  const broker = await startEmbeddedBroker()
  const deadPort = await getFreePort()
  const dir = await mkdtemp(join(tmpdir(), 'mqttfn-platform-'))
  await writeFile(
    join(dir, 'pubsub.yaml'),
    [
      pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }),
      pubsubYaml({
        name: 'down',
        url: `mqtt://127.0.0.1:${deadPort}`,
        metadata: { qos: '1', connectTimeout: '500', publishTimeout: String(DOWN_PUBLISH_TIMEOUT_MS) },
      }),
    ].join('---\n'),
  )
  const base = { MQTTFN_RESOURCES_PATH: dir, APP_ID, MQTTFN_TOPIC: DEFAULT_TOPIC }
  return {
    broker,
    dir,
    env: { resourcesPath: dir, brokerUrl: broker.url, live: { ...base, MQTTFN_PUBSUB: 'pubsub' }, down: { ...base, MQTTFN_PUBSUB: 'down' } },
  }
}

let sequence = 0
const unique = (prefix: string): string => `${prefix}/${process.pid}-${++sequence}`

export function describePlatformCases(title: string, makeHandlers: (env: PlatformEnv) => Promise<PlatformSetup>): void {
  describe(title, () => {
    let broker: EmbeddedBroker
    let dir: string
    let setup: PlatformSetup
    let recorder: Recorder
    let h: PlatformHandlers

    beforeAll(async () => {
      const started = await startEnvironment()
      broker = started.broker
      dir = started.dir
      setup = await makeHandlers(started.env)
      h = setup.handlers
      recorder = await recordTopics(broker.url, ['orders/#', 'relay/#', 'fifo/#', 'raw/#', 'batch/#', 'az/#'])
    }, 120_000)

    afterAll(async () => {
      await recorder?.close()
      await setup?.close()
      await broker?.close()
      if (dir) await rm(dir, { recursive: true, force: true })
    })

    const next = (topic: string): Promise<Received> => recorder.next((m) => m.topic === topic)
    const event = (m: Received): Record<string, unknown> => JSON.parse(m.payload.toString('utf8')) as Record<string, unknown>

    describe('AWS HTTP publish (Function URL / API Gateway)', () => {
      it('JSON body: 204, then Dapr CloudEvent with the object as data', async () => {
        const topic = unique('orders/json')
        const res = (await h.awsHttp(
          httpEventV2({ url: `/v1.0/publish/pubsub/${topic}`, headers: { 'content-type': 'application/json' }, body: '{"b":2,"a":"<x>"}' }),
          lambdaContext(),
        )) as APIGatewayProxyResult
        expect(res.statusCode).toBe(204)
        const msg = await next(topic)
        expect(msg.payload.toString()).toMatch(/^\{"data":\{"a":"\\u003cx\\u003e","b":2\},"datacontenttype":"application\/json",/)
        expect(event(msg)).toMatchObject({ topic, pubsubname: 'pubsub', source: APP_ID, specversion: '1.0', type: 'com.dapr.event.sent' })
        expect(msg.qos).toBe(1)
      })

      it('text body: data is the string, content type kept', async () => {
        const topic = unique('orders/text')
        const res = (await h.awsHttp(
          httpEventV2({ url: `/v1.0/publish/pubsub/${topic}`, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'héllo' }),
          lambdaContext(),
        )) as APIGatewayProxyResult
        expect(res.statusCode).toBe(204)
        expect(event(await next(topic))).toMatchObject({ data: 'héllo', datacontenttype: 'text/plain; charset=utf-8' })
      })

      it('binary body (base64 in the event): data_base64 holds the exact bytes', async () => {
        const topic = unique('orders/bin')
        const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 10])
        const res = (await h.awsHttp(
          httpEventV2({ url: `/v1.0/publish/pubsub/${topic}`, headers: { 'content-type': 'application/octet-stream' }, body: bytes, base64: true }),
          lambdaContext(),
        )) as APIGatewayProxyResult
        expect(res.statusCode).toBe(204)
        const e = event(await next(topic))
        expect(e['data_base64']).toBe(bytes.toString('base64'))
        expect(e['datacontenttype']).toBe('application/octet-stream')
        expect(e).not.toHaveProperty('data')
      })

      it('CloudEvent body passes through: its id kept, topic and pubsubname set', async () => {
        const topic = unique('orders/ce')
        const ce = { specversion: '1.0', id: 'evt-1', source: 'shop', type: 'order.created', topic: 'ignored', data: { n: 1 } }
        const res = (await h.awsHttp(
          httpEventV2({ url: `/v1.0/publish/pubsub/${topic}`, headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(ce) }),
          lambdaContext(),
        )) as APIGatewayProxyResult
        expect(res.statusCode).toBe(204)
        expect(event(await next(topic))).toMatchObject({ id: 'evt-1', source: 'shop', type: 'order.created', topic, pubsubname: 'pubsub', data: { n: 1 } })
      })

      it('metadata.rawPayload=true sends the body bytes unwrapped', async () => {
        const topic = unique('raw/http')
        const res = (await h.awsHttp(
          httpEventV2({ url: `/v1.0/publish/pubsub/${topic}?metadata.rawPayload=true`, headers: { 'content-type': 'text/plain' }, body: 'as is' }),
          lambdaContext(),
        )) as APIGatewayProxyResult
        expect(res.statusCode).toBe(204)
        expect((await next(topic)).payload.toString()).toBe('as is')
      })

      it('REST API (payload 1.0) and an HTTP API stage prefix reach the same routes', async () => {
        const t1 = unique('orders/rest')
        const r1 = (await h.awsHttp(
          httpEventV1({ url: `/v1.0/publish/pubsub/${t1}`, headers: { 'Content-Type': 'application/json' }, body: '{"v":1}' }),
          lambdaContext(),
        )) as APIGatewayProxyResult
        expect(r1.statusCode).toBe(204)
        expect(event(await next(t1))['data']).toEqual({ v: 1 })
        const t2 = unique('orders/stage')
        const r2 = (await h.awsHttp(
          httpEventV2({ url: `/v1.0/publish/pubsub/${t2}`, headers: { 'content-type': 'application/json' }, body: '{"v":2}', stage: 'prod' }),
          lambdaContext(),
        )) as APIGatewayProxyResult
        expect(r2.statusCode).toBe(204)
        expect(event(await next(t2))['data']).toEqual({ v: 2 })
      })

      it('GET /v1.0/healthz answers 204; an unknown pubsub 404 with a Dapr error body', async () => {
        const health = (await h.awsHttp(httpEventV2({ method: 'GET', url: '/v1.0/healthz' }), lambdaContext())) as APIGatewayProxyResult
        expect(health.statusCode).toBe(204)
        const missing = (await h.awsHttp(httpEventV2({ url: '/v1.0/publish/nope/orders', body: 'x' }), lambdaContext())) as APIGatewayProxyResult
        expect(missing.statusCode).toBe(404)
        expect(JSON.parse(missing.body)).toMatchObject({ errorCode: 'ERR_PUBSUB_NOT_FOUND' })
      })

      it('an event that is no HTTP request: 400, not a crash', async () => {
        const res = (await h.awsHttp({ hello: 'world' } as unknown as AwsHttpEvent, lambdaContext())) as APIGatewayProxyResult
        expect(res.statusCode).toBe(400)
        expect(JSON.parse(res.body)).toMatchObject({ errorCode: 'ERR_MALFORMED_REQUEST' })
      })

      it('broker down: 500 ERR_PUBSUB_PUBLISH_MESSAGE within the publish timeout', async () => {
        const res = (await h.awsHttp(httpEventV2({ url: '/v1.0/publish/down/orders/x', body: 'x' }), lambdaContext())) as APIGatewayProxyResult
        expect(res.statusCode).toBe(500)
        const body = JSON.parse(res.body) as { errorCode: string; message: string }
        expect(body).toMatchObject({ errorCode: 'ERR_PUBSUB_PUBLISH_MESSAGE' })
        expectPublishTimeoutBound(body.message)
      })

      it('the Lambda deadline shortens the wait: 500 before the invocation would time out', async () => {
        const res = (await h.awsHttp(httpEventV2({ url: '/v1.0/publish/down/orders/y', body: 'x' }), lambdaContext(600))) as APIGatewayProxyResult
        expect(res.statusCode).toBe(500)
        // The wait was bounded by the invocation's 600 ms less the margin kept to answer
        // (DEADLINE_MARGIN_MS), not by publishTimeout (1000 ms).
        const ms = reportedBoundMs((JSON.parse(res.body) as { message: string }).message)
        expect(ms).toBeLessThanOrEqual(600 - DEADLINE_MARGIN_MS)
        expect(ms).toBeGreaterThan(600 - DEADLINE_MARGIN_MS - 150)
      })
    })

    describe('AWS SQS relay', () => {
      it('JSON, text, CloudEvent, rawPayload and default-topic records all arrive in the Dapr wire format', async () => {
        const t = unique('batch/mixed')
        const res = await h.sqsRelay(
          sqsEvent([
            { body: '{"a":1}', attributes: { topic: `${t}/json` } },
            { body: 'plain text', attributes: { topic: `${t}/text` } },
            { body: JSON.stringify({ specversion: '1.0', id: 'ce-7', source: 's', type: 't', topic: `${t}/ce`, data: 'x' }) },
            { body: 'raw bytes', attributes: { topic: `${t}/raw`, rawPayload: 'true' } },
            { body: 'goes to the default', attributes: { contentType: 'text/csv' } },
          ]),
          lambdaContext(),
        )
        expect(res).toEqual({ batchItemFailures: [] })
        expect(event(await next(`${t}/json`))).toMatchObject({ data: { a: 1 }, datacontenttype: 'application/json', source: APP_ID, pubsubname: 'pubsub' })
        expect(event(await next(`${t}/text`))).toMatchObject({ data: 'plain text', datacontenttype: 'text/plain' })
        expect(event(await next(`${t}/ce`))).toMatchObject({ id: 'ce-7', topic: `${t}/ce`, pubsubname: 'pubsub', data: 'x' })
        expect((await next(`${t}/raw`)).payload.toString()).toBe('raw bytes')
        const fallback = await recorder.next((m) => m.topic === DEFAULT_TOPIC && m.payload.includes('goes to the default'))
        expect(event(fallback)).toMatchObject({ data: 'goes to the default', datacontenttype: 'text/csv', topic: DEFAULT_TOPIC })
      })

      it('a batch of 10 with one bad record reports exactly that record', async () => {
        const t = unique('batch/ten')
        const records: RecordInit[] = Array.from({ length: 10 }, (_, i) => ({ body: `{"i":${i}}`, attributes: { topic: `${t}/${i}` }, messageId: `m-${i}` }))
        records[6] = { body: '{"i":6}', attributes: { topic: `${t}/+` }, messageId: 'm-6' }
        const res = await h.sqsRelay(sqsEvent(records), lambdaContext())
        expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-6' }] })
        const got = await recorder.take(9, (m) => m.topic.startsWith(`${t}/`))
        expect(got.map((m) => m.topic).sort()).toEqual([0, 1, 2, 3, 4, 5, 7, 8, 9].map((i) => `${t}/${i}`).sort())
      })

      it('an invalid topic is never replaced by the default topic', async () => {
        const t = unique('batch/invalid')
        const res = await h.sqsRelay(
          sqsEvent([
            { body: JSON.stringify({ specversion: '1.0', id: '1', source: 's', type: 't', topic: `${t}/#` }), messageId: 'ce-wild' },
            { body: 'x', attributes: { topic: '' }, messageId: 'attr-empty' },
            { body: JSON.stringify({ specversion: '1.0', id: '2', source: 's', type: 't', topic: 42 }), messageId: 'ce-number' },
          ]),
          lambdaContext(),
        )
        expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['attr-empty', 'ce-number', 'ce-wild'])
        // A marker through the same relay (one connection, delivered in order) comes after
        // anything the bad records could have published to the default topic.
        const marker = `marker ${t}`
        expect(await h.sqsRelay(sqsEvent([{ body: marker }]), lambdaContext())).toEqual({ batchItemFailures: [] })
        await recorder.next((m) => m.topic === DEFAULT_TOPIC && m.payload.includes(marker))
        expect(recorder.messages.filter((m) => m.topic === DEFAULT_TOPIC && m.payload.includes(`"id":"1"`))).toEqual([])
      })

      it('FIFO: records publish in order', async () => {
        const t = unique('fifo/order')
        const records = Array.from({ length: 6 }, (_, i) => ({ body: `{"seq":${i}}`, attributes: { topic: t }, messageId: `f-${i}` }))
        const res = await h.sqsRelay(sqsEvent(records, FIFO_QUEUE_ARN), lambdaContext())
        expect(res).toEqual({ batchItemFailures: [] })
        const got = await recorder.take(6, (m) => m.topic === t)
        expect(got.map((m) => (event(m)['data'] as { seq: number }).seq)).toEqual([0, 1, 2, 3, 4, 5])
      })

      it('FIFO: stops at the first failure and reports it and everything after it', async () => {
        const t = unique('fifo/stop')
        const records = Array.from({ length: 5 }, (_, i) => ({ body: `{"seq":${i}}`, attributes: { topic: t }, messageId: `s-${i}` }))
        records[2] = { body: '{"seq":2}', attributes: { topic: `${t}/#` }, messageId: 's-2' }
        const res = await h.sqsRelay(sqsEvent(records, FIFO_QUEUE_ARN), lambdaContext())
        expect(res.batchItemFailures).toEqual([{ itemIdentifier: 's-2' }, { itemIdentifier: 's-3' }, { itemIdentifier: 's-4' }])
        const got = await recorder.take(2, (m) => m.topic === t)
        expect(got.map((m) => (event(m)['data'] as { seq: number }).seq)).toEqual([0, 1])
        // A marker through the same relay comes after anything s-3 or s-4 could have published.
        const marker = await h.sqsRelay(sqsEvent([{ body: '{"seq":"marker"}', attributes: { topic: t }, messageId: 's-marker' }], FIFO_QUEUE_ARN), lambdaContext())
        expect(marker).toEqual({ batchItemFailures: [] })
        await recorder.take(3, (m) => m.topic === t)
        expect(recorder.messages.filter((m) => m.topic === t).map((m) => (event(m)['data'] as { seq: unknown }).seq)).toEqual([0, 1, 'marker'])
      })

      it('broker down: every record is reported failed within the publish timeout', async () => {
        // The relay's answer names no bound, so this is a hang guard only: 10 x publishTimeout,
        // generous for a loaded CI box, far below what an unbounded wait would take.
        const started = Date.now()
        const res = await h.sqsRelayDown(
          sqsEvent([
            { body: 'a', attributes: { topic: 'relay/down' }, messageId: 'd-1' },
            { body: 'b', attributes: { topic: 'relay/down' }, messageId: 'd-2' },
          ]),
          lambdaContext(),
        )
        expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['d-1', 'd-2'])
        expect(Date.now() - started).toBeLessThan(10 * DOWN_PUBLISH_TIMEOUT_MS)
      })
    })

    describe('Azure HTTP publish and Storage Queue relay', () => {
      const ctx = (): InvocationContext =>
        new InvocationContext({ invocationId: `inv-${++sequence}`, functionName: 'test', logHandler: () => {}, triggerMetadata: { dequeueCount: 1 } })

      it('HTTP: JSON and binary bodies publish; healthz answers', async () => {
        const t = unique('az/http')
        const res = (await h.azureHttp(
          new HttpRequest({ method: 'POST', url: `https://app.azurewebsites.net/v1.0/publish/pubsub/${t}`, headers: { 'content-type': 'application/json' }, body: { string: '{"z":true}' } }),
          ctx(),
        )) as HttpResponseInit
        expect(res.status).toBe(204)
        expect(event(await next(t))).toMatchObject({ data: { z: true }, datacontenttype: 'application/json', source: APP_ID })

        const bytes = Buffer.from([0xde, 0xad, 0xbe, 0xef])
        const bin = (await h.azureHttp(
          new HttpRequest({ method: 'POST', url: `https://app.azurewebsites.net/v1.0/publish/pubsub/${t}/bin`, headers: { 'content-type': 'application/octet-stream' }, body: { bytes } }),
          ctx(),
        )) as HttpResponseInit
        expect(bin.status).toBe(204)
        expect(event(await next(`${t}/bin`))['data_base64']).toBe(bytes.toString('base64'))

        const health = (await h.azureHttp(new HttpRequest({ method: 'GET', url: 'https://app.azurewebsites.net/v1.0/healthz' }), ctx())) as HttpResponseInit
        expect(health.status).toBe(204)
      })

      it('HTTP: broker down is a 500 within the publish timeout', async () => {
        const res = (await h.azureHttp(
          new HttpRequest({ method: 'POST', url: 'https://app.azurewebsites.net/v1.0/publish/down/orders', body: { string: 'x' } }),
          ctx(),
        )) as HttpResponseInit
        expect(res.status).toBe(500)
        expectPublishTimeoutBound((JSON.parse(String(res.body)) as { message: string }).message)
      })

      it('queue: a JSON value, a string, bytes and a CloudEvent arrive in the Dapr wire format', async () => {
        const t = unique('az/queue')
        await h.azureRelay({ specversion: '1.0', id: 'az-ce', source: 'src', type: 'typ', topic: `${t}/ce`, data: [1, 2] }, ctx())
        expect(event(await next(`${t}/ce`))).toMatchObject({ id: 'az-ce', topic: `${t}/ce`, pubsubname: 'pubsub', data: [1, 2] })

        const mark = `${t}-mark`
        await h.azureRelay({ mark, n: 1 }, ctx())
        const json = await recorder.next((m) => m.topic === DEFAULT_TOPIC && m.payload.includes(mark))
        expect(event(json)).toMatchObject({ data: { mark, n: 1 }, datacontenttype: 'application/json', source: APP_ID })

        await h.azureRelay(`text ${mark}`, ctx())
        const text = await recorder.next((m) => m.topic === DEFAULT_TOPIC && m.payload.includes(`text ${mark}`))
        expect(event(text)).toMatchObject({ data: `text ${mark}`, datacontenttype: 'text/plain' })

        const bytes = Buffer.from([0xff, 0x00, 0xfe, ...Buffer.from(mark)])
        await h.azureRelay(bytes, ctx())
        const bin = await recorder.next((m) => m.topic === DEFAULT_TOPIC && m.payload.includes(bytes.toString('base64')))
        expect(event(bin)).toMatchObject({ data_base64: bytes.toString('base64'), datacontenttype: 'application/octet-stream' })
      })

      it('queue: a bad message throws (the host retries it, then moves it to <queue>-poison)', async () => {
        const t = unique('az/poison')
        await expect(h.azureRelay({ specversion: '1.0', id: 'p', source: 's', type: 't', topic: `${t}/+` }, ctx())).rejects.toThrow(/topic/)
        await expect(h.azureRelay(undefined, ctx())).rejects.toThrow()
        // A marker through the same relay comes after anything the bad messages could have published.
        await h.azureRelay({ specversion: '1.0', id: 'p-marker', source: 's', type: 't', topic: `${t}/marker` }, ctx())
        await next(`${t}/marker`)
        expect(recorder.messages.filter((m) => m.topic.startsWith(t)).map((m) => m.topic)).toEqual([`${t}/marker`])
      })

      it('queue: broker down throws within the publish timeout', async () => {
        const err = await Promise.resolve(h.azureRelayDown('x', ctx())).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(err).toBeInstanceOf(Error)
        expectPublishTimeoutBound(String(err))
      })
    })
  })
}
