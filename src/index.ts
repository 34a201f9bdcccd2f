/**
 * mqtt-fn's public API: Dapr's `pubsub.mqtt` without a sidecar.
 *
 *   const resources = await loadResources('./resources')
 *   const client = getPubsubClient(resources.pubsubs[0])
 *   const { payload } = buildPublishPayload({ pubsubName: 'pubsub', topic: 'orders/new', data, contentType: 'application/json' })
 *   await client.publish('orders/new', payload)          // resolves after the broker's PUBACK
 *   await client.subscribe('orders/#', (m) => { ...; m.ack() })  // PUBACK only on ack()
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

export { startForwarder } from './forwarder/index.js'
export type { Forwarder, ForwarderOptions, DeliveryEvent } from './forwarder/index.js'

export { startEmbeddedBroker } from './local/broker.js'
export type { EmbeddedBroker } from './local/broker.js'
