// `pubsub()` of mqtt-fn/functions against the real DaprClient of @dapr/dapr: the same calls, one
// through the SDK to the publish API over HTTP (as to a sidecar), one in process. The broker
// must get the same CloudEvent from both (ids and times aside), and the results must have the
// SDK's shape.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAllPubsubClients } from '../../../src/core/pubsub/index.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { createPublishApi } from '../../../src/http/index.js'
import { startHttpServer, type HttpServer } from '../../../src/http/node-server.js'
import { pubsub, DaprPublishError, type FunctionPubsub } from '../../../src/exports/functions.js'
import { loadPubsubs } from '../../helpers/http.js'
import { recordTopics, type Received, type Recorder } from '../../helpers/mqtt-recorder.js'
import { pubsubYaml } from '../../../support/component-yaml.js'

const quiet = () => {}
const silent = { level: LogLevel.Error, service: { error: quiet, warn: quiet, info: quiet, verbose: quiet, debug: quiet } }
const noLog = { error: quiet, warn: quiet }

// Type-level proof: ours is assignable where the SDK's IClientPubSub (DaprClient.pubsub) is expected.
type IClientPubSub = DaprClient['pubsub']
const asSdk = (p: FunctionPubsub): IClientPubSub => p

let broker: EmbeddedBroker
let server: HttpServer
let recorder: Recorder
let sdk: DaprClient
let ours: FunctionPubsub
let dir: string

beforeAll(async () => {
  broker = await startEmbeddedBroker()
  const resources = await loadPubsubs([{ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }], 'fn-app')
  server = await startHttpServer(createPublishApi({ resources, appId: 'fn-app' }))
  dir = await mkdtemp(join(tmpdir(), 'mqttfn-functions-'))
  await writeFile(join(dir, 'pubsub.yaml'), pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }))
  recorder = await recordTopics(broker.url, ['sdk/#', 'fn/#'])
  sdk = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(server.port), communicationProtocol: CommunicationProtocolEnum.HTTP, logger: silent })
  ours = asSdk(pubsub({ resourcesPath: dir, appId: 'fn-app', logger: noLog })) as FunctionPubsub
}, 60_000)

afterAll(async () => {
  await recorder?.close()
  await server?.close()
  await closeAllPubsubClients()
  await broker?.close()
  await rm(dir, { recursive: true, force: true })
})

/** The CloudEvent without what differs per message. */
function stable(message: Received): Record<string, unknown> {
  const event = JSON.parse(message.payload.toString('utf8')) as Record<string, unknown>
  const { id: _id, time: _time, traceid: _t, traceparent: _tp, topic, ...rest } = event
  return { ...rest, topic: String(topic).replace(/^(sdk|fn)\//, '') }
}

let n = 0
/** Publishes the same call both ways and returns what the broker got from each. */
async function both(call: (p: IClientPubSub, topic: string) => Promise<unknown>): Promise<[Received, Received]> {
  const suffix = `case-${++n}`
  const fromSdk = recorder.next((m) => m.topic === `sdk/${suffix}`)
  const fromUs = recorder.next((m) => m.topic === `fn/${suffix}`)
  await call(sdk.pubsub, `sdk/${suffix}`)
  await call(ours, `fn/${suffix}`)
  return [await fromSdk, await fromUs]
}

describe('pubsub() publishes what DaprClient.pubsub publishes through the publish API', () => {
  it.each([
    ['an object (application/json)', { orderId: 42, items: ['a', 'b'] }, undefined],
    ['a string (text/plain)', 'hello ünïcode', undefined],
    ['a CloudEvent (passed through)', { id: 'ce-1', source: 'shop', type: 'order.created', specversion: '1.0', data: { a: 1 } }, undefined],
    ['a Buffer (application/octet-stream)', Buffer.from([0, 1, 2, 255]), undefined],
    ['an explicit content type', '<order id="1"/>', { contentType: 'application/xml' }],
    ['metadata (cloudevent.type, ttlInSeconds)', { a: 1 }, { metadata: { 'cloudevent.type': 'order.placed', ttlInSeconds: 60 } }],
  ])('%s', async (_name, data, options) => {
    const [a, b] = await both((p, topic) => p.publish('pubsub', topic, data as object | string, options))
    expect(stable(b)).toEqual(stable(a))
  })

  it('rawPayload sends the bytes as they are', async () => {
    const [a, b] = await both((p, topic) => p.publish('pubsub', topic, { raw: true }, { metadata: { rawPayload: 'true' } }))
    expect(b.payload.toString()).toBe('{"raw":true}')
    expect(a.payload.toString()).toBe(b.payload.toString())
  })

  it('publishBulk: every entry, with the SDK result shape', async () => {
    const topic = `fn/bulk-${++n}`
    const got = recorder.take(3, (m) => m.topic === topic)
    const result = await ours.publishBulk('pubsub', topic, [{ a: 1 }, 'two', { entryID: 'e3', event: { c: 3 }, contentType: 'application/json' }])
    expect(result).toEqual({ failedMessages: [] })
    const events = (await got).map((m) => JSON.parse(m.payload.toString()) as { data: unknown; datacontenttype: string })
    expect(events.map((e) => e.data).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual(['two', { a: 1 }, { c: 3 }])
  })
})

describe('bad input is an { error } with daprd code and message, never a throw or a hang', () => {
  it('an unknown pubsub', async () => {
    const result = await ours.publish('nope', 'fn/x', { a: 1 })
    expect(result.error).toBeInstanceOf(DaprPublishError)
    expect(result.error).toMatchObject({ status: 404, errorCode: 'ERR_PUBSUB_NOT_FOUND' })
    expect(result.error?.message).toMatch(/nope/)
  })

  it('a wildcard topic', async () => {
    const result = await ours.publish('pubsub', 'fn/+/x', { a: 1 })
    expect(result.error).toMatchObject({ status: 400, errorCode: 'ERR_MALFORMED_REQUEST' })
    expect(result.error?.message).toMatch(/wildcard|\+/)
  })

  it('data that cannot be serialized', async () => {
    const circular: Record<string, unknown> = {}
    circular.self = circular
    const result = await ours.publish('pubsub', 'fn/x', circular)
    expect(result.error?.message).toMatch(/JSON/)
  })

  it('bulk to an unknown pubsub fails every entry with the error', async () => {
    const result = await ours.publishBulk('nope', 'fn/x', ['a', 'b'])
    expect(result.failedMessages).toHaveLength(2)
    expect(result.failedMessages[0]?.error).toMatchObject({ errorCode: 'ERR_PUBSUB_NOT_FOUND' })
    expect(result.failedMessages.map((f) => f.message.event)).toEqual(['a', 'b'])
  })

  it('resources that do not load: { error } naming the cause', async () => {
    const broken = pubsub({ resourcesPath: join(dir, 'missing'), logger: noLog })
    const result = await broken.publish('pubsub', 'fn/x', 'a')
    expect(result.error?.message).toMatch(/resources/)
  })

  it('a broker that is down: { error } within publishTimeout', async () => {
    const downDir = await mkdtemp(join(tmpdir(), 'mqttfn-functions-down-'))
    await writeFile(join(downDir, 'pubsub.yaml'), pubsubYaml({ name: 'down', url: 'mqtt://127.0.0.1:1', metadata: { publishTimeout: '300', connectTimeout: '300' } }))
    const result = await pubsub({ resourcesPath: downDir, logger: noLog }).publish('down', 'fn/x', 'a')
    expect(result.error).toMatchObject({ errorCode: 'ERR_PUBSUB_PUBLISH_MESSAGE' })
    await rm(downDir, { recursive: true, force: true })
  })
})
