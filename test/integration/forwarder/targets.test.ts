/**
 * Non-HTTP targets through their real SDKs: a Lambda route through @aws-sdk/client-lambda
 * against a local endpoint that implements the Invoke API and runs a handler (no AWS here),
 * and an Azure Storage Queue route against Azurite. Broker: aedes in-process.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { QueueServiceClient } from '@azure/storage-queue'
import { startForwarder, type Forwarder } from '../../../src/forwarder/index.js'
import {
  cloudEvent,
  collect,
  componentYaml,
  brokerSuite,
  publishAll,
  resourceDir,
  startAzuriteQueue,
  waitFor,
  type Azurite,
  type ResourceDir,
} from '../../helpers/forwarder.js'

const suite = brokerSuite('aedes')

async function resources(topic: string, route: string, deadLetterTopic?: string): Promise<ResourceDir> {
  const dir = await resourceDir()
  suite.defer(() => dir.remove())
  await dir.write('pubsub.yaml', componentYaml({ url: suite.url, consumerID: `fwd-${topic.replace(/\W/g, '')}` }))
  await dir.write(
    'subscription.yaml',
    `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: s
spec:
  pubsubname: mqtt
  topic: ${topic}
${deadLetterTopic ? `  deadLetterTopic: ${deadLetterTopic}\n` : ''}  routes:
    default: ${route}
`,
  )
  return dir
}

const fastRetry = { policy: 'exponential' as const, initialIntervalMs: 20, maxIntervalMs: 100, maxRetries: 5, multiplier: 2, randomizationFactor: 0.5 }

/**
 * The Lambda Invoke API (POST /2015-03-31/functions/{name}/invocations), running `handler`
 * the way the Lambda runtime does: a thrown error becomes 200 with X-Amz-Function-Error.
 */
async function startLambdaEndpoint(functions: Record<string, (event: unknown) => Promise<unknown>>) {
  const invocations: { name: string; payload: Buffer; auth: string | undefined }[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '')
      const name = decodeURIComponent(match?.[1] ?? '')
      const fn = functions[name]
      if (req.method !== 'POST' || !fn) {
        res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' })
        res.end(JSON.stringify({ Type: 'User', message: `Function not found: ${name}` }))
        return
      }
      const payload = Buffer.concat(chunks)
      invocations.push({ name, payload, auth: req.headers.authorization })
      fn(JSON.parse(payload.toString('utf8'))).then(
        (result) => {
          res.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' })
          res.end(JSON.stringify(result ?? null))
        },
        (error: Error) => {
          res.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST', 'x-amz-function-error': 'Unhandled' })
          res.end(JSON.stringify({ errorType: error.name, errorMessage: error.message }))
        },
      )
    })
  })
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    invocations,
    close: () => new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections() }),
  }
}

describe('lambda: target', () => {
  const saved = { ...process.env }
  afterAll(() => {
    process.env = saved
  })

  it('invokes the function with the CloudEvent, retries a FunctionError, dead-letters a DROP', async () => {
    const handled: Record<string, unknown>[] = []
    const failedOnce = new Set<string>()
    const lambda = await startLambdaEndpoint({
      'orders-fn': async (event) => {
        const e = event as { id: string; data: { kind?: string } }
        if (e.data.kind === 'flaky' && !failedOnce.has(e.id)) {
          failedOnce.add(e.id)
          throw new Error('cold database')
        }
        handled.push(e)
        return e.data.kind === 'reject' ? { status: 'DROP' } : { status: 'SUCCESS' }
      },
    })
    suite.defer(() => lambda.close())
    // The SDK's own endpoint override and credential chain; nothing reaches AWS.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_LAMBDA: lambda.url,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret-for-tests',
    })
    const dir = await resources('lambda/#', 'lambda:orders-fn', 'lambda-dead')
    const dead = await collect(suite.url, 'lambda-dead')
    suite.defer(() => dead.close())
    const forwarder: Forwarder = await startForwarder({ resourcesPath: dir.dir, port: false, logLevel: 'silent', retryPolicy: fastRetry })
    suite.defer(() => forwarder.stop())
    await forwarder.ready

    const ok = cloudEvent('l-ok', { kind: 'plain' }, 'lambda/a')
    await publishAll(suite.publisher, [
      { topic: 'lambda/a', payload: ok },
      { topic: 'lambda/a', payload: cloudEvent('l-flaky', { kind: 'flaky' }, 'lambda/a') },
      { topic: 'lambda/a', payload: cloudEvent('l-reject', { kind: 'reject' }, 'lambda/a') },
    ])
    await waitFor(() => handled.length >= 3 && dead.messages.length >= 1, 10_000, 'three handled, one dead letter')
    expect(handled.map((e) => e.id).sort()).toEqual(['l-flaky', 'l-ok', 'l-reject'])
    expect(lambda.invocations.find((i) => JSON.parse(i.payload.toString()).id === 'l-ok')?.payload.equals(ok)).toBe(true)
    expect(lambda.invocations.every((i) => i.auth?.startsWith('AWS4-HMAC-SHA256'))).toBe(true)
    expect(lambda.invocations.filter((i) => JSON.parse(i.payload.toString()).id === 'l-flaky')).toHaveLength(2)
    expect(JSON.parse(dead.messages[0]!.payload.toString()).id).toBe('l-reject')
    await waitFor(async () => (await forwarder.metrics.total('delivered')) === 2, 5000, 'two delivered')
    expect(await forwarder.metrics.total('retried')).toBe(1)
  })
})

describe('azqueue: target', () => {
  let azurite: Azurite
  beforeAll(async () => {
    azurite = await startAzuriteQueue()
    suite.defer(() => azurite.stop())
  }, 30_000)

  it('enqueues each CloudEvent base64-encoded, as the Functions queue trigger expects', async () => {
    const dir = await resources('queue/#', 'azqueue:orders-in')
    const forwarder = await startForwarder({
      resourcesPath: dir.dir,
      port: false,
      logLevel: 'silent',
      retryPolicy: fastRetry,
      env: { AZURE_STORAGE_CONNECTION_STRING: azurite.connectionString },
    })
    suite.defer(() => forwarder.stop())
    await forwarder.ready
    const payloads = Array.from({ length: 5 }, (_, i) => cloudEvent(`q-${i}`, { i }, 'queue/x'))
    await publishAll(suite.publisher, payloads.map((payload) => ({ topic: 'queue/x', payload })))
    await waitFor(async () => (await forwarder.metrics.total('delivered')) === 5, 15_000, 'five enqueued')

    const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient('orders-in')
    const received = await queue.receiveMessages({ numberOfMessages: 32 })
    const bodies = received.receivedMessageItems.map((m) => Buffer.from(m.messageText, 'base64'))
    expect(bodies).toHaveLength(5)
    for (const p of payloads) expect(bodies.some((b) => b.equals(p))).toBe(true)
  })
})
