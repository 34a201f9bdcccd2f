// Issue 15, publish half: the real @dapr/dapr DaprClient in gRPC mode (ConnectRPC's gRPC
// transport) against mqtt-fn's gRPC server, as against daprd's port 50001: GetMetadata first,
// then PublishEvent and BulkPublishEventAlpha1 put on the broker the same CloudEvent the HTTP
// publish API does. Bad input gets daprd's status codes, checked with a raw grpc-js client.
import { fromBinary } from '@bufbuild/protobuf'
import { anyUnpack } from '@bufbuild/protobuf/wkt'
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr'
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAllPubsubClients } from '../../../src/core/pubsub/index.js'
import { ErrorInfoSchema, ResourceInfoSchema, StatusSchema } from '../../../src/grpc/gen/google/rpc/status_subset_pb.js'
import { startGrpcServer, type GrpcServer } from '../../../src/grpc/index.js'
import { createPublishApi } from '../../../src/http/index.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { getFreePort } from '../../../support/ports.js'
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
  const deadPort = await getFreePort()
  const resources = await loadPubsubs(
    [
      { name: 'pubsub', url: broker.url, metadata: { qos: '1' } },
      // Nothing listens there: every publish fails (within the component's publishTimeout).
      { name: 'down', url: `mqtt://127.0.0.1:${deadPort}`, metadata: { connectTimeout: '500', publishTimeout: '1000' } },
    ],
    'grpc-app',
  )
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
  function withToken(token: string | null = TOKEN): Metadata {
    const metadata = new Metadata()
    if (token !== null) metadata.set('dapr-api-token', token)
    return metadata
  }

  function call(method: string, request: Buffer, token: string | null = TOKEN): Promise<ServiceError | null> {
    return new Promise((resolve) =>
      raw.makeUnaryRequest(`/dapr.proto.runtime.v1.Dapr/${method}`, (b: Buffer) => b, (b: Buffer) => b, request, withToken(token), (err) => resolve(err)),
    )
  }

  /** A length-delimited protobuf field (short values only). */
  const field = (n: number, value: string | Buffer) => {
    const bytes = Buffer.from(value)
    return Buffer.concat([Buffer.from([(n << 3) | 2, bytes.length]), bytes])
  }

  /** PublishEventRequest on the wire: pubsub_name = 1, topic = 2, data = 3, data_content_type = 4. */
  function publishRequest(pubsub: string, topic: string, data = '{}', contentType?: string): Buffer {
    return Buffer.concat([field(1, pubsub), field(2, topic), field(3, data), ...(contentType === undefined ? [] : [field(4, contentType)])])
  }

  /** BulkPublishRequest: pubsub_name = 1, topic = 2, entries = 3 (entry_id = 1, event = 2, content_type = 3, metadata = 4). */
  function bulkRequest(pubsub: string, topic: string, entries: { id: string; event: string; metadata?: Record<string, string> }[]): Buffer {
    const entry = (e: (typeof entries)[number]) =>
      Buffer.concat([
        field(1, e.id),
        field(2, e.event),
        field(3, 'text/plain'),
        ...Object.entries(e.metadata ?? {}).map(([k, v]) => field(4, Buffer.concat([field(1, k), field(2, v)]))),
      ])
    return Buffer.concat([field(1, pubsub), field(2, topic), ...entries.map((e) => field(3, entry(e)))])
  }

  /** daprd's rich error details: the google.rpc.Status in `grpc-status-details-bin`, unpacked. */
  function statusDetails(err: ServiceError | null) {
    const bin = err?.metadata.get('grpc-status-details-bin')[0]
    if (!Buffer.isBuffer(bin)) return undefined
    const s = fromBinary(StatusSchema, bin)
    return {
      code: s.code,
      message: s.message,
      details: s.details.map((any) => {
        const info = anyUnpack(any, ErrorInfoSchema)
        if (info) return { errorInfo: { reason: info.reason, domain: info.domain, metadata: info.metadata } }
        const resource = anyUnpack(any, ResourceInfoSchema)
        if (resource) return { resourceInfo: { resourceType: resource.resourceType, resourceName: resource.resourceName, description: resource.description } }
        return { unknown: any.typeUrl }
      }),
    }
  }

  it('an unknown pubsub, an empty topic and a wildcard topic: INVALID_ARGUMENT with daprd\'s message', async () => {
    const notFound = await call('PublishEvent', publishRequest('nope', 'g/a'))
    expect(notFound).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'pubsub nope is not found' })
    // daprd: WithMetadata(nil).NotFound(), no ResourceInfo.
    expect(statusDetails(notFound)).toEqual({
      code: status.INVALID_ARGUMENT,
      message: 'pubsub nope is not found',
      details: [{ errorInfo: { reason: 'DAPR_PUBSUB_NOT_FOUND', domain: 'dapr.io', metadata: {} } }],
    })
    expect(notFound?.metadata.get('dapr-error-code')).toEqual(['ERR_PUBSUB_NOT_FOUND'])
    const empty = await call('PublishEvent', publishRequest('pubsub', ''))
    expect(empty).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'topic is empty in pubsub pubsub' })
    expect(statusDetails(empty)?.details).toEqual([
      { resourceInfo: { resourceType: 'pubsub', resourceName: 'pubsub', description: 'topic is empty in pubsub pubsub' } },
      { errorInfo: { reason: 'DAPR_PUBSUB_TOPIC_NAME_EMPTY', domain: 'dapr.io', metadata: {} } },
    ])
    expect(await call('PublishEvent', publishRequest('pubsub', 'g/+'))).toMatchObject({ code: status.INVALID_ARGUMENT, details: expect.stringMatching(/wildcards/) })
    expect(await call('PublishEvent', publishRequest('pubsub', 'g/ok'))).toBeNull()
  })

  it('a missing or wrong dapr-api-token: UNAUTHENTICATED as daprd\'s interceptor answers, before anything is published', async () => {
    // daprd: invokev1.ErrorFromHTTPResponseCode(401, detail): message "Unauthorized", the detail in an ErrorInfo.
    const unauthorized = (detail: string) => ({
      code: status.UNAUTHENTICATED,
      message: 'Unauthorized',
      details: [{ errorInfo: { reason: 'Unauthorized', domain: 'dapr.io', metadata: { 'http.code': '401', 'http.error_message': detail } } }],
    })
    const missing = await call('PublishEvent', publishRequest('pubsub', 'g/denied'), null)
    expect(missing).toMatchObject({ code: status.UNAUTHENTICATED, details: 'Unauthorized' })
    expect(statusDetails(missing)).toEqual(unauthorized('missing api token in request metadata'))
    const wrong = await call('PublishEvent', publishRequest('pubsub', 'g/denied'), 'wrong')
    expect(wrong).toMatchObject({ code: status.UNAUTHENTICATED, details: 'Unauthorized' })
    expect(statusDetails(wrong)).toEqual(unauthorized('authentication error: api token mismatch'))
    expect(await call('GetState', Buffer.alloc(0), null)).toMatchObject({ code: status.UNAUTHENTICATED })
    expect(await call('BulkPublishEvent', bulkRequest('pubsub', 'g/denied', [{ id: '1', event: 'x' }]), 'wrong')).toMatchObject({ code: status.UNAUTHENTICATED })
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
    // A method of today's daprd that the SDK 3.18 does not know yet, and a streaming one.
    expect(await call('ScheduleJob', Buffer.alloc(0))).toMatchObject({ code: status.UNIMPLEMENTED, details: expect.stringMatching(/^ScheduleJob: mqtt-fn serves PublishEvent/) })
    const stream = raw.makeBidiStreamRequest('/dapr.proto.runtime.v1.Dapr/SubscribeTopicEventsAlpha1', (b: Buffer) => b, (b: Buffer) => b, withToken())
    const streamErr = await new Promise<ServiceError>((resolve) => stream.on('error', resolve).on('data', () => {}))
    expect(streamErr).toMatchObject({ code: status.UNIMPLEMENTED, details: expect.stringMatching(/^SubscribeTopicEventsAlpha1: mqtt-fn serves/) })
  })

  it('a cloudevents+json body that is not a JSON object: INVALID_ARGUMENT, daprd\'s code for CloudEventCreation (HTTP 500)', async () => {
    const err = await call('PublishEvent', publishRequest('pubsub', 'g/ce', 'not json', 'application/cloudevents+json'))
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'cannot create cloudevent' })
    expect(err?.metadata.get('dapr-error-code')).toEqual(['ERR_PUBSUB_CLOUD_EVENTS_SER'])
    expect(statusDetails(err)?.details.at(-1)).toMatchObject({ errorInfo: { reason: 'DAPR_PUBSUB_CLOUD_EVENT_CREATION', domain: 'dapr.io' } })
  })

  it('BulkPublishEvent, the stable name, publishes like BulkPublishEventAlpha1', async () => {
    expect(await call('BulkPublishEvent', bulkRequest('pubsub', 'g/stable', [{ id: 'a', event: 'one' }]))).toBeNull()
    expect(await event('g/stable')).toMatchObject({ data: 'one', datacontenttype: 'text/plain', topic: 'g/stable', pubsubname: 'pubsub' })
  })

  it('a bulk publish where an entry fails: INTERNAL PublishMessage with that entry\'s error, as daprd (no response message)', async () => {
    for (const method of ['BulkPublishEventAlpha1', 'BulkPublishEvent']) {
      const err = await call(method, bulkRequest('pubsub', 'g/partial', [{ id: 'ok', event: 'fine' }, { id: 'bad', event: 'x', metadata: { retain: 'maybe' } }]))
      expect(err).toMatchObject({ code: status.INTERNAL, details: expect.stringMatching(/^error when publishing to topic g\/partial in pubsub pubsub: .*retain/) })
      expect(err?.metadata.get('dapr-error-code')).toEqual(['ERR_PUBSUB_PUBLISH_MESSAGE'])
      const d = statusDetails(err)
      expect(d?.details).toEqual([
        { resourceInfo: { resourceType: 'pubsub', resourceName: 'pubsub', description: err!.details } },
        { errorInfo: { reason: 'DAPR_PUBSUB_PUBLISH_MESSAGE', domain: 'dapr.io', metadata: { topic: 'g/partial', error: expect.stringMatching(/retain/) } } },
      ])
      // The good entry was published (daprd publishes each entry on its own).
      expect(await event('g/partial')).toMatchObject({ data: 'fine' })
    }
  })

  it('the SDK\'s publishBulk when the publish fails: every message reported failed with daprd\'s message', async () => {
    const result = await client.pubsub.publishBulk('down', 'g/sdk-failed', [
      { entryID: 'e1', event: 'one', contentType: 'text/plain' },
      { entryID: 'e2', event: 'two', contentType: 'text/plain' },
    ])
    expect(result.failedMessages.map((f) => f.message.entryID).sort()).toEqual(['e1', 'e2'])
    expect(String(result.failedMessages[0]!.error)).toMatch(/error when publishing to topic g\/sdk-failed in pubsub down: failed to publish: /)
  })

  it('a bulk publish to an unknown pubsub: INVALID_ARGUMENT, nothing published', async () => {
    // BulkPublishRequest: pubsub_name = 1, topic = 2 — unknown pubsub.
    const request = Buffer.concat([Buffer.from([0x0a, 4]), Buffer.from('nope'), Buffer.from([0x12, 3]), Buffer.from('g/b')])
    expect(await call('BulkPublishEventAlpha1', request)).toMatchObject({ code: status.INVALID_ARGUMENT })
  })
})
