import { describe, expect, it } from 'vitest'
import { docs, pubsubYaml, storeYaml, subscriptionYaml } from './builders.js'
import { URL_ENTRY, loadError, loadText } from './helpers.js'

const PUBSUB = pubsubYaml([URL_ENTRY])

async function loadSubscription(spec: Record<string, unknown>, options: { apiVersion?: string; scopes?: string[] } = {}) {
  const loaded = await loadText(docs(PUBSUB, subscriptionYaml(spec, options)))
  const [subscription] = loaded.subscriptions
  if (!subscription) throw new Error('no subscription loaded')
  return subscription
}

describe('Subscription v2alpha1', () => {
  it('puts rules in order, then default as a last rule with an empty match', async () => {
    const subscription = await loadSubscription({
      pubsubname: 'pubsub',
      topic: 'orders/#',
      routes: {
        rules: [
          { match: 'event.type == "a"', path: '/a' },
          { match: 'event.type == "b"', path: '/b' },
        ],
        default: '/orders',
      },
      deadLetterTopic: 'orders-dead',
    })
    expect(subscription).toEqual({
      file: 'res/test.yaml',
      document: 2,
      kind: 'Subscription',
      name: 'orders',
      apiVersion: 'dapr.io/v2alpha1',
      pubsubname: 'pubsub',
      topic: 'orders/#',
      rules: [
        { match: 'event.type == "a"', path: '/a' },
        { match: 'event.type == "b"', path: '/b' },
        { match: '', path: '/orders' },
      ],
      deadLetterTopic: 'orders-dead',
      metadata: {},
      scopes: [],
    })
  })

  it('accepts only a default, or only rules', async () => {
    expect((await loadSubscription({ pubsubname: 'pubsub', topic: 't', routes: { default: '/d' } })).rules).toEqual([{ match: '', path: '/d' }])
    expect((await loadSubscription({ pubsubname: 'pubsub', topic: 't', routes: { rules: [{ match: 'true', path: '/r' }] } })).rules).toEqual([
      { match: 'true', path: '/r' },
    ])
  })

  it('stringifies metadata values and reads bulkSubscribe with its defaults', async () => {
    const subscription = await loadSubscription(
      { pubsubname: 'pubsub', topic: 't', routes: { default: '/d' }, metadata: { rawPayload: true, n: 5 }, bulkSubscribe: { enabled: true } },
      { scopes: ['app1'] },
    )
    expect(subscription.metadata).toEqual({ rawPayload: 'true', n: '5' })
    expect(subscription.bulkSubscribe).toEqual({ enabled: true, maxMessagesCount: 100, maxAwaitDurationMs: 1000 })
    expect(subscription.scopes).toEqual(['app1'])
  })

  it('reads explicit bulk settings and rejects bad ones', async () => {
    const ok = await loadSubscription({
      pubsubname: 'pubsub',
      topic: 't',
      routes: { default: '/d' },
      bulkSubscribe: { enabled: 'true', maxMessagesCount: 10, maxAwaitDurationMs: '50' },
    })
    expect(ok.bulkSubscribe).toEqual({ enabled: true, maxMessagesCount: 10, maxAwaitDurationMs: 50 })
    const error = await loadError(
      docs(PUBSUB, subscriptionYaml({ pubsubname: 'pubsub', topic: 't', routes: { default: '/d' }, bulkSubscribe: { maxMessagesCount: 0 } })),
    )
    expect(error.message).toContain('spec.bulkSubscribe.maxMessagesCount: must be a whole number from 1 to 2147483647 (got "0")')
  })

  it('rejects a subscription with neither rules nor default', async () => {
    const error = await loadError(docs(PUBSUB, subscriptionYaml({ pubsubname: 'pubsub', topic: 't', routes: {} })))
    expect(error.message).toContain('(Subscription/orders): spec.routes: has neither rules nor default')
  })

  it('rejects a subscription without routes, and spec.route in v2alpha1', async () => {
    const none = await loadError(docs(PUBSUB, subscriptionYaml({ pubsubname: 'pubsub', topic: 't' })))
    expect(none.message).toContain('spec.routes: is required')
    const v1Style = await loadError(docs(PUBSUB, subscriptionYaml({ pubsubname: 'pubsub', topic: 't', route: '/x' })))
    expect(v1Style.message).toContain('spec.route: belongs to dapr.io/v1alpha1; in v2alpha1 write spec.routes.default')
  })

  it('requires a path in every rule', async () => {
    const error = await loadError(docs(PUBSUB, subscriptionYaml({ pubsubname: 'pubsub', topic: 't', routes: { rules: [{ match: 'true' }], default: '/d' } })))
    expect(error.message).toContain('spec.routes.rules[0].path: is required')
  })
})

describe('Subscription v1alpha1', () => {
  it('turns route into one rule with an empty match', async () => {
    const subscription = await loadSubscription({ pubsubname: 'pubsub', topic: 't', route: '/orders' }, { apiVersion: 'dapr.io/v1alpha1' })
    expect(subscription.apiVersion).toBe('dapr.io/v1alpha1')
    expect(subscription.rules).toEqual([{ match: '', path: '/orders' }])
  })

  it('requires route', async () => {
    const error = await loadError(docs(PUBSUB, subscriptionYaml({ pubsubname: 'pubsub', topic: 't' }, { apiVersion: 'dapr.io/v1alpha1' })))
    expect(error.message).toContain('spec.route: is required')
  })
})

describe('Subscription checks', () => {
  it('requires pubsubname and topic', async () => {
    const error = await loadError(docs(PUBSUB, subscriptionYaml({ topic: '', routes: { default: '/d' } })))
    expect(error.problems.map((p) => p.field)).toEqual(['spec.pubsubname', 'spec.topic'])
  })

  it('rejects a pubsubname that names no pubsub component, naming spec.pubsubname', async () => {
    const error = await loadError(docs(PUBSUB, subscriptionYaml({ pubsubname: 'other', topic: 't', routes: { default: '/d' } })))
    expect(error.message).toBe(
      'res/test.yaml: document 2 (Subscription/orders): spec.pubsubname: no pubsub component named "other" in the resources (pubsub components: pubsub)',
    )
  })

  it('ignores, with a warning, a subscription to a pubsub of another type', async () => {
    const loaded = await loadText(
      docs(PUBSUB, storeYaml('redis', 'pubsub.redis', []), subscriptionYaml({ pubsubname: 'redis', topic: 't', routes: { default: '/d' } })),
    )
    expect(loaded.subscriptions).toEqual([])
    expect(loaded.others.map((o) => `${o.kind}/${o.name}`)).toEqual(['Component/redis', 'Subscription/orders'])
    expect(loaded.warnings.join('\n')).toContain('"redis" is a pubsub.redis component, which mqtt-fn does not run; subscription ignored')
  })

  it('rejects an unknown apiVersion', async () => {
    const error = await loadError(docs(PUBSUB, subscriptionYaml({ pubsubname: 'pubsub', topic: 't', routes: { default: '/d' } }, { apiVersion: 'dapr.io/v3' })))
    expect(error.message).toContain('apiVersion: must be dapr.io/v2alpha1 or dapr.io/v1alpha1 (got "dapr.io/v3")')
  })
})
