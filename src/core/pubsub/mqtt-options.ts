/**
 * Pure mapping between the component's metadata and MQTT.js: CONNECT options, session expiry,
 * PUBLISH options and properties, and the properties of a received PUBLISH. No state, no I/O.
 */
import type { IClientOptions, IClientPublishOptions, IStore, MqttClient } from 'mqtt'
import { MqttFnError } from '../errors.js'
import type { MqttMetadata } from '../resources/types.js'
import { mqttStringProblem } from '../topics/index.js'
import type { MessageProperties, PublishOptions } from './types.js'

export type PublishPacket = Parameters<MqttClient['handleMessage']>[0]

/**
 * MQTT 5 session expiry when cleanSession is false and none is configured.
 * - consumerID configured: 0xFFFFFFFF (never expires), which is what a 3.1.1 clean=false
 *   session is, i.e. what Dapr users of cleanSession=false get today.
 * - consumerID generated per process: nobody can resume that session after the process is
 *   gone, so 300 s — long enough to resume across reconnects, short enough not to pile up
 *   dead sessions on the broker (one per cold start).
 */
const SESSION_NEVER_EXPIRES = 0xffffffff
const SESSION_EXPIRY_PER_PROCESS_S = 300

export const MAX_RECEIVE_MAXIMUM = 0xffff

const noop = (): void => {}

/** The MQTT 5 Session Expiry Interval to send, or undefined for none (3.1.1, clean session). */
export function sessionExpiry(md: MqttMetadata): number | undefined {
  if (md.protocolVersion !== 5) return undefined
  if (md.sessionExpiryInterval !== undefined) return md.sessionExpiryInterval
  if (md.cleanSession) return undefined
  return md.consumerIDConfigured ? SESSION_NEVER_EXPIRES : SESSION_EXPIRY_PER_PROCESS_S
}

/** Whether the broker keeps the session (subscriptions, queued messages) across a disconnect. */
export function isPersistentSession(md: MqttMetadata): boolean {
  if (!md.cleanSession) return true
  return (sessionExpiry(md) ?? 0) > 0
}

export interface ConnectSettings {
  /** Deliveries in the caller's hands at once: sent as MQTT 5 Receive Maximum. */
  maxUnacked: number
  /** Kept across client replacement (un-acked inbound QoS 2 PUBLISHes live only there). */
  incomingStore?: IStore
  /** Told when client certificate settings cannot be used. */
  warn?: (message: string) => void
}

/** MQTT.js connect options for the component. */
export function connectOptions(md: MqttMetadata, settings: ConnectSettings): IClientOptions {
  const u = md.url
  const o: IClientOptions = {
    protocol: u.protocol,
    host: u.host,
    hostname: u.host,
    port: u.port,
    clientId: md.consumerID,
    clean: md.cleanSession,
    keepalive: md.keepAlive,
    connectTimeout: md.connectTimeout,
    protocolVersion: md.protocolVersion,
    // We own reconnects (jittered backoff, watchdog) and resubscription.
    reconnectPeriod: 0,
    resubscribe: false,
    manualConnect: true,
    // We never publish while disconnected; a stray QoS 0 must fail, not sit in a queue.
    queueQoSZero: false,
    rejectUnauthorized: true,
  }
  // MQTT.js calls its `debug` logger about ten times per publish + PUBACK; even disabled
  // that costs CPU and about a third of the garbage per message. Without DEBUG in the
  // environment nothing can be enabled, so it gets a no-op; DEBUG=mqttjs* works as before.
  if (!process.env.DEBUG) o.log = noop
  // MQTT.js puts `path` after host:port as it is, so a query rides along (a presigned URL's).
  if (u.protocol === 'ws' || u.protocol === 'wss') o.path = u.query === undefined ? u.path : `${u.path}?${u.query}`
  if (md.alpnProtocols) o.ALPNProtocols = md.alpnProtocols
  if (u.username !== undefined) o.username = u.username
  if (u.password !== undefined) o.password = u.password
  if (md.caCert) o.ca = md.caCert
  if (md.clientCert && md.clientKey) {
    o.cert = md.clientCert
    o.key = md.clientKey
  } else if (md.clientCert || md.clientKey) {
    settings.warn?.('clientCert and clientKey must both be set; neither is used')
  }
  if (md.protocolVersion === 5) {
    const properties: NonNullable<IClientOptions['properties']> = {
      receiveMaximum: Math.min(settings.maxUnacked, MAX_RECEIVE_MAXIMUM),
    }
    const expiry = sessionExpiry(md)
    if (expiry !== undefined) properties.sessionExpiryInterval = expiry
    o.properties = properties
  }
  if (settings.incomingStore) o.incomingStore = settings.incomingStore
  return o
}

/** MQTT.js spreads publish options into a new object: these are never mutated. Index: qos + (retain ? 3 : 0). */
const PUBLISH_OPTIONS: readonly IClientPublishOptions[] = [0, 1, 2, 0, 1, 2].map((qos, i) =>
  Object.freeze({ qos: qos as 0 | 1 | 2, retain: i >= 3 }),
)

/** MQTT.js copies the options it is given, so the common ones are shared, frozen objects. */
export function publishOptions(md: MqttMetadata, opts: PublishOptions, qos: 0 | 1 | 2): IClientPublishOptions {
  const retain = opts.retain ?? md.retain
  if (
    md.protocolVersion === 5 &&
    (opts.messageExpiryInterval !== undefined ||
      opts.contentType !== undefined ||
      opts.userProperties !== undefined ||
      opts.correlationData !== undefined ||
      opts.responseTopic !== undefined)
  ) {
    const properties = publishProperties(opts)
    if (properties) return { qos, retain, properties }
  }
  return PUBLISH_OPTIONS[retain ? qos + 3 : qos]!
}

/**
 * The MQTT 5 PUBLISH properties of `opts`, or undefined when there are none to send. Throws
 * MqttFnError `ERR_PROPERTY_INVALID` for a string the broker would refuse (and drop the
 * connection over, every other publish on it with it).
 */
export function publishProperties(opts: PublishOptions): IClientPublishOptions['properties'] | undefined {
  const p: NonNullable<IClientPublishOptions['properties']> = {}
  const check = (what: string, s: string) => {
    const problem = mqttStringProblem(s)
    if (problem !== undefined) throw new MqttFnError('ERR_PROPERTY_INVALID', `MQTT 5 ${what} ${JSON.stringify(s)}: ${problem}`)
  }
  if (opts.contentType !== undefined) check('Content Type', opts.contentType)
  if (opts.responseTopic !== undefined) check('Response Topic', opts.responseTopic)
  for (const [k, v] of Object.entries(opts.userProperties ?? {})) {
    check('user property name', k)
    if (v !== undefined && v !== null) for (const one of Array.isArray(v) ? v : [v]) check(`user property ${k}`, String(one))
  }
  if (opts.messageExpiryInterval !== undefined) p.messageExpiryInterval = opts.messageExpiryInterval
  if (opts.contentType !== undefined) p.contentType = opts.contentType
  if (opts.correlationData !== undefined) p.correlationData = opts.correlationData
  if (opts.responseTopic !== undefined) p.responseTopic = opts.responseTopic
  if (opts.userProperties) {
    // mqtt-packet throws on undefined values and silently writes nothing for an empty map.
    const up: Record<string, string | string[]> = {}
    for (const [k, v] of Object.entries(opts.userProperties)) {
      if (v === undefined || v === null) continue
      up[k] = Array.isArray(v) ? v.map(String) : String(v)
    }
    if (Object.keys(up).length > 0) p.userProperties = up
  }
  return Object.keys(p).length > 0 ? p : undefined
}

/** The MQTT 5 properties a subscriber gets, or undefined (3.1.1, or none sent). */
export function incomingProperties(packet: PublishPacket): MessageProperties | undefined {
  const p = packet.properties
  if (!p) return undefined
  const out: MessageProperties = {}
  if (p.contentType !== undefined) out.contentType = p.contentType
  if (p.messageExpiryInterval !== undefined) out.messageExpiryInterval = p.messageExpiryInterval
  if (p.userProperties) out.userProperties = { ...p.userProperties }
  if (p.correlationData !== undefined) out.correlationData = p.correlationData
  if (p.responseTopic !== undefined) out.responseTopic = p.responseTopic
  return Object.keys(out).length > 0 ? out : undefined
}

/** Largest setTimeout delay Node honours (beyond it, it fires after 1 ms). */
const MAX_TIMER_MS = 0x7fffffff

/** A publish bound that always ends: NaN and negatives are 0, Infinity is the timer maximum. */
export function boundMs(ms: number): number {
  return ms >= 0 ? Math.min(ms, MAX_TIMER_MS) : 0
}

export function positiveInt(v: number | undefined, dflt: number): number {
  return v !== undefined && Number.isFinite(v) && v > 0 ? Math.floor(v) : dflt
}
