import { app, type HttpHandler, type StorageQueueHandler } from '@azure/functions'
import { closeAllPubsubClients } from '../../core/pubsub/index.js'
import type { FunctionRuntime } from '../../function-runtime/runtime.js'
import { createAzureHttpPublishHandler, type AzureHttpPublishOptions } from './http-publish.js'
import { createAzureQueueRelayHandler } from './queue-relay.js'

export interface AzureAppOptions {
  /** Function names in the app. Defaults `publish` and `relay`. */
  httpFunctionName?: string
  queueFunctionName?: string
  /** The queue the relay reads: `MQTTFN_QUEUE`, default `mqtt-fn`. */
  queueName?: string
  /** App setting that holds the storage connection: `MQTTFN_QUEUE_CONNECTION`, default `AzureWebJobsStorage`. */
  queueConnection?: string
  http?: AzureHttpPublishOptions
}

export const DEFAULT_QUEUE_NAME = 'mqtt-fn'
export const DEFAULT_QUEUE_CONNECTION = 'AzureWebJobsStorage'

/**
 * Registers the app's functions with the v4 model: the publish API on every path
 * (`{*path}`, with host.json `routePrefix: ""` the paths are Dapr's), GET/POST/PUT, anonymous
 * (the function checks `dapr-api-token` itself when a token is configured); and the queue relay.
 * Outside the Functions host, `app.*` only logs that it skipped the registration.
 */
export function registerAzureFunctions(runtime: FunctionRuntime, options: AzureAppOptions = {}): AzureAppHandlers {
  const env = runtime.settings.env
  const handlers: AzureAppHandlers = {
    publish: createAzureHttpPublishHandler(runtime, options.http),
    relay: createAzureQueueRelayHandler(runtime),
  }
  app.http(options.httpFunctionName ?? 'publish', {
    route: '{*path}',
    methods: ['GET', 'POST', 'PUT'],
    authLevel: 'anonymous',
    handler: handlers.publish,
  })
  app.storageQueue(options.queueFunctionName ?? 'relay', {
    queueName: options.queueName ?? nonEmpty(env['MQTTFN_QUEUE']) ?? DEFAULT_QUEUE_NAME,
    connection: options.queueConnection ?? nonEmpty(env['MQTTFN_QUEUE_CONNECTION']) ?? DEFAULT_QUEUE_CONNECTION,
    handler: handlers.relay,
  })
  // Runs on a graceful shutdown only; a forced stop just drops the connection.
  app.hook.appTerminate(() => closeAllPubsubClients())
  return handlers
}

/** The registered handlers, returned so that the app module can export them (tests call them directly). */
export interface AzureAppHandlers {
  publish: HttpHandler
  relay: StorageQueueHandler
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}
