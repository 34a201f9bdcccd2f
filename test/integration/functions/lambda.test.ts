// The middy middleware and topicHandler with real Lambda event shapes (@types/aws-lambda) and a
// real broker: a user's own handler publishes through context.pubsub; deliveries as the
// forwarder sends them (Invoke payload, bulk envelope, Function URL event) get Dapr's answers.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import middy from '@middy/core'
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAllPubsubClients } from '../../../src/core/pubsub/index.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { pubsubMiddleware, topicHandler, type CloudEvent, type PubsubContext } from '../../../src/exports/functions.js'
import { recordTopics, type Recorder } from '../../helpers/mqtt-recorder.js'
import { pubsubYaml } from '../../../support/component-yaml.js'

const logs: string[] = []
const logger = { warn: (m: string) => void logs.push(m), error: (m: string) => void logs.push(m) }

function lambdaContext(remainingMs = 30_000): Context {
  const deadline = Date.now() + remainingMs
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'mine',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:mine',
    memoryLimitInMB: '128',
    awsRequestId: 'req-1',
    logGroupName: '/aws/lambda/mine',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  }
}

/** What Lambda passes a middy handler: a plain Context, to which the middleware adds `pubsub` (middy's types say the handler sees it). */
const platformContext = (remainingMs?: number) => lambdaContext(remainingMs) as PubsubContext

function functionUrlEvent(body: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: '/orders',
    rawQueryString: '',
    headers: { 'content-type': 'application/cloudevents+json' },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'local',
      http: { method: 'POST', path: '/orders', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'r',
      routeKey: '$default',
      stage: '$default',
      time: '03/Dec/2026:00:00:00 +0000',
      timeEpoch: 0,
    },
    body,
    isBase64Encoded: false,
  }
}

const event = (data: unknown, extra: Record<string, unknown> = {}) => ({
  id: 'e1', source: 'shop', type: 'order', specversion: '1.0', datacontenttype: 'application/json', topic: 'orders/new', pubsubname: 'pubsub', data, ...extra,
})

let broker: EmbeddedBroker
let dir: string
let recorder: Recorder

beforeAll(async () => {
  broker = await startEmbeddedBroker()
  dir = await mkdtemp(join(tmpdir(), 'mqttfn-functions-lambda-'))
  await writeFile(join(dir, 'pubsub.yaml'), pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }))
  recorder = await recordTopics(broker.url, 'own/#')
})

afterAll(async () => {
  await recorder?.close()
  await closeAllPubsubClients()
  await broker?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('pubsubMiddleware', () => {
  it('gives a handler context.pubsub; the event is on the broker when the handler returns', async () => {
    const handler = middy<{ orderId: number }, { published: boolean }, Error, Context>()
      .use(pubsubMiddleware({ resourcesPath: dir, appId: 'shop' }))
      .handler(async (input, context) => {
        const { error } = await context.pubsub.publish('pubsub', 'own/orders', { orderId: input.orderId })
        return { published: error === undefined }
      })
    const got = recorder.next((m) => m.topic === 'own/orders')
    expect(await handler({ orderId: 7 }, platformContext())).toEqual({ published: true })
    const cloudEvent = JSON.parse((await got).payload.toString()) as Record<string, unknown>
    expect(cloudEvent).toMatchObject({ data: { orderId: 7 }, source: 'shop', topic: 'own/orders', pubsubname: 'pubsub' })
    // Warm: the second invocation reuses the connection.
    expect(await handler({ orderId: 8 }, platformContext())).toEqual({ published: true })
  })

  it('every wait is bounded by what the invocation has left, not by publishTimeout: an { error }, not a Lambda timeout', async () => {
    const downDir = await mkdtemp(join(tmpdir(), 'mqttfn-functions-slow-'))
    // A broker that never answers within the test's 30 s unless the invocation's time bounds the wait.
    await writeFile(join(downDir, 'pubsub.yaml'), pubsubYaml({ name: 'slow', url: 'mqtt://10.255.255.1:1883', metadata: { publishTimeout: '120000', connectTimeout: '120000' } }))
    const handler = middy<unknown, unknown, Error, Context>()
      .use(pubsubMiddleware({ resourcesPath: downDir }))
      .handler(async (_input, context) => context.pubsub.publish('slow', 'own/late', 'x'))
    const result = (await handler({}, platformContext(1_000))) as { error?: Error }
    expect(result.error).toBeInstanceOf(Error)
    expect(result.error).toMatchObject({ errorCode: 'ERR_PUBSUB_PUBLISH_MESSAGE' })
    await rm(downDir, { recursive: true, force: true })
  })
})

describe('topicHandler', () => {
  it('a Lambda Invoke payload: data decoded, { status } answered', async () => {
    const seen: CloudEvent<{ orderId: number }>[] = []
    const handler = topicHandler<{ orderId: number }>((e) => void seen.push(e), { logger })
    expect(await handler(event({ orderId: 1 }), lambdaContext())).toEqual({ status: 'SUCCESS' })
    expect(seen[0]?.data.orderId).toBe(1)
  })

  it('returns RETRY and DROP as given; a throw is RETRY; an unknown answer is RETRY', async () => {
    expect(await topicHandler(() => 'DROP' as const, { logger })(event(1), lambdaContext())).toEqual({ status: 'DROP' })
    expect(await topicHandler(() => 'RETRY' as const, { logger })(event(1), lambdaContext())).toEqual({ status: 'RETRY' })
    expect(await topicHandler(() => { throw new Error('boom') }, { logger })(event(1), lambdaContext())).toEqual({ status: 'RETRY' })
    expect(await topicHandler(() => 'success' as never, { logger })(event(1), lambdaContext())).toEqual({ status: 'RETRY' })
  })

  it('data_base64 and rawPayload deliveries are decoded by datacontenttype', async () => {
    const seen: unknown[] = []
    const handler = topicHandler((e) => void seen.push(e.data), { logger })
    await handler(event(undefined, { data: undefined, data_base64: Buffer.from('{"x":1}').toString('base64') }), lambdaContext())
    await handler(event(undefined, { data: undefined, datacontenttype: 'text/plain', data_base64: Buffer.from('hi').toString('base64') }), lambdaContext())
    await handler(event(undefined, { data: undefined, datacontenttype: 'application/octet-stream', data_base64: Buffer.from([1, 2]).toString('base64') }), lambdaContext())
    expect(seen[0]).toEqual({ x: 1 })
    expect(seen[1]).toBe('hi')
    expect(Buffer.isBuffer(seen[2]) && [...(seen[2] as Buffer)]).toEqual([1, 2])
  })

  it('a bulk envelope: fn per entry, { statuses } by entryId, raw entries decoded', async () => {
    const handler = topicHandler((e) => (e.data === 'bad' ? 'DROP' : undefined), { logger })
    const answer = await handler(
      {
        id: 'b', type: 'com.dapr.event.sent.bulk', topic: 'orders/new', pubsubname: 'pubsub', metadata: {},
        entries: [
          { entryId: '1', event: event('ok'), contentType: 'application/cloudevents+json', metadata: {} },
          { entryId: '2', event: event('bad'), contentType: 'application/cloudevents+json', metadata: {} },
          { entryId: '3', event: Buffer.from('raw').toString('base64'), contentType: 'application/octet-stream', metadata: {} },
          { entryId: '4', event: { not: 'a cloudevent' }, contentType: 'application/cloudevents+json', metadata: {} },
        ],
      },
      lambdaContext(),
    )
    expect(answer).toEqual({ statuses: [{ entryId: '1', status: 'SUCCESS' }, { entryId: '2', status: 'DROP' }, { entryId: '3', status: 'SUCCESS' }, { entryId: '4', status: 'DROP' }] })
  })

  it('a malformed delivery is DROP with a logged reason, never an endless RETRY', async () => {
    logs.length = 0
    let called = false
    const handler = topicHandler(() => void (called = true), { logger })
    expect(await handler({ hello: 'world' }, lambdaContext())).toEqual({ status: 'DROP' })
    expect(await handler('not json', lambdaContext())).toEqual({ status: 'DROP' })
    expect(await handler(event(1, { data_base64: 42 }), lambdaContext())).toEqual({ status: 'DROP' })
    expect(called).toBe(false)
    expect(logs.join('\n')).toMatch(/no string `id`[\s\S]*not JSON[\s\S]*data_base64 is not a string/)
  })

  it('a Function URL event is answered 200 with the status JSON', async () => {
    const handler = topicHandler((e) => (e.data === 2 ? 'RETRY' : 'SUCCESS'), { logger })
    expect(await handler(functionUrlEvent(JSON.stringify(event(2))), lambdaContext())).toEqual({
      statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"status":"RETRY"}',
    })
    expect(await handler(functionUrlEvent('{'), lambdaContext())).toMatchObject({ statusCode: 200, body: '{"status":"DROP"}' })
  })
})
