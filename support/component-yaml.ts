/**
 * Dapr Component YAML builders that tests and benchmarks share.
 */
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
