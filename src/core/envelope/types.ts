/** One publish as daprd's `onPublish` receives it, already split out of the HTTP request. */
export interface PublishRequest {
  /** Component name; written to `pubsubname`. */
  pubsubName: string
  /** Publish topic; written to `topic`. */
  topic: string
  /** The request body, byte for byte. */
  data: Uint8Array
  /** The `Content-Type` header as sent; becomes `datacontenttype` verbatim (default `text/plain`). */
  contentType?: string
  /** Request metadata (`metadata.*` query parameters with the prefix removed). */
  metadata?: Record<string, string>
  /** The publishing app's ID; the envelope's `source` (default `Dapr`). */
  appId?: string
  /** W3C traceparent of the publish span; `traceid` and `traceparent` (default ""). */
  traceparent?: string
  /** W3C tracestate of the publish span (default ""). */
  tracestate?: string
  /** Clock for `time` and `expiration`; defaults to the current time. */
  now?: Date
  /** Id generator for `id`; defaults to crypto.randomUUID (UUID v4, as Dapr's uuid.New). */
  newId?: () => string
}

/** What goes on the wire for one publish. */
export interface PublishPayload {
  /** The MQTT payload: the CloudEvent as Go's json.Marshal writes it, or the raw body (a view of `data`, not a copy). */
  payload: Buffer
  /** True when `rawPayload` asked for the body to go out unwrapped. */
  raw: boolean
  /** The CloudEvent map the payload was written from (absent for raw). */
  event?: Record<string, unknown>
  /** When the event expires (TTL metadata), truncated to the second as written. */
  expiration?: Date
}
