/**
 * The gRPC app target's outcome rules, against a grpc-js AppCallback server of the test's own
 * (aedes broker): a status enum is Dapr's status; UNIMPLEMENTED (no such handler) drops, as
 * daprd does; any other gRPC error, an unknown status and an app that is down are retried, then
 * dead-lettered. The request carries what daprd sends: the concrete topic, the route as `path`,
 * data as bytes, the other attributes as extensions, the trace context as metadata.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { Server, ServerCredentials, status, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startForwarder } from '../../../src/forwarder/index.js'
import { TopicEventRequestSchema, TopicEventResponseSchema, type TopicEventRequest } from '../../../src/grpc/gen/appcallback_pb.js'
import { brokerSuite, cloudEvent, collect, componentYaml, publishAll, resourceDir, waitFor } from '../../helpers/forwarder.js'

const suite = brokerSuite('aedes')
const received: { request: TopicEventRequest; traceparent: string | undefined }[] = []
let behaviour: (r: TopicEventRequest) => { status?: number; error?: number } = () => ({})
let port = 0

beforeAll(async () => {
  const server = new Server()
  const bytes = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b }
  server.addService(
    {
      OnTopicEvent: {
        path: '/dapr.proto.runtime.v1.AppCallback/OnTopicEvent', requestStream: false, responseStream: false,
        requestSerialize: bytes.serialize, requestDeserialize: (b: Buffer) => fromBinary(TopicEventRequestSchema, b),
        responseSerialize: (m: unknown) => Buffer.from(toBinary(TopicEventResponseSchema, m as never)), responseDeserialize: bytes.deserialize,
      },
    },
    {
      OnTopicEvent: (call: ServerUnaryCall<TopicEventRequest, unknown>, callback: sendUnaryData<unknown>) => {
        const traceparent = call.metadata.get('traceparent')[0]
        received.push({ request: call.request, traceparent: typeof traceparent === 'string' ? traceparent : undefined })
        const b = behaviour(call.request)
        if (b.error !== undefined) callback({ code: b.error, details: 'app says no' })
        else callback(null, create(TopicEventResponseSchema, { status: b.status ?? 0 }))
      },
    },
  )
  port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))))
  suite.defer(() => new Promise<void>((resolve) => server.tryShutdown(() => resolve())))
})

const fastRetry = { policy: 'constant' as const, initialIntervalMs: 20, maxIntervalMs: 20, maxRetries: 2, multiplier: 1, randomizationFactor: 0 }

async function forwarder(appUrl: string, topic: string) {
  const dir = await resourceDir()
  suite.defer(() => dir.remove())
  await dir.write('pubsub.yaml', componentYaml({ url: suite.url, consumerID: `grpc-target-${topic.replace(/\W/g, '')}` }))
  await dir.write('sub.yaml', `apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: s\nspec:\n  pubsubname: mqtt\n  topic: "${topic}"\n  deadLetterTopic: ${topic.split('/')[0]}-dead\n  routes:\n    default: /orders-handler\n`)
  const fwd = await startForwarder({ resourcesPath: dir.dir, appUrl, appProtocol: 'grpc', port: false, logLevel: 'silent', retryPolicy: fastRetry })
  suite.defer(() => fwd.stop())
  await fwd.ready
  return fwd
}

const of = (id: string) => received.filter((r) => r.request.id === id)

describe('gRPC app target', () => {
  it('sends what daprd sends, and reads SUCCESS, DROP and RETRY as Dapr\'s statuses', async () => {
    behaviour = (r) => ({ status: r.id === 'drop' ? 2 : r.id === 'retry' && of('retry').length < 2 ? 1 : 0 })
    const fwd = await forwarder(`grpc://127.0.0.1:${port}`, 'ga/#')
    const dead = await collect(suite.url, 'ga-dead')
    suite.defer(() => dead.close())
    await publishAll(suite.publisher, [
      { topic: 'ga/x/1', payload: cloudEvent('ok', { n: 1 }, 'ga/x/1', { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', custom: 'yes' }) },
      { topic: 'ga/x/2', payload: cloudEvent('drop', { n: 2 }, 'ga/x/2') },
      { topic: 'ga/x/3', payload: cloudEvent('retry', { n: 3 }, 'ga/x/3') },
    ])
    await waitFor(async () => (await fwd.metrics.total('delivered')) === 2 && dead.messages.length === 1, 10_000, 'two delivered, one dead letter')
    const [ok] = of('ok')
    expect(ok?.request).toMatchObject({ topic: 'ga/x/1', pubsubName: 'mqtt', path: '/orders-handler', specVersion: '1.0', dataContentType: 'application/json', source: 'test', type: 'com.dapr.event.sent' })
    expect(JSON.parse(Buffer.from(ok!.request.data).toString())).toEqual({ n: 1 })
    expect(ok?.request.extensions).toMatchObject({ custom: 'yes', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })
    expect(ok?.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')
    expect(of('retry')).toHaveLength(2)
    expect(JSON.parse(dead.messages[0]!.payload.toString()).id).toBe('drop')
  })

  it('UNIMPLEMENTED drops (daprd: no handler); another error or an unknown status is retried, then dead-lettered', async () => {
    behaviour = (r) => (r.id === 'unimpl' ? { error: status.UNIMPLEMENTED } : r.id === 'internal' ? { error: status.INTERNAL } : r.id === 'weird' ? { status: 7 } : {})
    const fwd = await forwarder(`127.0.0.1:${port}`, 'gb/#')
    const dead = await collect(suite.url, 'gb-dead')
    suite.defer(() => dead.close())
    await publishAll(suite.publisher, ['unimpl', 'internal', 'weird'].map((id) => ({ topic: `gb/${id}`, payload: cloudEvent(id, {}, `gb/${id}`) })))
    await waitFor(() => dead.messages.length === 3, 10_000, 'three dead letters')
    expect(of('unimpl')).toHaveLength(1)
    expect(of('internal')).toHaveLength(3)
    expect(of('weird')).toHaveLength(3)
    expect(await fwd.metrics.total('dropped', { reason: 'not_found' })).toBe(1)
  })

  it('an app that went down: retried, then dead-lettered, never acked as delivered', async () => {
    // Up at start (its subscriptions are read), gone when the message comes.
    const gone = new Server()
    const gonePort = await new Promise<number>((resolve, reject) => gone.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))))
    const fwd = await forwarder(`grpc://127.0.0.1:${gonePort}`, 'gc/#')
    gone.forceShutdown()
    const dead = await collect(suite.url, 'gc-dead')
    suite.defer(() => dead.close())
    await publishAll(suite.publisher, [{ topic: 'gc/a', payload: cloudEvent('down', {}, 'gc/a') }])
    await waitFor(() => dead.messages.length === 1, 20_000, 'the dead letter')
    expect(await fwd.metrics.total('delivered')).toBe(0)
    expect(await fwd.metrics.total('retried')).toBe(2)
  })
})
