export { createPublishApi } from './publish-api.js'
export {
  BULK_PUBLISH_CONCURRENCY,
  DEFAULT_MAX_BODY_BYTES,
  type PublishApiHandler,
  type PublishApiOptions,
  type PublishClient,
} from './options.js'
export type { ApiHandler, ApiRequest, ApiResponse } from './types.js'
