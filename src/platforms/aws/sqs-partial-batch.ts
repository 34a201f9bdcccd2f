import type { MiddlewareObj, Request } from '@middy/core'
import type { SQSBatchItemFailure, SQSBatchResponse } from 'aws-lambda'
import { errorMessage } from '../../core/errors.js'

/**
 * SQS partial batch response, the contract of `@middy/sqs-partial-batch-failure`: the handler
 * returns one `PromiseSettledResult` per record, in `Records` order; every record that is not
 * fulfilled is reported in `batchItemFailures`, so only those return to the queue.
 *
 * Own code rather than the middy package (same size, ~600 bytes) because this one also holds for
 * any event (no `Records`, `null` entries, a missing `messageId`) and logs the record id and
 * the reason only, never the body.
 *
 * All-failed rule: when the handler throws (the resources cannot be loaded, the invocation is
 * out of time), every record is listed, the invocation itself succeeds and each record follows
 * its queue's redrive policy. A record without a `messageId` is reported as `""`, which Lambda
 * treats as a failure of the whole batch: a record that cannot be named is never dropped.
 *
 * Needs `FunctionResponseTypes: ["ReportBatchItemFailures"]` on the event source mapping;
 * without it Lambda ignores the response and deletes the whole batch.
 */
export interface SqsPartialBatchOptions {
  /** Called once per failed record; default `console.error` of the id and reason. */
  logger?: ((reason: unknown, messageId: string) => void) | false
}

export type RecordOutcomes = readonly PromiseSettledResult<unknown>[]

const defaults: Required<SqsPartialBatchOptions> = {
  logger: (reason, messageId) => console.error(`mqtt-fn: SQS record ${messageId || '(no messageId)'} failed: ${errorMessage(reason)}`),
}

export function sqsPartialBatchValidateOptions(options: unknown): asserts options is SqsPartialBatchOptions {
  if (options === undefined) return
  if (typeof options !== 'object' || options === null) throw new TypeError('sqsPartialBatch options must be an object')
  for (const [key, value] of Object.entries(options)) {
    if (key !== 'logger') throw new TypeError(`sqsPartialBatch: unknown option ${JSON.stringify(key)}`)
    if (value !== undefined && value !== false && typeof value !== 'function') {
      throw new TypeError('sqsPartialBatch: logger must be a function or false')
    }
  }
}

export function sqsPartialBatch(
  options: SqsPartialBatchOptions = {},
): MiddlewareObj<unknown, RecordOutcomes | SQSBatchResponse> {
  sqsPartialBatchValidateOptions(options)
  const logger = options.logger === undefined ? defaults.logger : options.logger

  const respond = (request: Request<unknown, RecordOutcomes | SQSBatchResponse>, outcomes: (index: number) => PromiseSettledResult<unknown> | undefined): void => {
    const records = recordsOf(request.event)
    const batchItemFailures: SQSBatchItemFailure[] = []
    records.forEach((record, index) => {
      const outcome = outcomes(index)
      if (outcome?.status === 'fulfilled') return
      const itemIdentifier = messageIdOf(record)
      batchItemFailures.push({ itemIdentifier })
      if (logger) logger(outcome?.reason ?? new Error('the handler gave no outcome for this record'), itemIdentifier)
    })
    request.response = { batchItemFailures }
  }

  return {
    after: (request) => {
      const response = request.response
      const outcomes: RecordOutcomes = Array.isArray(response) ? response : []
      respond(request, (index) => outcomes[index])
    },
    onError: (request) => {
      if (request.response !== undefined && request.response !== null && !Array.isArray(request.response)) return
      const error = request.error
      respond(request, () => ({ status: 'rejected', reason: error }))
    },
  }
}

/** The event's `Records` when it is an array, else none. */
export function recordsOf(event: unknown): readonly unknown[] {
  if (typeof event !== 'object' || event === null) return []
  const records = (event as { Records?: unknown }).Records
  return Array.isArray(records) ? records : []
}

export function messageIdOf(record: unknown): string {
  if (typeof record !== 'object' || record === null) return ''
  const id = (record as { messageId?: unknown }).messageId
  return typeof id === 'string' ? id : ''
}


