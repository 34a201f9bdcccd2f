/**
 * The publish API's request for callers in this process (the functions API, the gRPC API): the
 * path, query and headers an HTTP client such as the Dapr SDK would send, so that the API
 * applies exactly its HTTP rules. Names and topic levels are escaped so they arrive verbatim.
 */
import type { ApiRequest, DecodedBulkEntry } from './types.js'

export interface InProcessPublish {
  pubsubName: string
  topic: string
  /** Request metadata (`metadata.<key>` query parameters); undefined values are left out, as the SDK does. */
  metadata?: Record<string, unknown> | undefined
  body?: Buffer
  contentType?: string | undefined
  /** Further headers (`traceparent`, `dapr-api-token`), lower-case names. */
  headers?: Record<string, string | undefined>
  /** A bulk publish: JSON entries in `body`, or entries already decoded. */
  bulk?: boolean
  bulkEntries?: readonly DecodedBulkEntry[]
}

export function inProcessPublishRequest(p: InProcessPublish): ApiRequest {
  const query = new URLSearchParams()
  for (const [key, value] of Object.entries(p.metadata ?? {})) {
    if (value !== undefined) query.set(`metadata.${key}`, String(value))
  }
  const headers: Record<string, string | undefined> = { ...(p.headers ?? {}) }
  if (p.contentType !== undefined) headers['content-type'] = p.contentType
  const prefix = p.bulk || p.bulkEntries !== undefined ? '/v1.0-alpha1/publish/bulk' : '/v1.0/publish'
  const request: ApiRequest = {
    method: 'POST',
    path: `${prefix}/${encodeURIComponent(String(p.pubsubName))}/${topicPath(p.topic)}`,
    query,
    headers,
    body: p.body ?? Buffer.alloc(0),
  }
  if (p.bulkEntries !== undefined) request.bulkEntries = p.bulkEntries
  return request
}

/** The topic's levels escaped one by one: `/` stays a level separator, everything else arrives verbatim. */
function topicPath(topic: string): string {
  return String(topic).split('/').map(encodeURIComponent).join('/')
}
