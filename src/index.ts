/**
 * mqtt-fn's public API: Dapr's `pubsub.mqtt` without a sidecar.
 *
 *   const resources = await loadResources('./resources')
 *   const client = getPubsubClient(resources.pubsubs[0])
 *   const { payload } = buildPublishPayload({ pubsubName: 'pubsub', topic: 'orders/new', data, contentType: 'application/json' })
 *   await client.publish('orders/new', payload)          // resolves after the broker's PUBACK
 *   await client.subscribe('orders/#', (m) => { ...; m.ack() })  // PUBACK only on ack()
 *
 * This entry is core and the publish API only (packages: mqtt, yaml, p-limit). The parts with
 * heavy dependencies have their own subpath exports, so a library user loads only what they
 * use: `mqtt-fn/forwarder` (src/exports/forwarder.ts: pino, prom-client, @bufbuild/cel, undici)
 * and `mqtt-fn/local` (src/exports/local.ts: aedes). `mqtt-fn/functions` (issue 11) will be the
 * API for the user's own functions, on src/function-runtime. test/e2e/bundles.test.ts checks
 * what each entry loads.
 */
export { MqttFnError, ResourceError, TopicError, TimeoutError, PublishError, ClosedError, formatProblem } from './core/errors.js'
export type { ResourceLocation, ResourceProblem } from './core/errors.js'

export {
  loadResources,
  loadResourcesFromDocuments,
  parseMqttMetadata,
  parseBrokerUrl,
  redact,
  renderMetadataTable,
  type ResourceFile,
} from './core/resources/index.js'
export type {
  BrokerUrl,
  BulkSubscribe,
  LoadOptions,
  LoadedResources,
  MqttMetadata,
  OtherResource,
  PubsubComponent,
  RouteRule,
  SecretStoreComponent,
  SubscriptionResource,
} from './core/resources/index.js'

export { buildPublishPayload, decodeEvent, fromRawPayload, hasExpired, goMarshal } from './core/envelope/index.js'
export type { PublishPayload, PublishRequest } from './core/envelope/index.js'

export { validatePublishTopic, validateFilter, matchesFilter, parseSharedFilter, TopicMatcher } from './core/topics/index.js'

export { PubsubClient, getPubsubClient, closeAllPubsubClients, ConnectError, SubscribeError } from './core/pubsub/index.js'
export type {
  ConnectionState,
  IncomingMessage,
  MessageHandler,
  PublishOptions,
  PubsubClientOptions,
  Subscription,
} from './core/pubsub/index.js'

export { createPublishApi } from './http/index.js'
export { startHttpServer } from './http/node-server.js'
export type { ApiHandler, ApiRequest, ApiResponse, PublishApiOptions } from './http/index.js'
