// Issue 15, publish half: the real @dapr/dapr DaprClient in gRPC mode (ConnectRPC's gRPC
// transport) against mqtt-fn's gRPC server, as against daprd's port 50001: GetMetadata first,
// then PublishEvent and BulkPublishEventAlpha1 put on the broker the same CloudEvent the HTTP
// publish API does. Bad input gets daprd's status codes, checked with a raw grpc-js client.
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr'
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAllPubsubClients } from '../../../src/core/pubsub/index.js'
import { startGrpcServer, type GrpcServer } from '../../../src/grpc/index.js'
import { createPublishApi } from '../../../src/http/index.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { apiRequest, loadPubsubs } from '../../helpers/http.js'
import { recordTopics, type Recorder } from '../../helpers/mqtt-recorder.js'

const TOKEN = 'grpc-token-1'
const quiet = () => {}
const silent = { level: LogLevel.Error, service: { error: quiet, warn: quiet, info: quiet, verbose: quiet, debug: quiet } }

let broker: EmbeddedBroker
let grpc: GrpcServer
let recorder: Recorder
let client: DaprClient
let publishApi: ReturnType<typeof createPublishApi>

beforeAll(async () => {
  broker = await startEmbeddedBroker()
  const resources = await loadPubsubs([{ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }], 'grpc-app')
  publishApi = createPublishApi({ resources, appId: 'grpc-app', apiToken: TOKEN })
  grpc = await startGrpcServer({ publishApi, apiToken: TOKEN, port: 0 })
  recorder = await recordTopics(broker.url, ['g/#'])
  client = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(grpc.port), communicationProtocol: CommunicationProtocolEnum.GRPC, daprApiToken: TOKEN, logger: silent })
})

afterAll(async () => {
  await client?.stop()
  await recorder?.close()
  await grpc?.close()
  await closeAllPubsubClients()
  await broker?.close()
})

const event = async (topic: string) => JSON.parse((await recorder.next((m) => m.topic === topic)).payload.toString()) as Record<string, unknown>

/** What the HTTP publish API puts on the broker for the same request, minus the fields that differ per event. */
async function viaHttp(path: string, body: string, contentType: string): Promise<Record<string, unknown>> {
  const response = await publishApi(apiRequest({ url: path, body, headers: { 'content-type': contentType, 'dapr-api-token': TOKEN } }))
  expect(response.status).toBe(204)
  return event(path.split('?')[0]!.replace('/v1.0/publish/pubsub/', ''))
}

const stable = (e: Record<string, unknown>) => {
  const { id: _id, time: _time, topic: _topic, ...rest } = e
  return rest
}

describe('@dapr/dapr DaprClient (gRPC) against mqtt-fn serve --grpc-port', () => {
  it('publish: the same CloudEvent as over HTTP, for an object, a string and metadata', async () => {
    const ok = await client.pubsub.publish('pubsub', 'g/obj', { orderId: 1 })
    expect(ok).toEqual({})
    const grpcEvent = await event('g/obj')
    expect(grpcEvent).toMatchObject({ data: { orderId: 1 }, datacontenttype: 'application/json', source: 'grpc-app', pubsubname: 'pubsub', topic: 'g/obj', type: 'com.dapr.event.sent', specversion: '1.0' })
    expect(stable(grpcEvent)).toEqual(stable(await viaHttp('/v1.0/publish/pubsub/g/obj-http', '{"orderId":1}', 'application/json')))

    await client.pubsub.publish('pubsub', 'g/text', 'hello', { metadata: { 'cloudevent.type': 'greeting' } })
    expect(await event('g/text')).toMatchObject({ data: 'hello', datacontenttype: 'text/plain', type: 'greeting' })
  })

  it('publish with rawPayload: the bytes as they are', async () => {
    await client.pubsub.publish('pubsub', 'g/raw', { b: [1, 2] }, { metadata: { rawPayload: 'true' } })
    const raw = await recorder.next((m) => m.topic === 'g/raw')
    expect(JSON.parse(raw.payload.toString())).toEqual({ b: [1, 2] })
  })

  it('publishBulk: every entry on the broker, no failed messages', async () => {
    const result = await client.pubsub.publishBulk('pubsub', 'g/bulk', [{ n: 1 }, 'two', { n: 3 }])
    expect(result).toEqual({ failedMessages: [] })
    const seen = [await event('g/bulk'), await recorder.next((m) => m.topic === 'g/bulk' && !m.payload.toString().includes('"n":1')).then((m) => JSON.parse(m.payload.toString()))]
    expect(seen.map((e) => (e as { data: unknown }).data)).toEqual(expect.arrayContaining([{ n: 1 }]))
  })

  it('a wrong pubsub, a wildcard topic: errors the SDK reports as daprd\'s', async () => {
    const notFound = await client.pubsub.publish('nope', 'g/x', { a: 1 }).catch((e: unknown) => e)
    expect(String((notFound as { error: Error }).error)).toMatch(/pubsub nope is not found|pubsub nope not found/)
    const wildcard = await client.pubsub.publish('pubsub', 'g/#', { a: 1 }).catch((e: unknown) => e)
    expect(String((wildcard as { error: Error }).error)).toMatch(/wildcards/)
  })
})

describe('status codes, checked with a raw grpc-js client', () => {
  let raw: Client
  beforeAll(() => {
    raw = new Client(`127.0.0.1:${grpc.port}`, credentials.createInsecure())
  })
  afterAll(() => raw?.close())

  /** Calls a method with these request bytes; resolves with the status error (or null). */
  function call(method: string, request: Buffer, token: string | null = TOKEN): Promise<ServiceError | null> {
    const metadata = new Metadata()
    if (token !== null) metadata.set('dapr-api-token', token)
    return new Promise((resolve) =>
      raw.makeUnaryRequest(`/dapr.proto.runtime.v1.Dapr/${method}`, (b: Buffer) => b, (b: Buffer) => b, request, metadata, (err) => resolve(err)),
    )
  }

  /** PublishEventRequest on the wire: pubsub_name = 1, topic = 2, data = 3. */
  function publishRequest(pubsub: string, topic: string, data = '{}'): Buffer {
    const field = (n: number, value: string) => {
      const bytes = Buffer.from(value)
      return Buffer.concat([Buffer.from([(n << 3) | 2, bytes.length]), bytes])
    }
    return Buffer.concat([field(1, pubsub), field(2, topic), field(3, data)])
  }

  it('an unknown pubsub, an empty topic and a wildcard topic: INVALID_ARGUMENT with daprd\'s message', async () => {
    expect(await call('PublishEvent', publishRequest('nope', 'g/a'))).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/pubsub nope/) })
    expect(await call('PublishEvent', publishRequest('pubsub', ''))).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/topic is empty/) })
    expect(await call('PublishEvent', publishRequest('pubsub', 'g/+'))).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/wildcards/) })
    expect(await call('PublishEvent', publishRequest('pubsub', 'g/ok'))).toBeNull()
  })

  it('a missing or wrong dapr-api-token: UNAUTHENTICATED, before anything is published', async () => {
    expect(await call('PublishEvent', publishRequest('pubsub', 'g/denied'), null)).toMatchObject({ code: status.UNAUTHENTICATED, details: expect.stringMatching(/missing api token/) })
    expect(await call('PublishEvent', publishRequest('pubsub', 'g/denied'), 'wrong')).toMatchObject({ code: status.UNAUTHENTICATED, details: expect.stringMatching(/api token mismatch/) })
    expect(await call('GetState', Buffer.alloc(0), null)).toMatchObject({ code: status.UNAUTHENTICATED })
    // Nothing of the refused ones reached the broker: the next publish's event is the next message on its topic.
    expect(await call('PublishEvent', publishRequest('pubsub', 'g/denied', '{"after":true}'))).toBeNull()
    expect(await event('g/denied')).toMatchObject({ data: '{"after":true}' })
  })

  it('a malformed request message: INTERNAL, as grpc-go answers a message it cannot unmarshal', async () => {
    const err = await call('PublishEvent', Buffer.from([0x0a, 0xff, 0x01]))
    expect(err?.code).toBe(status.INTERNAL)
  })

  it('any other Dapr method: UNIMPLEMENTED naming what mqtt-fn serves', async () => {
    const err = await call('GetState', Buffer.alloc(0))
    expect(err).toMatchObject({ code: status.UNIMPLEMENTED, details: expect.stringMatching(/^GetState: mqtt-fn serves PublishEvent, BulkPublishEventAlpha1, GetMetadata/) })
  })

  it('a bulk publish with a broken broker entry reports it per entry; a bad pubsub is an error', async () => {
    // BulkPublishRequest: pubsub_name = 1, topic = 2 — unknown pubsub.
    const request = Buffer.concat([Buffer.from([0x0a, 4]), Buffer.from('nope'), Buffer.from([0x12, 3]), Buffer.from('g/b')])
    expect(await call('BulkPublishEventAlpha1', request)).toMatchObject({ code: status.INVALID_ARGUMENT })
  })
})
