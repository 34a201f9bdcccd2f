import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MqttFnError, ResourceError } from '../../../src/core/errors.js'
import type { PubsubComponent, SubscriptionResource } from '../../../src/core/resources/types.js'
import { parseAppSubscriptions, unwrapMetadataValue } from '../../../src/forwarder/app-subscriptions.js'
import { compileSubscriptions, specFromResource, type SubscriptionSpec } from '../../../src/forwarder/subscriptions.js'
import { TargetRegistry } from '../../../src/forwarder/targets/index.js'
import { appRouteUrl, cleanPath } from '../../../src/forwarder/targets/http.js'
import { mqttMetadata } from '../../helpers/factories.js'

const pubsub = (name = 'mqtt', extra: Partial<PubsubComponent> = {}): PubsubComponent => ({
  kind: 'Component',
  name,
  type: 'pubsub.mqtt3',
  metadata: mqttMetadata({ qos: 1, cleanSession: false }),
  runtime: {},
  scopes: [],
  raw: {},
  file: 'pubsub.yaml',
  document: 1,
  ...extra,
})

const resource = (extra: Partial<SubscriptionResource> = {}): SubscriptionResource => ({
  kind: 'Subscription',
  name: 'orders',
  apiVersion: 'dapr.io/v2alpha1',
  pubsubname: 'mqtt',
  topic: 'orders/#',
  rules: [{ match: '', path: '/orders' }],
  metadata: {},
  scopes: [],
  file: 'subs.yaml',
  document: 2,
  ...extra,
})

function compile(specs: SubscriptionSpec[], opts: { appId?: string; appUrl?: string; env?: Record<string, string>; pubsubs?: PubsubComponent[] } = {}) {
  const warnings: string[] = []
  const result = compileSubscriptions(specs, {
    resources: { pubsubs: opts.pubsubs ?? [pubsub()] },
    targets: new TargetRegistry({ appUrl: opts.appUrl ?? 'http://app:3000', env: opts.env ?? {} }),
    ...(opts.appId ? { appId: opts.appId } : {}),
    warn: (w) => warnings.push(w),
  })
  return { result, warnings }
}

const problemOf = (fn: () => unknown): string => {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ResourceError)
    return (error as Error).message
  }
  throw new Error('no error')
}

describe('compileSubscriptions', () => {
  it('resolves each route form to a target', () => {
    const { result } = compile([
      specFromResource(
        resource({
          rules: [
            { match: 'event.type == "a"', path: 'https://fn.example/a' },
            { match: 'event.type == "b"', path: 'lambda:arn:aws:lambda:eu-west-1:123456789012:function:b' },
            { match: 'event.type == "c"', path: 'azqueue:orders-c' },
            { match: '', path: 'orders/../in//x' },
          ],
        }),
      ),
    ], { env: { AzureWebJobsStorage: 'UseDevelopmentStorage=true' } })
    expect(result[0]!.rules.map((r) => `${r.target.kind} ${r.target.name}`)).toEqual([
      'http https://fn.example/a',
      'lambda arn:aws:lambda:eu-west-1:123456789012:function:b',
      'azqueue orders-c',
      'http http://app:3000/in/x',
    ])
  })

  it('collects every problem with file, document and field', () => {
    const message = problemOf(() =>
      compile([
        specFromResource(resource({ rules: [{ match: 'event.(', path: '/a' }, { match: '', path: 'gopher://x' }] })),
        specFromResource(resource({ name: 'v1', apiVersion: 'dapr.io/v1alpha1', document: 3, rules: [{ match: '', path: 'azqueue:orders' }] })),
        specFromResource(resource({ name: 'raw', document: 4, topic: 'a/#/b', metadata: { rawPayload: 'yes' } })),
        specFromResource(resource({ name: 'dl', document: 5, deadLetterTopic: 'dead/+' })),
      ]),
    )
    expect(message).toContain('subs.yaml: document 2 (Subscription/orders): spec.routes.rules[0].match: invalid CEL expression "event.("')
    expect(message).toContain('subs.yaml: document 2 (Subscription/orders): spec.routes.default: unknown target scheme "gopher:"')
    expect(message).toContain('subs.yaml: document 3 (Subscription/v1): spec.route: route "azqueue:orders" needs AZURE_STORAGE_CONNECTION_STRING or AzureWebJobsStorage')
    expect(message).toContain('subs.yaml: document 4 (Subscription/raw): spec.topic: topic filter "a/#/b"')
    expect(message).toContain('subs.yaml: document 4 (Subscription/raw): spec.metadata.rawPayload: expected true or false, got "yes"')
    expect(message).toContain('subs.yaml: document 5 (Subscription/dl): spec.deadLetterTopic: dead-letter topic "dead/+": ')
  })

  it('refuses a subscription to a pubsub that does not exist', () => {
    expect(problemOf(() => compile([specFromResource(resource({ pubsubname: 'kafka' }))]))).toContain(
      'spec.pubsubname: pubsub "kafka" not found (have: mqtt)',
    )
  })

  it('applies subscription scopes and component subscriptionScopes / allowedTopics', () => {
    const scoped = specFromResource(resource({ scopes: ['billing'] }))
    expect(compile([scoped], { appId: 'billing' }).result).toHaveLength(1)
    const skipped = compile([scoped], { appId: 'shipping' })
    expect(skipped.result).toHaveLength(0)
    expect(skipped.warnings[0]).toContain('scoped to billing')
    const limited = pubsub('mqtt', { runtime: { subscriptionScopes: { shipping: ['parcels'] }, allowedTopics: ['orders/#', 'parcels'] } })
    expect(compile([specFromResource(resource())], { appId: 'shipping', pubsubs: [limited] }).result).toHaveLength(0)
    expect(compile([specFromResource(resource())], { appId: 'billing', pubsubs: [limited] }).result).toHaveLength(1)
  })

  it('reads rawPayload with Go ParseBool, ordered with IsTruthy, bulk defaults', () => {
    const { result } = compile([
      specFromResource(resource({ metadata: { RawPayload: 'True', ordered: 'yes' }, bulkSubscribe: { enabled: true, maxMessagesCount: 0, maxAwaitDurationMs: 0 } })),
    ])
    expect(result[0]).toMatchObject({ rawPayload: true, ordered: true, bulk: { maxMessagesCount: 100, maxAwaitDurationMs: 1000 } })
  })

  it('keeps the first of two subscriptions to the same topic', () => {
    const { result, warnings } = compile([specFromResource(resource()), specFromResource(resource({ name: 'again', document: 9 }))])
    expect(result.map((s) => s.id)).toEqual(['orders'])
    expect(warnings[0]).toContain('already subscribed')
  })

  it('refuses bulk delivery to a queue target', () => {
    const spec = specFromResource(resource({ rules: [{ match: '', path: 'azqueue:orders' }], bulkSubscribe: { enabled: true, maxMessagesCount: 10, maxAwaitDurationMs: 10 } }))
    expect(problemOf(() => compile([spec], { env: { AzureWebJobsStorage: 'x' } }))).toContain('bulkSubscribe delivers a bulk envelope')
  })
})

describe('app subscriptions (GET /dapr/subscribe)', () => {
  const file = 'http://app/dapr/subscribe'

  it('reads daprd JSON: routes.default wins over route; rules in order; empty routes skipped', () => {
    const warnings: string[] = []
    const specs = parseAppSubscriptions(
      JSON.stringify([
        { pubsubname: 'mqtt', topic: 'a', route: '/legacy', routes: { rules: [{ match: 'event.type == "x"', path: '/x' }], default: '/a' } },
        { pubsubname: 'mqtt', topic: 'b', route: '/b', deadLetterTopic: 'dead', bulkSubscribe: { enabled: true, maxMessagesCount: 5, maxAwaitDurationMs: 20 } },
        { pubsubname: 'mqtt', topic: 'c' },
      ]),
      file,
      (w) => warnings.push(w),
    )
    expect(specs.map((s) => s.rules.map((r) => `${r.match}|${r.path}|${r.pathField}`))).toEqual([
      ['event.type == "x"|/x|routes.rules[0].path', '|/a|routes.default'],
      ['|/b|route'],
    ])
    expect(specs[1]).toMatchObject({ deadLetterTopic: 'dead', bulkSubscribe: { enabled: true, maxMessagesCount: 5, maxAwaitDurationMs: 20 } })
    expect(warnings[0]).toContain('topic c has an empty routes')
  })

  it("accepts @dapr/dapr's JSON-stringified metadata values and plain ones", () => {
    const [spec] = parseAppSubscriptions(JSON.stringify([{ pubsubname: 'mqtt', topic: 'a', route: '/a', metadata: { rawPayload: '"true"', ordered: 'true', n: 3 } }]), file)
    expect(spec!.metadata).toEqual({ rawPayload: 'true', ordered: 'true', n: '3' })
    expect(unwrapMetadataValue('"a\\"b"')).toBe('a"b')
    expect(unwrapMetadataValue('"unterminated')).toBe('"unterminated')
  })

  it('an empty body or null means none; a non-array is an error naming the endpoint', () => {
    expect(parseAppSubscriptions('', file)).toEqual([])
    expect(parseAppSubscriptions('null', file)).toEqual([])
    expect(() => parseAppSubscriptions('{"topic":"a"}', file)).toThrow(`${file}: expected a JSON array`)
    expect(() => parseAppSubscriptions('[{"pubsubname":1,"topic":"a","route":"/a"}]', file)).toThrow(`${file}: document 1 (Subscription/?): pubsubname: expected a string`)
  })

  it('never throws anything but a described error, whatever the app answers', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.array(fc.dictionary(fc.constantFrom('pubsubname', 'topic', 'route', 'routes', 'metadata', 'bulkSubscribe', 'deadLetterTopic'), fc.jsonValue())).map((a) => JSON.stringify(a))), (body) => {
        try {
          parseAppSubscriptions(body, file)
        } catch (error) {
          expect(error).toBeInstanceOf(MqttFnError)
        }
      }),
      { numRuns: 300 },
    )
  })
})

describe('route paths', () => {
  it('joins like daprd: "/" + path, path.Clean', () => {
    expect(appRouteUrl('http://app:3000/', 'orders')).toBe('http://app:3000/orders')
    expect(appRouteUrl('http://app:3000', '//a/./b/../c/')).toBe('http://app:3000/a/c')
    expect(cleanPath('/../x')).toBe('/x')
    expect(appRouteUrl('http://app:3000/base', '/x?y=1')).toBe('http://app:3000/base/x?y=1')
  })
})
