import { loadResourcesFromDocuments } from '../../src/core/resources/index.js'
import type { LoadedResources } from '../../src/core/resources/types.js'
import type { ApiRequest } from '../../src/http/types.js'
import { pubsubYaml, type PubsubYaml } from '../../support/component-yaml.js'

export function loadPubsubs(components: PubsubYaml[], appId?: string): Promise<LoadedResources> {
  return loadResourcesFromDocuments(
    [{ file: 'components.yaml', text: components.map(pubsubYaml).join('---\n') }],
    { ...(appId !== undefined ? { appId } : {}), env: {} },
  )
}

export interface RequestInit {
  method?: string
  /** Path with an optional `?query`. */
  url: string
  headers?: Record<string, string>
  body?: string | Buffer
}

/** An ApiRequest as an adapter would build it. */
export function apiRequest(init: RequestInit): ApiRequest {
  const q = init.url.indexOf('?')
  const headers: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v
  return {
    method: init.method ?? 'POST',
    path: q < 0 ? init.url : init.url.slice(0, q),
    query: new URLSearchParams(q < 0 ? '' : init.url.slice(q + 1)),
    headers,
    body: typeof init.body === 'string' ? Buffer.from(init.body) : (init.body ?? Buffer.alloc(0)),
  }
}
