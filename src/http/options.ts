import type { PublishOptions, Logger } from '../core/pubsub/types.js'
import type { LoadedResources, PubsubComponent } from '../core/resources/types.js'
import type { ApiHandler } from './types.js'
import type { Tracer } from '../tracing/types.js'

/** What the publish API needs of an MQTT client: a publish that settles after the PUBACK or a bounded failure. */
export interface PublishClient {
  publish(topic: string, payload: Buffer, options?: PublishOptions): Promise<void>
}

export interface PublishApiOptions {
  /** The loaded resources, or just the pubsub components. */
  resources: Pick<LoadedResources, 'pubsubs'> | readonly PubsubComponent[]
  /**
   * Dapr app id: CloudEvent `source`, `publishingScopes`, component `scopes`, `/v1.0/metadata`
   * `id`. daprd always has one; without it the app id is the empty string.
   */
  appId?: string
  /**
   * When set, every request but `GET /v1.0/healthz[/outbound]` must carry it in the
   * `dapr-api-token` header, else 401 (daprd `APITokenAuthMiddleware`). The caller reads it
   * from `APP_API_TOKEN` / `DAPR_API_TOKEN`.
   */
  apiToken?: string
  /** Largest accepted request body in bytes, else 413. Default 1 MiB (`DEFAULT_MAX_BODY_BYTES`). */
  maxBodyBytes?: number
  /**
   * Publish and bulk publish requests being published at once (each holds its payload until the
   * broker acknowledges it or publishTimeout fails it); one beyond is answered 429 at once, with
   * `Retry-After`, instead of waiting. Default `DEFAULT_MAX_IN_FLIGHT`.
   */
  maxInFlight?: number
  /** The `Retry-After` of that 429, whole seconds. Default 1. */
  retryAfterSeconds?: number
  /**
   * The MQTT client of a component. Default: the process-wide client of `core/pubsub`
   * (`getPubsubClient`). Its `publish` must settle on its own within a bound (the core
   * client's does: connect wait and acknowledgement within `publishTimeout`); the API adds
   * no timer of its own. Tests inject one only where no real broker can produce the failure.
   */
  getClient?: (component: PubsubComponent) => PublishClient
  /** Default: errors to `console.error`, nothing else. */
  logger?: Partial<Logger>
  /**
   * `runtimeVersion` reported by `GET /v1.0/metadata`. Default `edge` (what a daprd built
   * without a release version reports); `extended.mqttfn` always says what answered.
   */
  runtimeVersion?: string
  /**
   * Spans for each publish (SERVER for the request, PRODUCER for the publish, whose context the
   * CloudEvent carries). Absent (the default, and without a tracing Configuration) costs nothing.
   */
  tracer?: Tracer
}

/** The handler, with the body limit it enforces (the Node adapter reads bodies up to it). */
export type PublishApiHandler = ApiHandler & {
  readonly maxBodyBytes: number
  readonly maxInFlight: number
  /** Publish requests accepted and not yet answered (at most maxInFlight). */
  readonly inFlight: number
}

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

/**
 * 256 requests waiting for their PUBACK at once: far above what a broker that answers needs
 * (at 1 ms a PUBACK that is 256,000 publishes/s), and with 1 MiB bodies at most 256 MiB of
 * payload held while a broker does not answer.
 */
export const DEFAULT_MAX_IN_FLIGHT = 256

/** daprd's default bulk publisher runs at most this many publishes at once (default_bulkpub.go). */
export const BULK_PUBLISH_CONCURRENCY = 100
