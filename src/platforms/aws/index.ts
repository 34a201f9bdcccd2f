export { createHttpPublishHandler, httpFailureResponse, type HttpPublishHandler, type HttpPublishOptions } from './http-publish.js'
export { toApiRequest, toHttpResult, isHttpEventV1, isHttpEventV2, type AwsHttpEvent, type AwsHttpResult } from './http-event.js'
export { createSqsRelayHandler, toQueueMessage, type SqsRelayHandler, type SqsRelayOptions } from './sqs-relay.js'
export { sqsPartialBatch, sqsPartialBatchValidateOptions, type SqsPartialBatchOptions, type RecordOutcomes } from './sqs-partial-batch.js'
