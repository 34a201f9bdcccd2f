/**
 * What the parts of one PubsubClient share: the component, the resolved knobs, the logger and
 * the two ways an error leaves the client. connection.ts, outbound.ts, inbound.ts and
 * subscriptions.ts each get it from client.ts, which implements it.
 */
import type { ClosedError } from '../errors.js'
import type { MqttMetadata } from '../resources/types.js'
import type { AuthProvider } from './auth/types.js'
import type { Logger, PubsubClientOptions } from './types.js'

export type ResolvedOptions = Required<Omit<PubsubClientOptions, 'logger' | 'auth'>>

export const DEFAULTS: ResolvedOptions = {
  maxUnacked: 100,
  reconnectBaseMs: 500,
  reconnectMaxMs: 30_000,
  watchdogGraceMs: 2000,
  closeTimeoutMs: 1000,
  renewAfterReleased: 10,
  renewAfterReleaseMs: 30_000,
  renewBackoffBaseMs: 1000,
}

export interface ClientContext {
  readonly metadata: MqttMetadata
  readonly name: string
  /** The broker URL without credentials: the only form that reaches logs and errors. */
  readonly url: string
  readonly log: Logger
  readonly opts: ResolvedOptions
  /** A credential computed before each connect attempt (SigV4, OAuth2 token), when the component has one. */
  readonly auth?: AuthProvider
  /** True from the moment close() is called. */
  readonly closed: boolean
  /** The fields every log line of this client carries. */
  fields(): Record<string, unknown>
  /** Logs the error and emits it to 'error' listeners, if any. */
  reportError(err: Error): void
  closedError(): ClosedError
}

export interface Waiter {
  resolve(): void
  reject(err: Error): void
}

export const noop = (): void => {}
