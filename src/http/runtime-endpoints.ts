/**
 * The runtime endpoints the publish API answers beside publishing, in daprd's shapes: healthz
 * and metadata.
 */
import { goMarshal, goQuote } from '../core/envelope/index.js'
import type { PubsubComponent } from '../core/resources/types.js'
import { emptyResponse, jsonResponse } from './responses.js'
import type { ApiRequest, ApiResponse } from './types.js'

/** daprd `onGetHealthz`: `?appid=` that is not this app's id is 500 ERR_HEALTH_APPID_NOT_MATCH. */
export function healthzResponse(request: ApiRequest, appId: string): ApiResponse {
  const appid = request.query.get('appid')
  if (appid !== null && appid !== appId) {
    return jsonResponse(500, '{"errorCode":"ERR_HEALTH_APPID_NOT_MATCH","message":"dapr app-id does not match"}')
  }
  return emptyResponse()
}

/**
 * daprd `onGetMetadata` (pkg/api/http/metadata.go): field order of its `metadataResponse`.
 * Lists stay present when empty (daprd omits them) so clients that iterate them need no guard.
 */
export function metadataResponse(components: readonly PubsubComponent[], appId: string, runtimeVersion: string): ApiResponse {
  const listed = components.map((c) => `{"name":${goQuote(c.name)},"type":${goQuote(c.type)},"version":"v1","capabilities":["SUBSCRIBE_WILDCARDS"]}`)
  const id = appId === '' ? '' : `"id":${goQuote(appId)},`
  const body =
    `{${id}"runtimeVersion":${goQuote(runtimeVersion)},"enabledFeatures":[],"actors":[],` +
    `"components":[${listed.join(',')}],` +
    `"extended":${goMarshal({ daprRuntimeVersion: runtimeVersion, mqttfn: 'publish-api' })},` +
    `"subscriptions":[],"httpEndpoints":[],"actorRuntime":{"runtimeStatus":"DISABLED","hostReady":false}}`
  return jsonResponse(200, body)
}
