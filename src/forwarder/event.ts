/**
 * Ingress steps 1-5 of daprd's pipeline (pkg/runtime/subscription/subscription.go) for one
 * MQTT message: the event to route on, the bytes to deliver and the headers to send.
 */
import { randomBytes } from 'node:crypto'
import { decodeEvent, fromBinaryMode, fromRawPayload, goMarshal, hasExpired, isStructuredContentType } from '../core/envelope/index.js'
import type { IncomingMessage } from '../core/pubsub/types.js'
import type { ForwardSubscription } from './types.js'

export type Prepared =
  | {
      ok: true
      /** The CloudEvent map (numbers as float64, as daprd's json.Unmarshal gives them). */
      event: Record<string, unknown>
      /** What the target receives: the payload unchanged, or the generated raw envelope. */
      body: Buffer
      expired: boolean
    }
  | { ok: false; reason: string }

export function prepare(subscription: ForwardSubscription, message: IncomingMessage, now = new Date()): Prepared {
  if (subscription.rawPayload) {
    const event = fromRawPayload(message.payload, message.topic, subscription.pubsubname)
    return { ok: true, event, body: Buffer.from(goMarshal(event), 'utf8'), expired: false }
  }
  if (subscription.binaryMode && !isStructuredContentType(message.properties?.contentType)) {
    const binary = fromBinaryMode(message.payload, message.properties, message.topic, subscription.pubsubname)
    if (!binary.ok) return binary
    return { ok: true, event: binary.event, body: Buffer.from(goMarshal(binary.event), 'utf8'), expired: hasExpired(binary.event, now) }
  }
  let event: Record<string, unknown>
  try {
    event = decodeEvent(message.payload)
  } catch (error) {
    return { ok: false, reason: (error as Error).message }
  }
  return { ok: true, event, body: message.payload, expired: hasExpired(event, now) }
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/** A W3C traceparent that a tracer would accept: version not ff, ids not all zero. */
export function isValidTraceparent(value: unknown): value is string {
  if (typeof value !== 'string') return false
  const m = TRACEPARENT.exec(value)
  if (!m) return false
  return m[1] !== 'ff' && !/^0+$/.test(m[2] ?? '') && !/^0+$/.test(m[3] ?? '')
}

/**
 * Random ids come from a pool refilled 4 KiB at a time: two randomBytes calls per message were
 * 5 % of the forwarder's CPU. The ids stay cryptographically random; an all-zero id (invalid
 * in W3C trace context) is astronomically unlikely and is redrawn.
 */
const POOL_BYTES = 4096
let pool = Buffer.alloc(0)
let poolOffset = POOL_BYTES

function randomHex(bytes: number): string {
  for (;;) {
    if (poolOffset + bytes > pool.length) {
      pool = randomBytes(POOL_BYTES)
      poolOffset = 0
    }
    const hex = pool.toString('hex', poolOffset, poolOffset + bytes)
    poolOffset += bytes
    if (!/^0+$/.test(hex)) return hex
  }
}

const HEADER_VALUE = /^[\t\x20-\x7e]*$/

export function newTraceparent(): string {
  return `00-${randomHex(16)}-${randomHex(8)}-01`
}

/** The message metadata daprd turns into headers, plus the trace context of the event. */
export function deliveryHeaders(subscription: ForwardSubscription, message: IncomingMessage, event: Record<string, unknown>): Record<string, string> {
  const headers: Record<string, string> = {
    pubsubname: subscription.pubsubname,
    retained: message.retained ? 'true' : 'false',
  }
  const fromEvent = event.traceparent !== undefined && event.traceparent !== '' ? event.traceparent : event.traceid
  headers.traceparent = isValidTraceparent(fromEvent) ? fromEvent : newTraceparent()
  // Only a value HTTP can carry: the event comes from any publisher.
  if (typeof event.tracestate === 'string' && event.tracestate !== '' && HEADER_VALUE.test(event.tracestate)) headers.tracestate = event.tracestate
  return headers
}
