/**
 * `pubsub()`: `DaprClient.pubsub` of `@dapr/dapr` (IClientPubSub), in process. Each call is
 * turned into the request the SDK would send its sidecar and answered by the same publish API
 * the HTTP function runs (src/http), so the broker gets exactly the CloudEvent the publish API
 * would put there and every error carries daprd's code and message. No HTTP hop, no sidecar.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { errorMessage } from '../core/errors.js'
import { runWithDeadline } from '../function-runtime/deadline.js'
import { createFunctionRuntime, type FunctionLogger, type FunctionRuntime } from '../function-runtime/runtime.js'
import { settingsFromEnv } from '../function-runtime/settings.js'
import { lazyPublishApi } from '../platforms/http-function/publish-api.js'
import { hostPublishApi } from '../http/host-binding.js'
import { inProcessPublishRequest } from '../http/in-process-request.js'
import type { ApiHandler, ApiRequest, ApiResponse } from '../http/types.js'
import { bulkBody, bulkEntries, publishBody, type BulkPublishEntry } from './sdk-body.js'

/** `KeyValueType` of the SDK. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's own type; values are stringified as the SDK does
export type KeyValueType = { [key: string]: any }

export interface PubSubPublishOptions {
  contentType?: string
  metadata?: KeyValueType
}

export interface PubSubPublishResponseType {
  error?: Error
}

export interface PubSubBulkPublishMessageExplicit {
  entryID?: string
  event: object | string
  metadata?: KeyValueType
  contentType?: string
}

export type PubSubBulkPublishMessage = PubSubBulkPublishMessageExplicit | object | string

export interface PubSubBulkPublishResponse {
  failedMessages: { message: BulkPublishEntry; error: Error }[]
}

/** The methods, arguments and results of `DaprClient.pubsub`. */
export interface FunctionPubsub {
  publish(pubSubName: string, topic: string, data?: object | string, options?: PubSubPublishOptions): Promise<PubSubPublishResponseType>
  publishBulk(pubSubName: string, topic: string, messages: PubSubBulkPublishMessage[], metadata?: KeyValueType): Promise<PubSubBulkPublishResponse>
}

export interface PubsubOptions {
  /**
   * Folder of Dapr resources, read at the first publish. Else `MQTTFN_RESOURCES_PATH`, else the resources
   * compiled into the bundle by scripts/build.mjs, else `resources/` beside the bundle (or in `LAMBDA_TASK_ROOT`, or the working directory).
   */
  resourcesPath?: string
  /** Dapr app id (CloudEvent `source`, scopes). Else `APP_ID`. */
  appId?: string
  /** Default: `process.env`. */
  env?: Record<string, string | undefined>
  /** Default: `console`. */
  logger?: FunctionLogger
}

/** A failed publish: daprd's `errorCode` and message, and the HTTP status the publish API answered. */
export class DaprPublishError extends Error {
  override name = 'DaprPublishError'
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message)
  }
}

/**
 * A pubsub object over the resources. Nothing loads or connects until the first publish; the
 * connection is the process's, reused while the instance is warm. `remainingMs` (the
 * middleware passes the invocation's) bounds every wait of one call.
 */
export function pubsub(options: PubsubOptions = {}): FunctionPubsub {
  const api = publishApiFor(options)
  return boundPubsub(api, () => undefined)
}

/** The same object with each call bounded by what `remainingMs()` says the invocation has left. */
export function boundPubsub(api: () => Promise<ApiHandler>, remainingMs: () => number | undefined): FunctionPubsub {
  const call = (request: () => ApiRequest): Promise<ApiResponse> =>
    runWithDeadline(remainingMs(), async () => (await api())(request()))
  return {
    async publish(pubSubName, topic, data, options = {}) {
      try {
        const response = await call(() => {
          const { body, contentType } = publishBody(data, options.contentType)
          return inProcessPublishRequest({ pubsubName: pubSubName, topic, metadata: options.metadata, body, contentType })
        })
        return response.status < 300 ? {} : { error: errorOf(response) }
      } catch (err) {
        return { error: err instanceof Error ? err : new Error(errorMessage(err)) }
      }
    },
    async publishBulk(pubSubName, topic, messages, metadata) {
      let entries: BulkPublishEntry[] = []
      try {
        entries = bulkEntries(messages)
        const response = await call(() =>
          inProcessPublishRequest({ pubsubName: pubSubName, topic, metadata, body: bulkBody(entries), contentType: 'application/json', bulk: true }),
        )
        if (response.status < 300) return { failedMessages: [] }
        const failed = failedEntries(response.body)
        if (failed !== undefined) {
          return {
            failedMessages: failed.flatMap((f) => {
              const message = entries.find((e) => e.entryID === f.entryId)
              return message ? [{ message, error: new Error(f.error) }] : []
            }),
          }
        }
        const error = errorOf(response)
        return { failedMessages: entries.map((message) => ({ message, error })) }
      } catch (err) {
        const error = err instanceof Error ? err : new Error(errorMessage(err))
        return { failedMessages: entries.map((message) => ({ message, error })) }
      }
    },
  }
}

/** The publish API of `publishApiFor`, and the flush its wrappers await before an invocation returns. */
export type LazyPublishApi = (() => Promise<ApiHandler>) & {
  /** Exports the spans of publishes made so far (a tracing Configuration); nothing to do otherwise. Never rejects. */
  flushTraces(): Promise<void>
}

/** The publish API over the resources the options name, created on first use. */
export function publishApiFor(options: PubsubOptions): LazyPublishApi {
  let runtime: FunctionRuntime | undefined
  let api: (() => Promise<ApiHandler>) | undefined
  const get = () => {
    // Run by `mqtt-fn dev`: publish through its API, to its broker, in its log.
    const host = hostPublishApi()
    if (host !== undefined) return Promise.resolve(host)
    if (api === undefined) {
      const env = { ...(options.env ?? process.env) }
      if (options.resourcesPath !== undefined) env['MQTTFN_RESOURCES_PATH'] = options.resourcesPath
      if (options.appId !== undefined) env['APP_ID'] = options.appId
      // The API token guards the HTTP function's door; an in-process call does not pass through it.
      delete env['DAPR_API_TOKEN']
      delete env['APP_API_TOKEN']
      const settings = settingsFromEnv(env, { bundleDir: bundleDir(env) })
      runtime = createFunctionRuntime({ settings, ...(options.logger ? { logger: options.logger } : {}) })
      api = lazyPublishApi(runtime)
    }
    return api()
  }
  return Object.assign(get, { flushTraces: async () => runtime?.flushTraces() })
}

/** Where `resources/` is looked for: beside this code when bundled, else the Lambda task root, else the working directory. */
function bundleDir(env: Record<string, string | undefined>): string {
  const candidates = [dirname(fileURLToPath(import.meta.url)), env['LAMBDA_TASK_ROOT'], process.cwd()].filter(
    (dir): dir is string => typeof dir === 'string' && dir !== '',
  )
  return candidates.find((dir) => existsSync(join(dir, 'resources'))) ?? (candidates[0] as string)
}

function errorOf(response: ApiResponse): DaprPublishError {
  try {
    const parsed = JSON.parse(response.body) as { errorCode?: unknown; message?: unknown }
    const code = typeof parsed.errorCode === 'string' ? parsed.errorCode : 'ERR_UNKNOWN'
    const message = typeof parsed.message === 'string' ? parsed.message : response.body
    return new DaprPublishError(response.status, code, message)
  } catch {
    return new DaprPublishError(response.status, 'ERR_UNKNOWN', response.body || `HTTP ${response.status}`)
  }
}

function failedEntries(body: string): { entryId: string; error: string }[] | undefined {
  try {
    const parsed = JSON.parse(body) as { failedEntries?: unknown }
    if (!Array.isArray(parsed.failedEntries)) return undefined
    return parsed.failedEntries.map((e: { entryId?: unknown; error?: unknown }) => ({ entryId: String(e.entryId), error: String(e.error) }))
  } catch {
    return undefined
  }
}
