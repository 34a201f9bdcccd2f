// `mqtt-fn/functions`: Dapr's pub/sub API inside your own functions, in process, no sidecar.
export {
  pubsub,
  DaprPublishError,
  type FunctionPubsub,
  type PubsubOptions,
  type PubSubPublishOptions,
  type PubSubPublishResponseType,
  type PubSubBulkPublishMessage,
  type PubSubBulkPublishResponse,
  type KeyValueType,
} from '../functions/pubsub.js'
export { pubsubMiddleware, topicHandler, type PubsubContext, type TopicHandlerOptions } from '../functions/lambda.js'
export {
  withPubsub,
  azureHttpTopicHandler,
  azureQueueTopicHandler,
  TopicRetryError,
  DEFAULT_AZURE_FUNCTION_TIMEOUT_MS,
  type AzurePubsubOptions,
  type AzurePubsubHandler,
  type AzureTopicHandlerOptions,
} from '../functions/azure.js'
export { decodeCloudEvent, MalformedDeliveryError, type CloudEvent, type TopicStatus, type TopicFunction } from '../functions/delivery.js'
export type { BulkPublishEntry } from '../functions/sdk-body.js'
