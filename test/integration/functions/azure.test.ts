// The functions API on Azure Functions v4 with Azure's own HttpRequest / InvocationContext and a
// real broker: withPubsub gives any trigger's handler the pubsub, bounded by the function's
// timeout; the topic handlers answer HTTP deliveries with Dapr's status and queue deliveries
// (sent by the forwarder's real azqueue target into Azurite, handed over decoded as the host does)
// by returning or throwing.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions'
import { QueueServiceClient } from '@azure/storage-queue'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAllPubsubClients } from '../../../src/core/pubsub/index.js'
import { queueTarget } from '../../../src/forwarder/targets/queue.js'
import { functionTimeoutMs } from '../../../src/functions/azure.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { azureHttpTopicHandler, azureQueueTopicHandler, withPubsub, TopicRetryError, type CloudEvent } from '../../../src/exports/functions.js'
import { startAzuriteQueue, type Azurite } from '../../helpers/forwarder.js'
import { recordTopics, type Recorder } from '../../helpers/mqtt-recorder.js'
import { pubsubYaml } from '../../../support/component-yaml.js'

const logs: string[] = []
const context = (extra: Partial<ConstructorParameters<typeof InvocationContext>[0]> = {}) =>
  new InvocationContext({ invocationId: 'inv-1', functionName: 'mine', logHandler: (_level, ...args) => void logs.push(args.map(String).join(' ')), ...extra })

const event = (data: unknown, extra: Record<string, unknown> = {}) => ({
  id: 'e1', source: 'shop', type: 'order', specversion: '1.0', datacontenttype: 'application/json', topic: 'orders/new', pubsubname: 'pubsub', data, ...extra,
})

let broker: EmbeddedBroker
let dir: string
let recorder: Recorder

beforeAll(async () => {
  broker = await startEmbeddedBroker()
  dir = await mkdtemp(join(tmpdir(), 'mqttfn-functions-azure-'))
  await writeFile(join(dir, 'pubsub.yaml'), pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }))
  recorder = await recordTopics(broker.url, 'az/#')
})

afterAll(async () => {
  await recorder?.close()
  await closeAllPubsubClients()
  await broker?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('withPubsub', () => {
  it('an HTTP trigger publishes from its own handler; the event is on the broker when it answers', async () => {
    const handler = withPubsub<HttpRequest, HttpResponseInit>(
      async (request, _context, pubsub) => {
        const order = (await request.json()) as { orderId: number }
        const { error } = await pubsub.publish('pubsub', 'az/orders', order)
        return error ? { status: 500, body: error.message } : { status: 202 }
      },
      { resourcesPath: dir, appId: 'shop', functionTimeout: '00:00:30' },
    )
    const got = recorder.next((m) => m.topic === 'az/orders')
    const request = new HttpRequest({ method: 'POST', url: 'https://shop.azurewebsites.net/api/orders', body: { string: '{"orderId":3}' } })
    expect(await handler(request, context())).toEqual({ status: 202 })
    expect(JSON.parse((await got).payload.toString())).toMatchObject({ data: { orderId: 3 }, source: 'shop', topic: 'az/orders' })
  })

  it('a queue trigger publishes too: the wrapper takes any trigger', async () => {
    const handler = withPubsub<unknown, void>(async (entry, _context, pubsub) => {
      const { error } = await pubsub.publish('pubsub', 'az/relayed', entry as object)
      if (error) throw error
    }, { resourcesPath: dir })
    const got = recorder.next((m) => m.topic === 'az/relayed')
    await handler({ n: 1 }, context())
    expect(JSON.parse((await got).payload.toString())).toMatchObject({ data: { n: 1 } })
  })

  it('every wait is bounded by the function timeout, not by publishTimeout: an { error }, not a host timeout', async () => {
    const slowDir = await mkdtemp(join(tmpdir(), 'mqttfn-functions-azure-slow-'))
    await writeFile(join(slowDir, 'pubsub.yaml'), pubsubYaml({ name: 'slow', url: 'mqtt://10.255.255.1:1883', metadata: { publishTimeout: '120000', connectTimeout: '120000' } }))
    const handler = withPubsub<unknown, { error?: Error }>((_t, _c, pubsub) => pubsub.publish('slow', 'az/late', 'x'), { resourcesPath: slowDir, functionTimeout: 1_000 })
    const result = await handler({}, context())
    expect(result.error).toMatchObject({ errorCode: 'ERR_PUBSUB_PUBLISH_MESSAGE' })
    await rm(slowDir, { recursive: true, force: true })
  })

  it('reads the timeout as the host does: option, app setting, host.json, else 5 minutes; bad values named', async () => {
    expect(functionTimeoutMs({ functionTimeout: '00:10:00' })).toBe(600_000)
    expect(functionTimeoutMs({ functionTimeout: '1.00:00:01.5' })).toBe(86_401_500)
    expect(functionTimeoutMs({ functionTimeout: -1 })).toBeUndefined()
    expect(functionTimeoutMs({ env: { AzureFunctionsJobHost__functionTimeout: '00:02:00' } })).toBe(120_000)
    expect(functionTimeoutMs({ env: {} })).toBe(5 * 60_000)
    expect(() => functionTimeoutMs({ functionTimeout: '5m' })).toThrow(/functionTimeout option is "5m".*hh:mm:ss/)
    expect(() => functionTimeoutMs({ env: { AzureFunctionsJobHost__functionTimeout: '00:00:00' } })).toThrow(/AzureFunctionsJobHost__functionTimeout.*longer than 0/)
    const cwd = process.cwd()
    const app = await mkdtemp(join(tmpdir(), 'mqttfn-functions-azure-host-'))
    await writeFile(join(app, 'host.json'), JSON.stringify({ version: '2.0', functionTimeout: '00:00:45' }))
    try {
      process.chdir(app)
      expect(functionTimeoutMs({ env: {} })).toBe(45_000)
    } finally {
      process.chdir(cwd)
      await rm(app, { recursive: true, force: true })
    }
  })
})

describe('azureHttpTopicHandler', () => {
  it('answers 200 with Dapr\'s status, per entry for a bulk envelope; malformed is DROP', async () => {
    const seen: CloudEvent<{ orderId: number }>[] = []
    const handler = azureHttpTopicHandler<{ orderId: number }>((e) => {
      seen.push(e)
      return e.data.orderId === 2 ? 'RETRY' : undefined
    })
    const post = (body: string) => new HttpRequest({ method: 'POST', url: 'https://shop.azurewebsites.net/orders', headers: { 'content-type': 'application/cloudevents+json' }, body: { string: body } })
    expect(await handler(post(JSON.stringify(event({ orderId: 1 }))), context())).toEqual({ status: 200, jsonBody: { status: 'SUCCESS' } })
    expect(seen[0]?.data.orderId).toBe(1)
    expect(await handler(post(JSON.stringify(event({ orderId: 2 }))), context())).toEqual({ status: 200, jsonBody: { status: 'RETRY' } })
    const bulk = { id: 'b', entries: [{ entryId: 'a', event: event({ orderId: 1 }) }, { entryId: 'b', event: event({ orderId: 2 }) }] }
    expect(await handler(post(JSON.stringify(bulk)), context())).toEqual({ status: 200, jsonBody: { statuses: [{ entryId: 'a', status: 'SUCCESS' }, { entryId: 'b', status: 'RETRY' }] } })
    logs.length = 0
    expect(await handler(post('{oops'), context())).toEqual({ status: 200, jsonBody: { status: 'DROP' } })
    expect(logs.join('\n')).toMatch(/dropping a malformed delivery: the event is not JSON/)
  })
})

describe('azureQueueTopicHandler', () => {
  let azurite: Azurite
  beforeAll(async () => {
    azurite = await startAzuriteQueue()
  })
  afterAll(() => azurite?.stop())

  /** What the forwarder's azqueue target put in the queue, decoded as the Functions host hands it over (base64 off, JSON parsed). */
  async function deliveredThroughQueue(cloudEvent: object): Promise<{ entry: unknown; dequeueCount: number; id: string }> {
    const target = queueTarget('topic-in', azurite.connectionString)
    const reply = await target.send({ body: Buffer.from(JSON.stringify(cloudEvent)), contentType: 'application/cloudevents+json', headers: {}, timeoutMs: 10_000, signal: new AbortController().signal })
    expect(reply.ok).toBe(true)
    const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient('topic-in')
    const { receivedMessageItems: [item] } = await queue.receiveMessages()
    if (!item) throw new Error('the queue is empty')
    await queue.deleteMessage(item.messageId, item.popReceipt)
    const text = Buffer.from(item.messageText, 'base64').toString('utf8')
    let entry: unknown = text
    try {
      entry = JSON.parse(text)
    } catch {
      // the host hands non-JSON text over as a string
    }
    return { entry, dequeueCount: item.dequeueCount, id: item.messageId }
  }

  it('SUCCESS and DROP return (the message is done), RETRY throws so the host retries and poisons', async () => {
    const seen: unknown[] = []
    const handler = azureQueueTopicHandler<{ orderId: number }>((e) => {
      seen.push(e.data)
      return e.data.orderId === 2 ? 'RETRY' : e.data.orderId === 3 ? 'DROP' : undefined
    })
    for (const orderId of [1, 2, 3]) {
      const { entry, dequeueCount, id } = await deliveredThroughQueue(event({ orderId }))
      const run = handler(entry, context({ triggerMetadata: { id, dequeueCount } }))
      if (orderId === 2) await expect(run).rejects.toThrow(TopicRetryError)
      else await expect(run).resolves.toBeUndefined()
    }
    expect(seen).toEqual([{ orderId: 1 }, { orderId: 2 }, { orderId: 3 }])
  })

  it('a rawPayload delivery arrives decoded; a malformed message is DROP (returned and logged), never retried forever', async () => {
    const seen: unknown[] = []
    const handler = azureQueueTopicHandler((e) => void seen.push(e.data))
    const raw = await deliveredThroughQueue(event(undefined, { data: undefined, datacontenttype: 'text/plain', data_base64: Buffer.from('hello').toString('base64') }))
    await handler(raw.entry, context())
    expect(seen).toEqual(['hello'])
    logs.length = 0
    const malformed = await deliveredThroughQueue({ not: 'a cloudevent' })
    await expect(handler(malformed.entry, context({ triggerMetadata: { id: malformed.id } }))).resolves.toBeUndefined()
    expect(seen).toHaveLength(1)
    expect(logs.join('\n')).toMatch(/malformed delivery: the CloudEvent has no string `id`[\s\S]*queue message .* dropped/)
  })
})
