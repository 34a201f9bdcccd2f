import { describe, expect, it } from 'vitest'
import { isPublishAllowed } from '../../../../src/core/resources/scopes.js'
import type { PubsubComponent } from '../../../../src/core/resources/types.js'

function component(runtime: PubsubComponent['runtime']): Pick<PubsubComponent, 'runtime'> {
  return { runtime }
}

// inScope and the parsers are in small-parts.test.ts.
// The cases of dapr/dapr pkg/runtime/pubsub/adapter_test.go TestIsOperationAllowed, with the
// scoped topics expressed as this app's publishingScopes.
describe('isPublishAllowed (daprd IsOperationAllowed)', () => {
  it.each([
    ['protected, no scopes: denied', 'topic1', { protectedTopics: ['topic1'] }, false],
    ['allowed, no scopes: allowed', 'topic1', { allowedTopics: ['topic1'] }, true],
    ['not in allowed: denied', 'topic2', { allowedTopics: ['topic1'] }, false],
    ['other topic protected: allowed', 'topic2', { protectedTopics: ['topic1'] }, true],
    ['allowed and scoped: allowed', 'topic1', { allowedTopics: ['topic1'], publishingScopes: { app: ['topic1'] } }, true],
    ['protected and scoped: allowed', 'topic1', { protectedTopics: ['topic1'], publishingScopes: { app: ['topic1'] } }, true],
    ['allowed, scoped to another topic: denied', 'topic1', { allowedTopics: ['topic1'], publishingScopes: { app: ['topic2'] } }, false],
    ['protected, scoped to another topic: denied', 'topic1', { protectedTopics: ['topic1'], publishingScopes: { app: ['topic2'] } }, false],
    ['A and B allowed, A scoped: A', 'A', { allowedTopics: ['A', 'B'], publishingScopes: { app: ['A'] } }, true],
    ['A and B allowed, A scoped: not B', 'B', { allowedTopics: ['A', 'B'], publishingScopes: { app: ['A'] } }, false],
    ['scopes of another app only: allowed', 't', { publishingScopes: { other: ['x'] } }, true],
    ['app= (empty scope list, daprd [""]): denied', 't', { publishingScopes: { app: [] } }, false],
    ['empty allowedTopics list: no restriction', 't', { allowedTopics: [] }, true],
  ] as [string, string, PubsubComponent['runtime'], boolean][])('%s', (_name, topic, runtime, expected) => {
    expect(isPublishAllowed(component(runtime), topic, 'app')).toBe(expected)
  })

  it('does not look up inherited keys of publishingScopes', () => {
    expect(isPublishAllowed(component({ publishingScopes: {} }), 't', 'constructor')).toBe(true)
    expect(isPublishAllowed(component({ publishingScopes: {} }), 't', '__proto__')).toBe(true)
  })
})
