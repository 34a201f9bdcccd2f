/**
 * What a function receives from the forwarder (or daprd): one CloudEvent, or Dapr's bulk
 * envelope `{ entries: [...] }`, decoded for the user's handler; and the handler's verdict
 * turned into Dapr's answer (`{ status }`, `{ statuses: [{ entryId, status }] }`).
 */
export type TopicStatus = 'SUCCESS' | 'RETRY' | 'DROP'

/** A delivered CloudEvent, `data` decoded: JSON as a value, text as a string, `data_base64` as bytes (or JSON/text per `datacontenttype`). */
export interface CloudEvent<T = unknown> {
  id: string
  source: string
  type: string
  specversion: string
  datacontenttype?: string
  topic?: string
  pubsubname?: string
  traceparent?: string
  tracestate?: string
  data: T
  [attribute: string]: unknown
}

export interface TopicLogger {
  warn(message: string, ...details: unknown[]): void
  error(message: string, ...details: unknown[]): void
}

/** An event that can never be handled: it is answered DROP, with this reason logged. */
export class MalformedDeliveryError extends Error {
  override name = 'MalformedDeliveryError'
}

const REQUIRED = ['id', 'source', 'type', 'specversion'] as const

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function baseType(contentType: unknown): string {
  return typeof contentType === 'string' ? (contentType.split(';')[0] ?? '').trim().toLowerCase() : ''
}

function isJsonType(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json')
}

/** The event with `data` decoded; throws MalformedDeliveryError naming what is wrong. */
export function decodeCloudEvent<T = unknown>(value: unknown): CloudEvent<T> {
  let event = value
  if (typeof event === 'string' || event instanceof Uint8Array) {
    const text = typeof event === 'string' ? event : Buffer.from(event).toString('utf8')
    try {
      event = JSON.parse(text) as unknown
    } catch {
      throw new MalformedDeliveryError('the event is not JSON')
    }
  }
  if (!isRecord(event)) throw new MalformedDeliveryError('the event is not a JSON object')
  for (const attribute of REQUIRED) {
    if (typeof event[attribute] !== 'string') throw new MalformedDeliveryError(`the CloudEvent has no string \`${attribute}\``)
  }
  const decoded: Record<string, unknown> = { ...event }
  if (typeof event['data_base64'] === 'string') {
    const bytes = Buffer.from(event['data_base64'], 'base64')
    const type = baseType(event['datacontenttype'])
    delete decoded['data_base64']
    if (isJsonType(type)) {
      try {
        decoded['data'] = JSON.parse(bytes.toString('utf8')) as unknown
      } catch {
        throw new MalformedDeliveryError(`data_base64 does not hold the JSON its datacontenttype ${JSON.stringify(event['datacontenttype'])} says`)
      }
    } else if (type.startsWith('text/')) {
      decoded['data'] = bytes.toString('utf8')
    } else {
      decoded['data'] = bytes
    }
  } else if (event['data_base64'] !== undefined) {
    throw new MalformedDeliveryError('data_base64 is not a string')
  }
  return decoded as CloudEvent<T>
}

export type TopicFunction<T, C> = (event: CloudEvent<T>, context: C) => TopicStatus | void | Promise<TopicStatus | void>

const STATUSES = new Set<string>(['SUCCESS', 'RETRY', 'DROP'])

/** Runs `fn` on one event: nothing returned is SUCCESS, a throw is RETRY, a malformed event is DROP. */
export async function handleOne<T, C>(fn: TopicFunction<T, C>, raw: unknown, context: C, logger: TopicLogger): Promise<TopicStatus> {
  let event: CloudEvent<T>
  try {
    event = decodeCloudEvent<T>(raw)
  } catch (err) {
    if (!(err instanceof MalformedDeliveryError)) throw err
    logger.warn(`mqtt-fn: dropping a malformed delivery: ${err.message}`)
    return 'DROP'
  }
  try {
    const status = await fn(event, context)
    if (status === undefined || status === null) return 'SUCCESS'
    if (typeof status === 'string' && STATUSES.has(status)) return status
    logger.error(`mqtt-fn: the handler returned ${JSON.stringify(status)} for event ${event.id}, which is not SUCCESS, RETRY or DROP: RETRY`)
    return 'RETRY'
  } catch (err) {
    logger.error(`mqtt-fn: the handler failed on event ${event.id}: RETRY`, err)
    return 'RETRY'
  }
}

export function isBulkEnvelope(value: unknown): value is { entries: unknown[] } {
  return isRecord(value) && Array.isArray(value['entries']) && !('specversion' in value)
}

/**
 * Dapr's bulk envelope: `fn` per entry, the entries one after another (as an app answering
 * per entry would), each answered by its own status. An entry without an id cannot be
 * answered and is left out (the sender retries it); a malformed event is DROP.
 */
export async function handleBulk<T, C>(fn: TopicFunction<T, C>, envelope: { entries: unknown[] }, context: C, logger: TopicLogger): Promise<{ statuses: { entryId: string; status: TopicStatus }[] }> {
  const statuses: { entryId: string; status: TopicStatus }[] = []
  for (const entry of envelope.entries) {
    const entryId = isRecord(entry) && typeof entry['entryId'] === 'string' ? entry['entryId'] : undefined
    if (entryId === undefined || entryId === '') {
      logger.warn('mqtt-fn: a bulk entry has no entryId; it cannot be answered')
      continue
    }
    const event = (entry as Record<string, unknown>)['event']
    const contentType = (entry as Record<string, unknown>)['contentType']
    // A raw entry's event is the payload in base64 (the forwarder's and daprd's bulk rawPayload form).
    const raw =
      typeof event === 'string' && baseType(contentType) === 'application/octet-stream'
        ? { id: entryId, source: 'Dapr', type: 'com.dapr.event.sent', specversion: '1.0', datacontenttype: 'application/octet-stream', data_base64: event }
        : event
    statuses.push({ entryId, status: await handleOne(fn, raw, context, logger) })
  }
  return { statuses }
}
