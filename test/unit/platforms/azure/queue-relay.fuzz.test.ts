// Arbitrary queue entries (what the Functions host can hand over: JSON values, strings, bytes)
// against the Storage Queue relay. Recording publisher: see test/helpers/recording-publisher.ts.
import { InvocationContext } from '@azure/functions'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createAzureQueueRelayHandler } from '../../../../src/platforms/azure/queue-relay.js'
import { createFunctionRuntime, RelayError, settingsFromEnv } from '../../../../src/function-runtime/index.js'
import { loadPubsubs } from '../../../helpers/http.js'
import { recordingPublisher } from '../../../helpers/recording-publisher.js'

const resources = loadPubsubs([{ name: 'pubsub', url: 'mqtt://127.0.0.1:1' }], 'checkout')
const topicArb = fc.oneof(fc.constantFrom('orders/a', 'a/+', '#', '', 'ok'), fc.string({ unit: 'binary', maxLength: 10 }))
const entryArb = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: 'binary' }),
  fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b)),
  fc.record({ specversion: fc.constant('1.0'), id: fc.string(), topic: fc.oneof(topicArb, fc.jsonValue({ maxDepth: 1 })), data: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['specversion'] }),
  fc.anything({ maxDepth: 2 }),
)

describe('Storage Queue relay, arbitrary messages', () => {
  it('either publishes once to a valid topic and resolves, or throws a RelayError (host retry, then poison)', async () => {
    const loaded = await resources
    await fc.assert(
      fc.asyncProperty(entryArb, fc.option(topicArb, { nil: undefined }), fc.boolean(), async (entry, defaultTopic, brokerFails) => {
        const publisher = recordingPublisher(() => brokerFails)
        const runtime = createFunctionRuntime({
          settings: settingsFromEnv(defaultTopic === undefined ? {} : { MQTTFN_TOPIC: defaultTopic }, { bundleDir: '/x' }),
          loadResources: async () => loaded,
          getClient: () => publisher,
          logger: { error: () => {}, warn: () => {} },
        })
        const handler = createAzureQueueRelayHandler(runtime)
        const context = new InvocationContext({ invocationId: 'inv', logHandler: () => {} })
        let error: unknown
        try {
          await handler(entry, context)
        } catch (e) {
          error = e
        }
        for (const call of publisher.calls) expect(call.topic).not.toMatch(/^$|[+#\u0000]/)
        expect(publisher.calls.length).toBeLessThanOrEqual(1)
        if (error === undefined) {
          expect(publisher.calls).toHaveLength(1)
          expect(publisher.calls[0]?.ok).toBe(true)
        } else {
          expect(error).toBeInstanceOf(RelayError)
          expect(publisher.calls.every((c) => !c.ok)).toBe(true)
        }
      }),
      { numRuns: 500 },
    )
  })
})
