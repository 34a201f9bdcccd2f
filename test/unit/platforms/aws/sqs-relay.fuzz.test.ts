// Arbitrary SQS events against the relay handler. The publisher is a recording stand-in (see
// test/helpers/recording-publisher.ts): the properties are about what the handler hands to the
// client and what it reports, not about the broker.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createSqsRelayHandler } from '../../../../src/platforms/aws/sqs-relay.js'
import { createFunctionRuntime, settingsFromEnv } from '../../../../src/function-runtime/index.js'
import { FIFO_QUEUE_ARN, STANDARD_QUEUE_ARN } from '../../../../support/aws-events.js'
import { loadPubsubs } from '../../../helpers/http.js'
import { recordingPublisher } from '../../../helpers/recording-publisher.js'

const resources = loadPubsubs([{ name: 'pubsub', url: 'mqtt://127.0.0.1:1' }], 'checkout')

const topicArb = fc.oneof(
  fc.constantFrom('orders/a', 'a/+', '#', 'x/#', '', '+/x', 'a\u0000b', '$SYS/x', 'ok/topic', '/', '//'),
  fc.string({ unit: 'binary', maxLength: 12 }),
)
const anything = fc.anything({ maxDepth: 2 })
const attributeArb = fc.oneof(
  fc.record({ dataType: fc.constant('String'), stringValue: fc.oneof(topicArb, fc.constantFrom('true', 'false', 'yes', 'text/plain', 'application/json')) }),
  fc.record({ dataType: fc.constant('Binary'), binaryValue: fc.base64String() }),
  anything,
)
const bodyArb = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.json({ maxDepth: 2 }),
  fc.record({ specversion: fc.constant('1.0'), id: fc.string(), topic: fc.oneof(topicArb, anything), data: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: ['specversion'] }).map((o) => JSON.stringify(o)),
  anything,
)
const recordArb = fc.oneof(
  { weight: 8, arbitrary: fc.record(
    {
      messageId: fc.oneof({ weight: 6, arbitrary: fc.uuid() }, { weight: 1, arbitrary: anything }),
      body: bodyArb,
      messageAttributes: fc.oneof(
        fc.dictionary(fc.constantFrom('topic', 'contentType', 'rawPayload', 'other'), attributeArb, { maxKeys: 3 }),
        anything,
      ),
      eventSourceARN: fc.oneof(fc.constantFrom(STANDARD_QUEUE_ARN, FIFO_QUEUE_ARN), anything),
    },
    { requiredKeys: [] },
  ) },
  { weight: 1, arbitrary: anything },
)
const eventArb = fc.oneof(
  { weight: 9, arbitrary: fc.record({ Records: fc.array(recordArb, { maxLength: 12 }) }) },
  { weight: 1, arbitrary: anything },
)

describe('SQS relay handler, arbitrary events', () => {
  it('never throws, never publishes to an invalid or wildcard topic, and settles every record exactly once', async () => {
    const loaded = await resources
    await fc.assert(
      fc.asyncProperty(eventArb, fc.option(topicArb, { nil: undefined }), fc.func(fc.boolean()), async (event, defaultTopic, failFn) => {
        const publisher = recordingPublisher((topic, n) => failFn(topic, n))
        const env: Record<string, string> = {}
        if (defaultTopic !== undefined) env['MQTTFN_TOPIC'] = defaultTopic
        const runtime = createFunctionRuntime({
          settings: settingsFromEnv(env, { bundleDir: '/x' }),
          loadResources: async () => loaded,
          getClient: () => publisher,
          logger: { error: () => {}, warn: () => {} },
        })
        const handler = createSqsRelayHandler(runtime, { logger: false })
        const response = await handler(event as never, {} as never)

        expect(Array.isArray(response.batchItemFailures)).toBe(true)
        for (const call of publisher.calls) {
          expect(call.topic).not.toBe('')
          expect(call.topic).not.toMatch(/[+#\u0000]/)
        }
        const records = typeof event === 'object' && event !== null && Array.isArray((event as { Records?: unknown }).Records)
          ? ((event as { Records: unknown[] }).Records)
          : []
        const ids = records.map((r) => (typeof r === 'object' && r !== null && typeof (r as { messageId?: unknown }).messageId === 'string' ? (r as { messageId: string }).messageId : ''))
        // Each record is either published successfully or listed as failed: never both, never neither.
        const succeeded = publisher.calls.filter((c) => c.ok).length
        expect(succeeded + response.batchItemFailures.length).toBe(records.length)
        for (const failure of response.batchItemFailures) expect(ids).toContain(failure.itemIdentifier)
        // A FIFO batch fails as a suffix: the first failure and everything after it.
        const fifo = records.some((r) => typeof r === 'object' && r !== null && typeof (r as { eventSourceARN?: unknown }).eventSourceARN === 'string' && ((r as { eventSourceARN: string }).eventSourceARN).endsWith('.fifo'))
        if (fifo && response.batchItemFailures.length > 0) {
          expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(ids.slice(records.length - response.batchItemFailures.length))
          expect(publisher.calls.filter((c) => !c.ok).length).toBeLessThanOrEqual(1)
        }
      }),
      { numRuns: 400 },
    )
  })
})
