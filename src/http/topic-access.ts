import type { PubsubComponent } from '../core/resources/types.js'

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
export function isPublishAllowed(component: PubsubComponent, topic: string, appId: string): boolean {
  const { allowedTopics, protectedTopics, publishingScopes } = component.runtime
  if (allowedTopics && allowedTopics.length > 0 && !allowedTopics.includes(topic)) return false
  const isProtected = protectedTopics !== undefined && protectedTopics.includes(topic)
  const scoped = publishingScopes && Object.hasOwn(publishingScopes, appId) ? publishingScopes[appId] : undefined
  if (!isProtected && scoped === undefined) return true
  return scoped !== undefined && scoped.includes(topic)
}

/** Dapr's component `scopes`: a component scoped to other apps is not loaded for this one. */
export function componentVisible(component: PubsubComponent, appId: string): boolean {
  return component.scopes.length === 0 || component.scopes.includes(appId)
}
