import type { FunctionRuntime } from '../../function-runtime/runtime.js'
import { createPublishApi } from '../../http/index.js'
import type { ApiHandler } from '../../http/types.js'

export interface PublishFunctionOptions {
  /** Largest HTTP body the publish function accepts (default: the publish API's, 1 MiB). */
  maxBodyBytes?: number
}

/**
 * The Dapr publish API of an HTTP function, over the runtime's resources and clients: created
 * by the first invocation (the resources load then) and kept while the instance is warm. It
 * sits here, not in the runtime, so that only the HTTP functions' bundles carry `src/http`.
 */
export function lazyPublishApi(runtime: FunctionRuntime, options: PublishFunctionOptions = {}): () => Promise<ApiHandler> {
  const { settings, logger } = runtime
  let api: Promise<ApiHandler> | undefined
  return () => {
    // A failure is kept, as the runtime keeps a failed load: the resources do not change.
    api ??= runtime.resources().then(async (resources) => {
      const tracer = await runtime.tracer()
      return createPublishApi({
        resources,
        // Unset is undefined: the publish API reads each of these with `??`.
        appId: settings.appId,
        apiToken: settings.apiToken,
        maxBodyBytes: options.maxBodyBytes,
        getClient: runtime.publisher,
        logger: { error: (...args: unknown[]) => logger.error('mqtt-fn:', ...args) },
        tracer,
      })
    })
    return api
  }
}
