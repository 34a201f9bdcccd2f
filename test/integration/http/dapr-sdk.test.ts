// The official Dapr JavaScript SDK (@dapr/dapr 3, HTTP protocol) pointed at the publish API as if
// it were a sidecar: nothing in the SDK is configured or patched. Its first call waits for the
// "sidecar" by polling GET /v1.0/metadata until a 2xx with a non-empty body (HTTPClient.start);
// there is no option to skip that wait, so the metadata route must answer.
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAllPubsubClients } from '../../../src/core/pubsub/index.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { createPublishApi } from '../../../src/http/index.js'
import { startHttpServer, type HttpServer } from '../../../src/http/node-server.js'
import { loadPubsubs } from '../../helpers/http.js'
import { recordTopics, type Recorder } from '../../helpers/mqtt-recorder.js'

const TOKEN = 'sdk-token-123'
// The SDK logs every non-2xx at error level; two tests provoke them on purpose.
const quiet = () => {}
const silent = { level: LogLevel.Error, service: { error: quiet, warn: quiet, info: quiet, verbose: quiet, debug: quiet } }

describe('@dapr/dapr DaprClient (HTTP) against the publish API', () => {
  let broker: EmbeddedBroker
  let server: HttpServer
  let recorder: Recorder
  let client: DaprClient

  beforeAll(async () => {
    broker = await startEmbeddedBroker()
    const resources = await loadPubsubs([{ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }], 'sdk-app')
    server = await startHttpServer(createPublishApi({ resources, appId: 'sdk-app', apiToken: TOKEN }))
    recorder = await recordTopics(broker.url, ['orders/#', 'sdk/#'])
    client = new DaprClient({
      daprHost: '127.0.0.1',
      daprPort: String(server.port),
      communicationProtocol: CommunicationProtocolEnum.HTTP,
      daprApiToken: TOKEN,
      logger: silent,
    })
  })

  afterAll(async () => {
    await client?.stop()
    await recorder?.close()
    await server?.close()
    await closeAllPubsubClients()
    await broker?.close()
  })

  it('pubsub.publish of an object reaches an MQTT subscriber as the CloudEvent daprd would send', async () => {
    const result = await client.pubsub.publish('pubsub', 'orders/new', { a: 1 })
    expect(result).toEqual({})
    const msg = await recorder.next((m) => m.topic === 'orders/new')
    expect(msg.qos).toBe(1)
    const text = msg.payload.toString()
    expect(text).toMatch(
      /^\{"data":\{"a":1\},"datacontenttype":"application\/json","id":"[0-9a-f-]{36}","pubsubname":"pubsub","source":"sdk-app","specversion":"1\.0","time":"[^"]+","topic":"orders\/new","traceid":"","traceparent":"","tracestate":"","type":"com\.dapr\.event\.sent"\}$/,
    )
  })

  it('publish with metadata: rawPayload sends the JSON body unwrapped', async () => {
    const result = await client.pubsub.publish('pubsub', 'sdk/raw', { b: [1, 2] }, { metadata: { rawPayload: 'true' } })
    expect(result).toEqual({})
    const msg = await recorder.next((m) => m.topic === 'sdk/raw')
    expect(JSON.parse(msg.payload.toString())).toEqual({ b: [1, 2] })
  })

  it('publish of a string goes as text/plain', async () => {
    expect(await client.pubsub.publish('pubsub', 'sdk/text', 'hello')).toEqual({})
    const event = JSON.parse((await recorder.next((m) => m.topic === 'sdk/text')).payload.toString())
    expect(event).toMatchObject({ data: 'hello', datacontenttype: 'text/plain' })
  })

  it('publishBulk (entries spelled entryID, as the SDK does) delivers every message', async () => {
    const result = await client.pubsub.publishBulk('pubsub', 'sdk/bulk', ['one', { two: 2 }])
    expect(result).toEqual({ failedMessages: [] })
    const events = (await recorder.take(2, (m) => m.topic === 'sdk/bulk')).map((m) => JSON.parse(m.payload.toString()))
    expect(events.map((e) => e.data)).toEqual(expect.arrayContaining(['one', { two: 2 }]))
  })

  it('an unknown pubsub comes back as the SDK’s {error} with daprd’s 404 body', async () => {
    const result = await client.pubsub.publish('nope', 'orders/x', { a: 1 })
    expect(result.error).toBeInstanceOf(Error)
    const detail = JSON.parse((result.error as Error).message)
    expect(detail.status).toBe(404)
    expect(JSON.parse(detail.error_msg)).toMatchObject({ errorCode: 'ERR_PUBSUB_NOT_FOUND', message: 'pubsub nope is not found' })
  })

  it('metadata.get returns the daprd-shaped metadata', async () => {
    const metadata = await client.metadata.get()
    expect(metadata).toMatchObject({
      id: 'sdk-app',
      components: [{ name: 'pubsub', type: 'pubsub.mqtt', version: 'v1', capabilities: ['SUBSCRIBE_WILDCARDS'] }],
    })
  })

  it('a client without the API token is refused (401 as {error})', async () => {
    const anonymous = new DaprClient({
      daprHost: '127.0.0.1',
      daprPort: String(server.port),
      communicationProtocol: CommunicationProtocolEnum.HTTP,
      logger: silent,
    })
    // The SDK would first wait ~60 s for /v1.0/metadata, which needs the token: mark it started.
    ;(anonymous as unknown as { daprClient: { setIsInitialized(v: boolean): void } }).daprClient.setIsInitialized(true)
    const result = await anonymous.pubsub.publish('pubsub', 'orders/denied', { a: 1 })
    const detail = JSON.parse((result.error as Error).message)
    expect(detail).toMatchObject({ status: 401, error_msg: 'invalid api token\n' })
  })
})
