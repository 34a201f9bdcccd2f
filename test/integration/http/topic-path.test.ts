// Issue 17, items 4 and 5: what the URL path says is the topic, and nothing a broker refuses
// ever reaches it. A real Mosquitto (its own port and config), the real HTTP server, the real
// AWS and Azure handlers built from src/, and a plain MQTT.js subscriber on `#`.
import http from 'node:http'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions'
import type { APIGatewayProxyResult } from 'aws-lambda'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TopicError } from '../../../src/core/errors.js'
import { closeAllPubsubClients, getPubsubClient } from '../../../src/core/pubsub/index.js'
import type { LoadedResources } from '../../../src/core/resources/types.js'
import { createPublishApi } from '../../../src/http/index.js'
import { MAX_REQUEST_HEAD_BYTES, startHttpServer, type HttpServer } from '../../../src/http/node-server.js'
import { createHttpPublishHandler } from '../../../src/platforms/aws/index.js'
import { createAzureHttpPublishHandler } from '../../../src/platforms/azure/index.js'
import { createFunctionRuntime, settingsFromEnv } from '../../../src/function-runtime/index.js'
import { httpEventV1, httpEventV2, lambdaContext } from '../../../support/aws-events.js'
import { loadPubsubs } from '../../helpers/http.js'
import { pubsubYaml } from '../../../support/component-yaml.js'
import { startMosquitto, type MosquittoBroker } from '../../../support/mosquitto.js'
import { recordTopics, type Recorder } from '../../helpers/mqtt-recorder.js'

interface Answer {
  status: number
  body: string
}

/** A request with the path exactly as given (node:http sends `path` without normalizing it). */
function rawRequest(server: HttpServer, path: string, body = 'x'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: server.host, port: server.port, method: 'POST', path, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

const percentEncodeAll = (s: string): string =>
  [...Buffer.from(s, 'utf8')].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join('')

describe('publish topics against a real Mosquitto (issue 17)', () => {
  let broker: MosquittoBroker
  let resources: LoadedResources
  let server: HttpServer
  let recorder: Recorder
  let dir: string
  let sequence = 0
  const unique = (prefix: string): string => `${prefix}${process.pid}-${++sequence}`

  beforeAll(async () => {
    broker = await startMosquitto()
    resources = await loadPubsubs([{ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }], 'checkout')
    server = await startHttpServer(createPublishApi({ resources, appId: 'checkout', logger: { warn: () => {} } }))
    recorder = await recordTopics(broker.url, '#')
    dir = await mkdtemp(join(tmpdir(), 'mqttfn-topic-path-'))
    await writeFile(join(dir, 'pubsub.yaml'), pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }))
  })

  afterAll(async () => {
    await recorder?.close()
    await server?.close()
    await closeAllPubsubClients()
    await broker?.stop()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  describe('item 4: a topic the broker refuses is a 400 before publishing, and the shared connection stays up', () => {
    const bad: Array<[string, string, RegExp]> = [
      ['line feed', 'a%0Ab', /must not contain the control character U\+000A/],
      ['U+0001', 'a%01b', /control character U\+0001/],
      ['CR LF header injection', '%0D%0AX-Injected:%201', /control character U\+000D/],
      ['NUL', 'a%00b', /must not contain U\+0000 \(NUL\)/],
      ['DEL', 'a%7Fb', /control character U\+007F/],
      ['C1 control U+0085', 'a%C2%85b', /control character U\+0085/],
      ['noncharacter U+FFFE', 'a%EF%BF%BEb', /noncharacter U\+FFFE/],
      ['noncharacter U+1FFFE', 'a%F0%9F%BF%BEb', /noncharacter U\+1FFFE/],
      ['an encoded surrogate (not UTF-8)', 'a%ED%A0%80b', /not valid UTF-8/],
      ['more than 200 "/"', 'a/'.repeat(201) + 'z', /has 201 "\/" separators/],
    ]

    it.each(bad)('%s: 400 ERR_MALFORMED_REQUEST while a concurrent good publish succeeds', async (_name, rawTopic, problem) => {
      const good = unique('good/')
      const [badAnswer, goodAnswer] = await Promise.all([
        rawRequest(server, `/v1.0/publish/pubsub/${rawTopic}`),
        rawRequest(server, `/v1.0/publish/pubsub/${good}`),
      ])
      expect(badAnswer.status).toBe(400)
      const error = JSON.parse(badAnswer.body) as { errorCode: string; message: string }
      expect(error.errorCode).toBe('ERR_MALFORMED_REQUEST')
      expect(error.message).toMatch(problem)
      expect(goodAnswer.status).toBe(204)
      await recorder.next((m) => m.topic === good)
    })

    it('bulk publish to such a topic is refused the same way', async () => {
      const res = await rawRequest(server, '/v1.0-alpha1/publish/bulk/pubsub/a%0Ab', '[{"entryId":"1","event":"x","contentType":"text/plain"}]')
      expect(res.status).toBe(400)
      expect(JSON.parse(res.body)).toMatchObject({ errorCode: 'ERR_MALFORMED_REQUEST' })
    })

    it('a library publish gets a TopicError before anything is sent', async () => {
      const client = getPubsubClient(resources.pubsubs[0]!)
      await expect(client.publish('a\nb', 'x')).rejects.toBeInstanceOf(TopicError)
      await expect(client.publish('a\u0085b', 'x')).rejects.toThrow(/control character U\+0085/)
      const after = unique('after/')
      await client.publish(after, 'x')
      await recorder.next((m) => m.topic === after)
    })

    it('the broker never had a reason to drop the connection', () => {
      // Mosquitto logs "disconnected due to malformed packet" / "protocol error" when it drops one.
      expect(broker.logs()).not.toMatch(/malformed packet|protocol error/)
    })
  })

  describe('item 5: the topic is the path, exactly (Go url.PathUnescape, empty levels kept)', () => {
    const kept: Array<[string, string]> = [
      ['a//b', 'a//b'],
      ['//lead', '//lead'],
      ['trail/', 'trail/'],
      ['a%20b', 'a b'],
      ['a%2F%2Fb', 'a//b'],
    ]

    it.each(kept)('mqtt-fn serve: %s is published to %j', async (suffix, expected) => {
      const id = unique('serve-')
      const res = await rawRequest(server, `/v1.0/publish/pubsub/${id}${suffix}`)
      expect(res.status).toBe(204)
      await recorder.next((m) => m.topic === `${id}${expected}`)
    })

    it('mqtt-fn serve: a leading / right after the pubsub segment and a lone "/" topic are kept', async () => {
      const id = unique('lead-')
      expect((await rawRequest(server, `/v1.0/publish/pubsub//${id}`)).status).toBe(204)
      await recorder.next((m) => m.topic === `/${id}`)
    })

    it('mqtt-fn serve: + stays + and is the wildcard 400, encoded or not', async () => {
      for (const path of ['/v1.0/publish/pubsub/a+b', '/v1.0/publish/pubsub/a%2Bb']) {
        const res = await rawRequest(server, path)
        expect(res.status).toBe(400)
        expect(JSON.parse(res.body)).toEqual({
          errorCode: 'ERR_MALFORMED_REQUEST',
          message: 'topic "a+b": wildcards (+, #) are not allowed in a publish topic',
        })
      }
    })

    it('AWS: Function URL (encoded rawPath), HTTP API (decoded rawPath) and REST API (path) keep the topic', async () => {
      const runtime = createFunctionRuntime({
        settings: settingsFromEnv({ MQTTFN_RESOURCES_PATH: dir, APP_ID: 'checkout', MQTTFN_PUBSUB: 'pubsub' }, { bundleDir: '/nonexistent' }),
        logger: { error: () => {}, warn: () => {} },
      })
      const handler = createHttpPublishHandler(runtime)
      const cases = ['a//b', '/lead', 'trail/', 'x//y/']
      for (const suffix of cases) {
        const functionUrl = unique('fnurl-') + suffix
        const v2 = (await handler(httpEventV2({ url: `/v1.0/publish/pubsub/${functionUrl}`, body: 'x' }), lambdaContext())) as APIGatewayProxyResult
        expect(v2.statusCode, functionUrl).toBe(204)
        await recorder.next((m) => m.topic === functionUrl)

        // An HTTP API hands the path over decoded, with its named stage in front.
        const httpApi = unique('httpapi- ') + suffix
        const decoded = httpEventV2({ url: '/x', body: 'x', stage: 'prod' })
        decoded.rawPath = `/prod/v1.0/publish/pubsub/${httpApi}`
        const v2Decoded = (await handler(decoded, lambdaContext())) as APIGatewayProxyResult
        expect(v2Decoded.statusCode, httpApi).toBe(204)
        await recorder.next((m) => m.topic === httpApi)

        const rest = unique('rest-') + suffix
        const v1 = (await handler(httpEventV1({ url: `/v1.0/publish/pubsub/${rest}`, body: 'x' }), lambdaContext())) as APIGatewayProxyResult
        expect(v1.statusCode, rest).toBe(204)
        await recorder.next((m) => m.topic === rest)
      }
      const plus = (await handler(httpEventV2({ url: '/v1.0/publish/pubsub/a+b', body: 'x' }), lambdaContext())) as APIGatewayProxyResult
      expect(plus.statusCode).toBe(400)
      const control = (await handler(httpEventV2({ url: '/v1.0/publish/pubsub/a%0Ab', body: 'x' }), lambdaContext())) as APIGatewayProxyResult
      expect(control.statusCode).toBe(400)
    })

    it('Azure: the HTTP trigger keeps the topic', async () => {
      const runtime = createFunctionRuntime({
        settings: settingsFromEnv({ MQTTFN_RESOURCES_PATH: dir, APP_ID: 'checkout', MQTTFN_PUBSUB: 'pubsub' }, { bundleDir: '/nonexistent' }),
        logger: { error: () => {}, warn: () => {} },
      })
      const handler = createAzureHttpPublishHandler(runtime)
      for (const suffix of ['a//b', '/lead', 'trail/', 'x//y/']) {
        const topic = unique('azure-') + suffix
        const res = (await handler(
          new HttpRequest({ method: 'POST', url: `https://app.azurewebsites.net/v1.0/publish/pubsub/${topic}`, body: { string: 'x' } }),
          new InvocationContext({ functionName: 'publish' }),
        )) as HttpResponseInit
        expect(res.status, topic).toBe(204)
        await recorder.next((m) => m.topic === topic)
      }
      const plus = (await handler(
        new HttpRequest({ method: 'POST', url: 'https://app.azurewebsites.net/v1.0/publish/pubsub/a+b', body: { string: 'x' } }),
        new InvocationContext({ functionName: 'publish' }),
      )) as HttpResponseInit
      expect(plus.status).toBe(400)
    })
  })

  describe('item 5: the 65,535-byte topic limit is the answer mqtt-fn serve gives, not Node’s 431', () => {
    it('a topic of exactly 65,535 bytes, every byte percent-encoded, is published', async () => {
      const prefix = unique('long-')
      const topic = prefix + 'x'.repeat(65535 - prefix.length)
      const res = await rawRequest(server, `/v1.0/publish/pubsub/${percentEncodeAll(topic)}`)
      expect(res.status).toBe(204)
      const msg = await recorder.next((m) => m.topic === topic)
      expect(Buffer.byteLength(msg.topic)).toBe(65535)
    })

    it('one byte more, percent-encoded, is the documented 400', async () => {
      const res = await rawRequest(server, `/v1.0/publish/pubsub/${percentEncodeAll('x'.repeat(65536))}`)
      expect(res.status).toBe(400)
      expect(JSON.parse(res.body)).toMatchObject({
        errorCode: 'ERR_MALFORMED_REQUEST',
        message: expect.stringMatching(/is 65536 bytes long in UTF-8; MQTT allows at most 65535$/),
      })
    })

    it('a request head over MAX_REQUEST_HEAD_BYTES is still refused by Node (431)', async () => {
      const res = await rawRequest(server, `/v1.0/publish/pubsub/${'x'.repeat(MAX_REQUEST_HEAD_BYTES)}`)
      expect(res.status).toBe(431)
    })
  })
})
