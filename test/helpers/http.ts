import { loadResourcesFromDocuments } from '../../src/core/resources/index.js'
import type { LoadedResources } from '../../src/core/resources/types.js'
import type { ApiRequest } from '../../src/http/types.js'

export interface PubsubYaml {
  name: string
  url: string
  /** Extra `spec.metadata` entries (qos, retain, allowedTopics, publishingScopes...). */
  metadata?: Record<string, string>
  scopes?: string[]
}

/** Dapr Component YAML for a `pubsub.mqtt` component. */
export function pubsubYaml(p: PubsubYaml): string {
  const meta = { url: p.url, publishTimeout: '2000', connectTimeout: '2000', ...p.metadata }
  const lines = [
    'apiVersion: dapr.io/v1alpha1',
    'kind: Component',
    'metadata:',
    `  name: ${JSON.stringify(p.name)}`,
    'spec:',
    '  type: pubsub.mqtt',
    '  version: v1',
    '  metadata:',
    ...Object.entries(meta).flatMap(([k, v]) => [`    - name: ${k}`, `      value: ${JSON.stringify(v)}`]),
  ]
  if (p.scopes) lines.push('scopes:', ...p.scopes.map((s) => `  - ${JSON.stringify(s)}`))
  return lines.join('\n') + '\n'
}

/** Real resources, loaded by the real loader from YAML held in memory. */
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
