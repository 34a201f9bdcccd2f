import middy from '@middy/core'
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda'
import { runWithDeadline } from '../../function-runtime/deadline.js'
import { RelayError, relayMessage, type MessageAttributes, type QueueMessage, type RelayTarget } from '../../function-runtime/relay.js'
import { lazyRelayTarget } from '../../function-runtime/relay-target.js'
import type { FunctionRuntime } from '../../function-runtime/runtime.js'
import { remainingTime } from './context.js'
import { messageIdOf, recordsOf, sqsPartialBatch, type RecordOutcomes, type SqsPartialBatchOptions } from './sqs-partial-batch.js'

export type SqsRelayHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>

export interface SqsRelayOptions {
  /** Per failed record; default logs its id and the reason (never the body). */
  logger?: SqsPartialBatchOptions['logger']
}

/**
 * The SQS relay: every record becomes one MQTT message (see `function-runtime/relay.ts` for the topic and
 * payload rules) and only the records that failed are returned (`batchItemFailures`).
 *
 * A standard queue's records publish concurrently. A FIFO queue's (`eventSourceARN` ending in
 * `.fifo`) publish one after the other; at the first failure the rest are not attempted, and
 * that record and every one after it are reported, so the queue keeps their order.
 */
export function createSqsRelayHandler(runtime: FunctionRuntime, options: SqsRelayOptions = {}): SqsRelayHandler {
  const relayTarget = lazyRelayTarget(runtime)
  const handler = middy<unknown, RecordOutcomes | SQSBatchResponse>()
    .use(sqsPartialBatch(options.logger === undefined ? {} : { logger: options.logger }))
    .handler(async (event: unknown, context: Context): Promise<RecordOutcomes> => {
      const records = recordsOf(event)
      if (records.length === 0) return []
      try {
        return await runWithDeadline(remainingTime(context), async () => {
          const target = await relayTarget()
          const messages = records.map(toQueueMessage)
          return isFifo(records) ? relayInOrder(messages, target) : Promise.allSettled(messages.map((m) => relayMessage(m, target)))
        })
      } finally {
        await runtime.flushTraces()
      }
    })
  // The middleware turns the outcomes into the SQS batch response.
  return handler as unknown as SqsRelayHandler
}

async function relayInOrder(messages: readonly QueueMessage[], target: RelayTarget): Promise<RecordOutcomes> {
  const outcomes: PromiseSettledResult<void>[] = []
  let failed: string | undefined
  for (const message of messages) {
    if (failed !== undefined) {
      outcomes.push({
        status: 'rejected',
        reason: new RelayError(message.id, `not attempted: record ${JSON.stringify(failed)} before it in this FIFO batch failed`, {
          retriable: true,
        }),
      })
      continue
    }
    try {
      await relayMessage(message, target)
      outcomes.push({ status: 'fulfilled', value: undefined })
    } catch (reason) {
      failed = message.id
      outcomes.push({ status: 'rejected', reason })
    }
  }
  return outcomes
}

function isFifo(records: readonly unknown[]): boolean {
  return records.some((r) => {
    const arn = typeof r === 'object' && r !== null ? (r as { eventSourceARN?: unknown }).eventSourceARN : undefined
    return typeof arn === 'string' && arn.endsWith('.fifo')
  })
}

/** An SQS record (any shape) → the platform-neutral queue message. */
export function toQueueMessage(record: unknown, index: number): QueueMessage {
  const id = messageIdOf(record) || `#${index}`
  if (typeof record !== 'object' || record === null) return { id, body: undefined }
  const { body, messageAttributes } = record as { body?: unknown; messageAttributes?: unknown }
  const message: QueueMessage = { id, body }
  const attributes = readAttributes(messageAttributes)
  if (attributes) message.attributes = attributes
  return message
}

const ATTRIBUTE_NAMES = ['topic', 'contentType', 'rawPayload'] as const

function readAttributes(value: unknown): MessageAttributes | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const attributes: MessageAttributes = {}
  let found = false
  for (const name of ATTRIBUTE_NAMES) {
    if (!Object.hasOwn(value, name)) continue
    const attribute = (value as Record<string, unknown>)[name]
    // A String or Number attribute carries `stringValue`; anything else reads as empty, which
    // fails the record for `topic` and `rawPayload` instead of silently ignoring the attribute.
    const text =
      typeof attribute === 'object' && attribute !== null && typeof (attribute as { stringValue?: unknown }).stringValue === 'string'
        ? (attribute as { stringValue: string }).stringValue
        : ''
    if (name === 'contentType' && text === '') continue
    attributes[name] = text
    found = true
  }
  // Every other String / Number attribute is request metadata (MQTT 5 user properties); Binary ones have no text to carry.
  for (const [name, attribute] of Object.entries(value)) {
    if ((ATTRIBUTE_NAMES as readonly string[]).includes(name)) continue
    const text = typeof attribute === 'object' && attribute !== null ? (attribute as { stringValue?: unknown }).stringValue : undefined
    if (typeof text !== 'string') continue
    ;(attributes.metadata ??= {})[name] = text
    found = true
  }
  return found ? attributes : undefined
}
