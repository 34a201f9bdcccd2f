// Arbitrary invocations of the HTTP publish handler: it always answers with a status and a
// string body, never throws. Recording publisher: see test/helpers/recording-publisher.ts.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createHttpPublishHandler } from '../../../../src/platforms/aws/http-publish.js'
import { createFunctionRuntime, settingsFromEnv } from '../../../../src/function-runtime/index.js'
import { httpEventV1, httpEventV2, lambdaContext } from '../../../../support/aws-events.js'
import { loadPubsubs } from '../../../helpers/http.js'
import { recordingPublisher } from '../../../helpers/recording-publisher.js'

const resources = loadPubsubs([{ name: 'pubsub', url: 'mqtt://127.0.0.1:1' }], 'checkout')

describe('AWS HTTP publish handler, arbitrary invocations', () => {
  it('answers every event with a status code and a string body; publishes only valid topics', async () => {
    const loaded = await resources
    const publisher = recordingPublisher((_topic, n) => n % 3 === 0)
    const handler = createHttpPublishHandler(
      createFunctionRuntime({
        settings: settingsFromEnv({}, { bundleDir: '/x' }),
        loadResources: async () => loaded,
        getClient: () => publisher,
        logger: { error: () => {}, warn: () => {} },
      }),
    )
    const segment = fc.oneof(fc.constantFrom('pubsub', 'orders', '%2F', '+', '#', '%23', '', 'v1.0', 'publish', '%ZZ', 'a b'), fc.string({ maxLength: 6 }))
    const url = fc.array(segment, { maxLength: 6 }).map((s) => `/v1.0/publish/${s.join('/')}`)
    const init = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
      url: fc.oneof(url, fc.string()),
      body: fc.oneof(fc.string(), fc.uint8Array({ maxLength: 20 }).map((b) => Buffer.from(b))),
      base64: fc.boolean(),
      headers: fc.dictionary(fc.constantFrom('content-type', 'dapr-api-token', 'x'), fc.string(), { maxKeys: 2 }),
    })
    const eventArb = fc.oneof(init.map(httpEventV2), init.map(httpEventV1), fc.anything({ maxDepth: 2 }))
    await fc.assert(
      fc.asyncProperty(eventArb, async (event) => {
        const res = (await handler(event as never, lambdaContext())) as { statusCode: number; body: string }
        expect(Number.isInteger(res.statusCode)).toBe(true)
        expect(res.statusCode).toBeGreaterThanOrEqual(200)
        expect(res.statusCode).toBeLessThan(600)
        expect(typeof res.body).toBe('string')
      }),
      { numRuns: 500 },
    )
    for (const call of publisher.calls) expect(call.topic).not.toMatch(/^$|[+#\u0000]/)
  })
})
