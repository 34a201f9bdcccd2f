/**
 * The Dapr publish API is implemented once against these platform-neutral shapes; the AWS,
 * Azure and local HTTP adapters only translate to and from them.
 */
export interface ApiRequest {
  method: string
  /** Path as received, still percent-encoded (e.g. `/v1.0/publish/pubsub/orders%2Fnew`). */
  path: string
  /** Query parameters, decoded; a repeated key keeps its values in order. */
  query: URLSearchParams
  /** Header names lower-cased. */
  headers: Record<string, string | undefined>
  body: Buffer
  /**
   * Bulk publish entries already decoded, each event as bytes: set by in-process callers whose
   * wire carries bytes (the gRPC API's BulkPublishRequestEntry); `body` is then ignored. HTTP
   * adapters never set it.
   */
  bulkEntries?: readonly DecodedBulkEntry[]
}

export interface DecodedBulkEntry {
  entryId: string
  event: Buffer
  contentType: string
  /** Null: no metadata map (request metadata is not merged in, as daprd does for a nil map). */
  metadata: Record<string, string> | null
}

export interface ApiResponse {
  status: number
  headers: Record<string, string>
  /** Empty for 204. */
  body: string
}

export type ApiHandler = (request: ApiRequest) => Promise<ApiResponse>
