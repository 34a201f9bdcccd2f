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
}

export interface ApiResponse {
  status: number
  headers: Record<string, string>
  /** Empty for 204. */
  body: string
}

export type ApiHandler = (request: ApiRequest) => Promise<ApiResponse>
