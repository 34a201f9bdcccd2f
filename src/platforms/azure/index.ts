export { createAzureHttpPublishHandler, type AzureHttpPublishOptions } from './http-publish.js'
export { createAzureQueueRelayHandler } from './queue-relay.js'
export { toApiRequest, toHttpResponseInit, type AzureHttpTranslateOptions } from './http-request.js'
export { registerAzureFunctions, DEFAULT_QUEUE_CONNECTION, DEFAULT_QUEUE_NAME, type AzureAppOptions, type AzureAppHandlers } from './register.js'
