export { loadResources, loadResourcesFromDocuments, type ResourceFile } from './load-yaml.js'
export { loadParsedResources, PUBSUB_TYPES, SECRET_STORE_TYPES } from './loader.js'
export { readResourceFolder } from './read-folder.js'
export type { ParsedDocument, ParsedFile, ParsedResources, ParseNote } from './parsed.js'
export { parseMqttMetadata, type ParseMqttMetadataOptions, type ParsedMqttMetadata } from './parse-mqtt-metadata.js'
export { parseBrokerUrl, SUPPORTED_SCHEMES, type BrokerUrlResult } from './broker-url.js'
export {
  redact,
  createRedactor,
  registerSensitiveValues,
  registeredSensitiveValues,
  sensitiveForms,
  REDACTED,
} from './redact.js'
export { renderMetadataTable } from './metadata-table.js'
export { MQTT_FIELDS } from './mqtt-fields.js'
export { ENV_STORE_FIELDS, FILE_STORE_FIELDS } from './secret-store-fields.js'
export type { FieldSpec, FieldTable, FieldType, FieldGroup } from './field-table.js'
export { isTruthy } from './truthy.js'
export { inScope, isPublishAllowed, parseScopes, parseTopicList } from './scopes.js'
export { expandTemplate, generateConsumerId, DEFAULT_APP_ID, type TemplateContext } from './template.js'
export { BULK_DEFAULTS } from './subscription.js'
export { DEFAULT_SAMPLING_RATE, OTEL_PROTOCOLS, selectConfiguration, tracingEnabled } from './configuration.js'
export type {
  BrokerUrl,
  BulkSubscribe,
  ConfigurationResource,
  LoadOptions,
  LoadedResources,
  MqttMetadata,
  OtherResource,
  PubsubComponent,
  PubsubRuntimeMetadata,
  RouteRule,
  SecretStoreComponent,
  SubscriptionResource,
  TracingConfiguration,
} from './types.js'
