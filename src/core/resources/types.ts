import type { ResourceLocation } from '../errors.js'
import type { BrokerProfile } from './broker-profile.js'

/** Broker address after Dapr's URL rules (scheme aliases, default ports, userinfo split off). */
export interface BrokerUrl {
  /** What MQTT.js is given: `mqtt` | `mqtts` | `ws` | `wss`. */
  protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss'
  host: string
  port: number
  /** Websocket path (kept, unlike daprd); `/` for TCP. */
  path: string
  /**
   * WebSocket only: the query string as written, without `?` (a presigned URL, an authorizer's
   * parameters). It can carry a token, so it is never in `redacted`.
   */
  query?: string
  username?: string
  password?: string
  /** `protocol://host:port[path]` without credentials or query: safe to log. */
  redacted: string
}

/** Parsed metadata of a `pubsub.mqtt` / `pubsub.mqtt3` Component. */
export interface MqttMetadata {
  url: BrokerUrl
  /** MQTT client id after template expansion; unique per process when not configured. */
  consumerID: string
  /** True when the user set consumerID (a stable id makes persistent sessions possible). */
  consumerIDConfigured: boolean
  qos: 0 | 1 | 2
  retain: boolean
  cleanSession: boolean
  caCert?: string
  clientCert?: string
  clientKey?: string
  /** Extension: 4 (MQTT 3.1.1, default) or 5. */
  protocolVersion: 4 | 5
  /** Extension: CONNACK wait, ms. */
  connectTimeout: number
  /** Extension: seconds, default 30 as daprd (paho) uses. */
  keepAlive: number
  /** Extension: MQTT 5 session expiry, seconds. */
  sessionExpiryInterval?: number
  /** Extension: bound on a PUBACK / SUBACK wait, ms (default 5000). */
  publishTimeout: number
  /** Extension: cap on QoS>=1 publishes awaiting PUBACK at once. */
  maxInflight: number
  /** Extension: where the forwarder records its persistent session's filters; null = off (`none`). */
  sessionLedgerTopic?: string | null
  /** Extension, MQTT 5: CloudEvents binary content mode for publishes and, by default, for reading. */
  contentMode?: 'binary'
  /** Extension: a credential computed before every connect attempt (auth-fields.ts). Absent: `none`. */
  auth?: AuthSettings
  /** Extension: ALPN protocols of the TLS handshake (e.g. `x-amzn-mqtt-ca`). */
  alpnProtocols?: string[]
  /** Extension: the broker's known limits (broker-profile.ts); absent = `generic`. */
  brokerProfile?: BrokerProfile
}

/** `authMethod` and the settings it reads. */
export type AuthSettings =
  /** `region`: absent means `AWS_REGION` / `AWS_DEFAULT_REGION` at connect time. */
  | { method: 'aws-sigv4'; region?: string }
  | {
      method: 'aws-iot-authorizer'
      authorizerName?: string
      tokenKeyName?: string
      token?: string
      tokenSignature?: string
    }
  /** Microsoft Entra token as MQTT 5 enhanced authentication (Azure Event Grid). */
  | { method: 'oauth2-jwt'; scope: string; clientId?: string }

/** Dapr runtime keys that may sit in a pubsub component; kept for the layers above. */
export interface PubsubRuntimeMetadata {
  allowedTopics?: string[]
  protectedTopics?: string[]
  /** app id -> topics */
  publishingScopes?: Record<string, string[]>
  subscriptionScopes?: Record<string, string[]>
  /**
   * Set when a metadata value used `{namespace}`: daprd then treats the component as
   * namespace-scoped and prefixes every topic with this namespace, no separator.
   */
  namespace?: string
}

export interface PubsubComponent extends ResourceLocation {
  kind: 'Component'
  name: string
  type: 'pubsub.mqtt' | 'pubsub.mqtt3'
  metadata: MqttMetadata
  runtime: PubsubRuntimeMetadata
  /** Component `scopes`: app ids allowed to use it (empty = all). */
  scopes: string[]
  /** Every metadata value after secret resolution, keys as written (for passing on). */
  raw: Record<string, string>
  /** `auth.secretStore`, when set. */
  secretStore?: string
  /**
   * Values of this component that must never be logged: the URL (and its password in every
   * form), clientKey, and anything read through a secretKeyRef. Also registered for `redact()`.
   * Always set by the loader; optional so that hand-built components (tests) need not list it.
   */
  sensitiveValues?: string[]
}

export interface SecretStoreComponent extends ResourceLocation {
  kind: 'Component'
  name: string
  type: 'secretstores.local.env' | 'secretstores.local.file'
  raw: Record<string, string>
}

export interface RouteRule {
  /** CEL expression; empty = always matches. */
  match: string
  path: string
}

export interface BulkSubscribe {
  enabled: boolean
  maxMessagesCount: number
  maxAwaitDurationMs: number
}

export interface SubscriptionResource extends ResourceLocation {
  kind: 'Subscription'
  name: string
  apiVersion: 'dapr.io/v1alpha1' | 'dapr.io/v2alpha1'
  pubsubname: string
  topic: string
  /** Rules in order, then `default` (when set) as a last rule with an empty match. */
  rules: RouteRule[]
  deadLetterTopic?: string
  metadata: Record<string, string>
  bulkSubscribe?: BulkSubscribe
  scopes: string[]
}

/** Any other Dapr resource (Resiliency, Configuration, other component types): kept as parsed. */
export interface OtherResource extends ResourceLocation {
  kind: string
  name: string
  apiVersion?: string
  spec: unknown
  /** Top-level `scopes` (e.g. of a Resiliency): the app ids it applies to; absent = all. */
  scopes?: string[]
}

/** `spec.tracing` of a Dapr Configuration, parsed (configuration.ts). */
export interface TracingConfiguration {
  /** 0..1; 0 turns tracing off. */
  samplingRate: number
  /** Spans to stdout as well (daprd's `stdout: true`). */
  stdout: boolean
  /** OTLP: `endpointAddress` is host[:port] (daprd's form) or a URL; `protocol` http (OTLP/HTTP) or grpc. */
  otel?: { endpointAddress: string; isSecure: boolean; protocol: 'http' | 'grpc' }
  /** Zipkin v2 JSON: the full URL, e.g. http://localhost:9411/api/v2/spans. */
  zipkin?: { endpointAddress: string }
}

export interface ConfigurationResource extends ResourceLocation {
  kind: 'Configuration'
  name: string
  /** Absent when the Configuration has no `spec.tracing`. */
  tracing?: TracingConfiguration
}

export interface LoadedResources {
  pubsubs: PubsubComponent[]
  secretStores: SecretStoreComponent[]
  subscriptions: SubscriptionResource[]
  others: OtherResource[]
  /** Every Configuration of the folder (each is also in `others`, as it was before they were parsed). */
  configurations?: ConfigurationResource[]
  /** The Configuration that applies: the one named by `LoadOptions.config` / `MQTTFN_CONFIG`, else the only one. */
  configuration?: ConfigurationResource
  /** Non-fatal findings (unknown metadata keys...), already formatted `FILE: document N (...)`. */
  warnings: string[]
  /** Union of every pubsub's `sensitiveValues`; always set by the loader (see PubsubComponent). */
  sensitiveValues?: string[]
}

export interface LoadOptions {
  /** Dapr app id: fills `{appID}`, default consumerID, scope checks. */
  appId?: string
  /** Environment for `secretstores.local.env` and template tags; default process.env. */
  env?: Record<string, string | undefined>
  /**
   * Folder that a relative `secretsFile` of a `secretstores.local.file` is resolved against.
   * Default: the folder of the YAML file that declares the store.
   */
  baseDir?: string
  /**
   * Name of the Configuration that applies (daprd's `--config`); default the environment's
   * `MQTTFN_CONFIG`, else the only Configuration of the folder.
   */
  config?: string
}
