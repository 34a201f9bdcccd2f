import type { HttpRequest, HttpResponseInit } from '@azure/functions'
import type { ApiRequest, ApiResponse } from '../../http/types.js'
import { BadRequestError } from '../http-function/failure.js'
import { stripPathPrefix, toEncodedPath } from '../http-function/path.js'

export interface AzureHttpTranslateOptions {
  /**
   * A path prefix to remove before routing. The app's host.json sets `routePrefix` to "" so
   * that paths are Dapr's; an app that keeps the default `api` prefix passes `api` here.
   */
  basePath?: string
}

/**
 * Azure's HttpRequest (undici-based, URL still percent-encoded) → the platform-neutral request.
 * Reads the body; a body the host cannot hand over is a 400.
 */
export async function toApiRequest(request: HttpRequest, options: AzureHttpTranslateOptions = {}): Promise<ApiRequest> {
  let url: URL
  try {
    url = new URL(request.url)
  } catch {
    throw new BadRequestError('the request URL cannot be parsed')
  }
  const headers: Record<string, string | undefined> = {}
  request.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value
  })
  let body: Buffer
  try {
    body = Buffer.from(await request.arrayBuffer())
  } catch {
    throw new BadRequestError('the request body cannot be read')
  }
  return {
    method: request.method.toUpperCase(),
    path: stripPathPrefix(toEncodedPath(url.pathname), options.basePath),
    query: new URLSearchParams(url.search),
    headers,
    body,
  }
}

export function toHttpResponseInit(response: ApiResponse): HttpResponseInit {
  const init: HttpResponseInit = { status: response.status, headers: { ...response.headers } }
  if (response.body !== '') init.body = response.body
  return init
}
