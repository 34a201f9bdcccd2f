import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyResult,
  APIGatewayProxyStructuredResultV2,
} from 'aws-lambda'
import type { ApiRequest, ApiResponse } from '../../http/types.js'
import { BadRequestError } from '../http-function/failure.js'
import { stripPathPrefix, toEncodedPath } from '../http-function/path.js'
import { isRecord } from '../../core/resources/values.js'

/**
 * What reaches an HTTP-triggered Lambda: payload format 2.0 (Function URL, API Gateway HTTP
 * API) or 1.0 (API Gateway REST API, HTTP API with format 1.0).
 */
export type AwsHttpEvent = APIGatewayProxyEventV2 | APIGatewayProxyEvent
export type AwsHttpResult = APIGatewayProxyStructuredResultV2 | APIGatewayProxyResult

export interface AwsHttpTranslateOptions {
  /**
   * A path prefix to remove before routing, for a custom-domain base path mapping. The
   * API Gateway stage (`requestContext.stage`) is removed without being named here.
   */
  basePath?: string
}

export function isHttpEventV2(event: unknown): event is APIGatewayProxyEventV2 {
  if (!isRecord(event)) return false
  const context = event['requestContext']
  if (!isRecord(context)) return false
  const http = context['http']
  return isRecord(http) && typeof http['method'] === 'string'
}

export function isHttpEventV1(event: unknown): event is APIGatewayProxyEvent {
  return isRecord(event) && typeof event['httpMethod'] === 'string' && typeof event['path'] === 'string'
}

/** Payload 2.0 or 1.0 event → the platform-neutral request of the publish API. */
export function toApiRequest(event: AwsHttpEvent, options: AwsHttpTranslateOptions = {}): ApiRequest {
  if (isHttpEventV2(event)) return fromV2(event, options)
  if (isHttpEventV1(event)) return fromV1(event, options)
  throw new BadRequestError('event is neither an API Gateway payload 2.0 / Function URL event nor a 1.0 event')
}

function fromV2(event: APIGatewayProxyEventV2, options: AwsHttpTranslateOptions): ApiRequest {
  // The type says what AWS sends; the reads below still check each field, since a function can
  // be invoked directly with anything.
  const e = event as unknown as Record<string, unknown>
  const context = event.requestContext as unknown as Record<string, unknown>
  const http = context['http'] as Record<string, unknown>
  const headers = lowerCaseHeaders(e['headers'])
  // Payload 2.0 moves the Cookie header into `cookies`.
  const cookies = Array.isArray(e['cookies']) ? e['cookies'].filter((c): c is string => typeof c === 'string') : []
  if (cookies.length > 0 && headers['cookie'] === undefined) headers['cookie'] = cookies.join('; ')
  const rawPath = str(e['rawPath']) || str(http['path']) || '/'
  return {
    method: (http['method'] as string).toUpperCase(),
    path: routePath(rawPath, str(context['stage']), options),
    query: new URLSearchParams(str(e['rawQueryString'])),
    headers,
    body: decodeBody(e['body'], e['isBase64Encoded']),
  }
}

function fromV1(event: APIGatewayProxyEvent, options: AwsHttpTranslateOptions): ApiRequest {
  const e = event as unknown as Record<string, unknown>
  // multiValueHeaders holds every value; `headers` only the last one of a repeated header.
  const headers = lowerCaseHeaders(e['headers'])
  const multi = e['multiValueHeaders']
  if (isRecord(multi)) {
    for (const [name, values] of Object.entries(multi)) {
      if (!Array.isArray(values)) continue
      const strings = values.filter((v): v is string => typeof v === 'string')
      if (strings.length === 0) continue
      const key = name.toLowerCase()
      headers[key] = strings.join(key === 'cookie' ? '; ' : ', ')
    }
  }

  const query = new URLSearchParams()
  const multiQuery = e['multiValueQueryStringParameters']
  const singleQuery = e['queryStringParameters']
  if (isRecord(multiQuery) && Object.keys(multiQuery).length > 0) {
    for (const [name, values] of Object.entries(multiQuery)) {
      if (!Array.isArray(values)) continue
      for (const value of values) if (typeof value === 'string') query.append(name, value)
    }
  } else if (isRecord(singleQuery)) {
    for (const [name, value] of Object.entries(singleQuery)) {
      if (typeof value === 'string') query.append(name, value)
    }
  }

  const context = e['requestContext']
  return {
    method: event.httpMethod.toUpperCase(),
    path: routePath(event.path, isRecord(context) ? str(context['stage']) : '', options),
    query,
    headers,
    body: decodeBody(e['body'], e['isBase64Encoded']),
  }
}

function lowerCaseHeaders(value: unknown): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {}
  if (!isRecord(value)) return headers
  for (const [name, v] of Object.entries(value)) {
    if (typeof v === 'string') headers[name.toLowerCase()] = v
  }
  return headers
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

function routePath(path: string, stage: string, options: AwsHttpTranslateOptions): string {
  let p = toEncodedPath(path.startsWith('/') ? path : '/' + path)
  p = stripPathPrefix(p, stage)
  p = stripPathPrefix(p, options.basePath)
  return p
}

function decodeBody(body: unknown, isBase64Encoded: unknown): Buffer {
  if (typeof body !== 'string' || body === '') return Buffer.alloc(0)
  return isBase64Encoded === true ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8')
}

/** ApiResponse → the result shape of the event's payload format. */
export function toHttpResult(response: ApiResponse): AwsHttpResult {
  // Both formats accept {statusCode, headers, body, isBase64Encoded}; 2.0 would also take a
  // bare string, which would lose the status.
  return {
    statusCode: response.status,
    headers: { ...response.headers },
    body: response.body,
    isBase64Encoded: false,
  }
}

