/**
 * Dapr's scoping rules, written once for every layer: a resource's `scopes` (`inScope`) and
 * the topic scoping keys of a pubsub component (`allowedTopics`, `protectedTopics`,
 * `publishingScopes`; parsed here as dapr/pkg/scopes/scopes.go does, applied by
 * `isPublishAllowed`). daprd removes every space, then splits apps on `;`, app from topics on
 * `=` and topics on `,`.
 */
import type { PubsubComponent } from './types.js'


/** `allowedTopics` / `protectedTopics`: a comma list. Empty entries are dropped. */
export function parseTopicList(value: string): string[] {
  return unique(
    value
      .replaceAll(' ', '')
      .split(',')
      .filter((t) => t !== ''),
  )
}

/**
 * `publishingScopes` / `subscriptionScopes`: `app1=t1,t2;app2=t3` → app id → topics. An entry
 * without `=` is skipped, as daprd does; it is returned in `skipped` so the caller can warn.
 */
export function parseScopes(value: string): { scopes: Record<string, string[]>; skipped: number } {
  const scopes: Record<string, string[]> = Object.create(null) as Record<string, string[]>
  let skipped = 0
  for (const entry of value.replaceAll(' ', '').split(';')) {
    if (entry === '') continue
    const at = entry.indexOf('=')
    if (at < 0) {
      skipped++
      continue
    }
    const app = entry.slice(0, at)
    const topics = entry
      .slice(at + 1)
      .split(',')
      .filter((t) => t !== '')
    scopes[app] = unique([...(scopes[app] ?? []), ...topics])
  }
  return { scopes: { ...scopes }, skipped }
}

/**
 * Dapr's resource `scopes`: empty means every app; otherwise the app id must be listed. A
 * Component scoped to other apps is not loaded for this one (the publish API, the relays); a
 * Resiliency scoped to other apps is not applied (the forwarder).
 */
export function inScope(scopes: readonly string[], appId: string): boolean {
  return scopes.length === 0 || scopes.includes(appId)
}

/**
 * dapr/dapr `pkg/runtime/pubsub/adapter.go` `IsOperationAllowed`, with the publishing scopes of
 * this app id (`scopes.GetScopedTopics(PublishingScopes, appID, ...)`):
 *
 * 1. `allowedTopics` set: the topic must be listed.
 * 2. The topic is in `protectedTopics`, or this app has publishing scopes: the topic must be
 *    in this app's scopes.
 *
 * daprd turns `app1=` into the scope list `[""]` (non-empty, so app1 may publish nothing); the
 * resource loader keeps `app1` with no topics, so an app id present in `publishingScopes`
 * counts as scoped even with an empty list.
 */
export function isPublishAllowed(component: Pick<PubsubComponent, 'runtime'>, topic: string, appId: string): boolean {
  const { allowedTopics, protectedTopics, publishingScopes } = component.runtime
  if (allowedTopics && allowedTopics.length > 0 && !allowedTopics.includes(topic)) return false
  const isProtected = protectedTopics !== undefined && protectedTopics.includes(topic)
  const scoped = publishingScopes && Object.hasOwn(publishingScopes, appId) ? publishingScopes[appId] : undefined
  if (!isProtected && scoped === undefined) return true
  return scoped !== undefined && scoped.includes(topic)
}

function unique(values: string[]): string[] {
  return [...new Set(values)]
}
