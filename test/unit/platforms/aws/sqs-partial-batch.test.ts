// The partial batch response middleware on its own, through middy as Lambda runs it.
import middy from '@middy/core'
import type { SQSBatchResponse } from 'aws-lambda'
import { describe, expect, it } from 'vitest'
import { sqsPartialBatch, sqsPartialBatchValidateOptions, type RecordOutcomes } from '../../../../src/platforms/aws/sqs-partial-batch.js'
import { lambdaContext, sqsEvent } from '../../../../support/aws-events.js'

function handlerReturning(outcomes: (event: unknown) => Promise<RecordOutcomes>, logged: [unknown, string][] = []) {
  const fn = middy<unknown, RecordOutcomes | SQSBatchResponse>()
    .use(sqsPartialBatch({ logger: (reason, id) => void logged.push([reason, id]) }))
    .handler(outcomes)
  return (event: unknown) => fn(event, lambdaContext()) as Promise<SQSBatchResponse>
}

describe('sqsPartialBatch', () => {
  it('lists exactly the records whose outcome is not fulfilled, in Records order, and logs id and reason only', async () => {
    const logged: [unknown, string][] = []
    const event = sqsEvent([{ body: 'a', messageId: '1' }, { body: 'b', messageId: '2' }, { body: 'c', messageId: '3' }])
    const fn = handlerReturning(
      async () => [
        { status: 'fulfilled', value: 1 },
        { status: 'rejected', reason: new Error('nope') },
        { status: 'fulfilled', value: 3 },
      ],
      logged,
    )
    expect(await fn(event)).toEqual({ batchItemFailures: [{ itemIdentifier: '2' }] })
    expect(logged).toEqual([[new Error('nope'), '2']])
  })

  it('all fulfilled: an empty list (the whole batch is deleted)', async () => {
    const fn = handlerReturning(async () => [{ status: 'fulfilled', value: 1 }])
    expect(await fn(sqsEvent([{ body: 'a' }]))).toEqual({ batchItemFailures: [] })
  })

  it('all-failed rule: when the handler throws, every record is listed and the invocation still succeeds', async () => {
    const event = sqsEvent([{ body: 'a', messageId: 'x' }, { body: 'b', messageId: 'y' }])
    const fn = handlerReturning(async () => {
      throw new Error('resources broken')
    })
    expect(await fn(event)).toEqual({ batchItemFailures: [{ itemIdentifier: 'x' }, { itemIdentifier: 'y' }] })
  })

  it('a record without an outcome counts as failed; one without a messageId is reported as "" (whole batch retried)', async () => {
    const event = { Records: [{ messageId: 'a' }, { body: 'no id' }, null] }
    const fn = handlerReturning(async () => [{ status: 'fulfilled', value: 1 }])
    expect(await fn(event)).toEqual({ batchItemFailures: [{ itemIdentifier: '' }, { itemIdentifier: '' }] })
  })

  it('events without Records: nothing to report', async () => {
    const fn = handlerReturning(async () => [])
    for (const event of [{}, { Records: 'x' }, null, 7]) expect(await fn(event)).toEqual({ batchItemFailures: [] })
  })

  it('checks its options', () => {
    expect(() => sqsPartialBatchValidateOptions({ logger: 1 })).toThrow(/logger/)
    expect(() => sqsPartialBatchValidateOptions({ other: true })).toThrow(/unknown option "other"/)
    expect(() => sqsPartialBatchValidateOptions(null)).toThrow()
    expect(() => sqsPartialBatchValidateOptions({ logger: false })).not.toThrow()
  })
})
