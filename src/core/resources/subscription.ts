import type { ResourceLocation } from '../errors.js'
import { readName, readScopes } from './component.js'
import { got, type Reporter } from './problems.js'
import { isTruthy } from './truthy.js'
import type { BulkSubscribe, RouteRule, SubscriptionResource } from './types.js'
import { isRecord, own, scalarToString } from './values.js'

export const SUBSCRIPTION_API_VERSIONS = ['dapr.io/v1alpha1', 'dapr.io/v2alpha1'] as const

/** daprd's defaults for a bulk subscription (dapr/pkg/runtime/pubsub/default_bulksub.go). */
export const BULK_DEFAULTS = { maxMessagesCount: 100, maxAwaitDurationMs: 1000 } as const

/**
 * Reads a declarative `Subscription` (dapr/pkg/apis/subscriptions v1alpha1 and v2alpha1).
 * The topic is only required to be non-empty here; its MQTT syntax is checked by core/topics.
 * Whether `pubsubname` names a component is checked by the loader, which sees them all.
 */
export function readSubscription(
  doc: Record<string, unknown>,
  reporter: Reporter,
  location: ResourceLocation,
): SubscriptionResource | undefined {
  const before = reporter.errorCount
  const apiVersionText = scalarToString(own(doc, 'apiVersion'))
  const apiVersion = SUBSCRIPTION_API_VERSIONS.find((v) => v === apiVersionText)
  if (!apiVersion) {
    reporter.error(
      'apiVersion',
      apiVersionText === undefined
        ? 'is required (dapr.io/v2alpha1 or dapr.io/v1alpha1)'
        : `must be dapr.io/v2alpha1 or dapr.io/v1alpha1${got(apiVersionText, false)}`,
    )
  }
  const name = readName(doc, reporter)
  const scopes = readScopes(doc, reporter)
  const spec = own(doc, 'spec')
  if (!isRecord(spec)) {
    reporter.error('spec', 'is required (a mapping with pubsubname, topic and routes)')
    return undefined
  }
  const pubsubname = requiredString(spec, 'pubsubname', reporter)
  const topic = requiredString(spec, 'topic', reporter)
  const rules = readRoutes(spec, apiVersion ?? 'dapr.io/v2alpha1', reporter)
  const deadLetterTopic = optionalString(spec, 'deadLetterTopic', reporter)
  const metadata = readStringMap(own(spec, 'metadata'), 'spec.metadata', reporter)
  const bulkSubscribe = readBulk(own(spec, 'bulkSubscribe'), reporter)

  if (reporter.errorCount > before || !apiVersion || name === undefined || pubsubname === undefined || topic === undefined) {
    return undefined
  }
  const subscription: SubscriptionResource = {
    ...location,
    kind: 'Subscription',
    name,
    apiVersion,
    pubsubname,
    topic,
    rules,
    metadata,
    scopes,
  }
  if (deadLetterTopic !== undefined) subscription.deadLetterTopic = deadLetterTopic
  if (bulkSubscribe !== undefined) subscription.bulkSubscribe = bulkSubscribe
  return subscription
}

function requiredString(spec: Record<string, unknown>, key: string, reporter: Reporter): string | undefined {
  const raw = own(spec, key)
  const value = scalarToString(raw)
  if (raw === undefined || raw === null || value === '') {
    reporter.error(`spec.${key}`, 'is required')
    return undefined
  }
  if (value === undefined) {
    reporter.error(`spec.${key}`, 'must be a string')
    return undefined
  }
  return value
}

function optionalString(spec: Record<string, unknown>, key: string, reporter: Reporter): string | undefined {
  const raw = own(spec, key)
  if (raw === undefined || raw === null) return undefined
  const value = scalarToString(raw)
  if (value === undefined) reporter.error(`spec.${key}`, 'must be a string')
  return value === '' ? undefined : value
}

/**
 * v1alpha1: `route`. v2alpha1: `routes.rules` in order, then `routes.default` as a last rule
 * with an empty match (daprd appends it the same way).
 */
function readRoutes(spec: Record<string, unknown>, apiVersion: string, reporter: Reporter): RouteRule[] {
  const route = own(spec, 'route')
  const routes = own(spec, 'routes')
  if (apiVersion === 'dapr.io/v1alpha1') {
    if (routes !== undefined && routes !== null) {
      reporter.error('spec.routes', 'needs apiVersion dapr.io/v2alpha1 (v1alpha1 has only spec.route)')
      return []
    }
    const path = optionalString(spec, 'route', reporter)
    if (path === undefined) {
      reporter.error('spec.route', 'is required (the app path that receives the events)')
      return []
    }
    return [{ match: '', path }]
  }
  if (route !== undefined && route !== null) {
    reporter.error('spec.route', 'belongs to dapr.io/v1alpha1; in v2alpha1 write spec.routes.default')
    return []
  }
  if (routes === undefined || routes === null) {
    reporter.error('spec.routes', 'is required: a subscription needs routes.rules or routes.default')
    return []
  }
  if (!isRecord(routes)) {
    reporter.error('spec.routes', 'must be a mapping with rules and/or default')
    return []
  }
  const rules: RouteRule[] = []
  const rawRules = own(routes, 'rules')
  if (rawRules !== undefined && rawRules !== null) {
    if (!Array.isArray(rawRules)) reporter.error('spec.routes.rules', 'must be a list of {match, path}')
    else {
      rawRules.forEach((rule: unknown, index) => {
        const at = `spec.routes.rules[${index}]`
        if (!isRecord(rule)) {
          reporter.error(at, 'must be a mapping {match, path}')
          return
        }
        const rawMatch = own(rule, 'match')
        const match = rawMatch === undefined || rawMatch === null ? '' : scalarToString(rawMatch)
        const path = scalarToString(own(rule, 'path'))
        if (match === undefined) reporter.error(`${at}.match`, 'must be a CEL expression (a string)')
        if (path === undefined || path === '') reporter.error(`${at}.path`, 'is required')
        if (match !== undefined && path !== undefined && path !== '') rules.push({ match, path })
      })
    }
  }
  const rawDefault = own(routes, 'default')
  if (rawDefault !== undefined && rawDefault !== null) {
    const path = scalarToString(rawDefault)
    if (path === undefined) reporter.error('spec.routes.default', 'must be a path (a string)')
    else if (path !== '') rules.push({ match: '', path })
  }
  const hadRules = Array.isArray(rawRules) && rawRules.length > 0
  if (rules.length === 0 && !hadRules) {
    reporter.error('spec.routes', 'has neither rules nor default: the events would go nowhere')
  }
  return rules
}

function readStringMap(raw: unknown, path: string, reporter: Reporter): Record<string, string> {
  const out: Record<string, string> = {}
  if (raw === undefined || raw === null) return out
  if (!isRecord(raw)) {
    reporter.error(path, 'must be a mapping of names to values')
    return out
  }
  for (const [key, value] of Object.entries(raw)) {
    const text = value === null ? '' : scalarToString(value)
    if (text === undefined) reporter.error(`${path}.${key}`, 'must be a string, number or bool')
    else Object.defineProperty(out, key, { value: text, enumerable: true, writable: true, configurable: true })
  }
  return out
}

function readBulk(raw: unknown, reporter: Reporter): BulkSubscribe | undefined {
  if (raw === undefined || raw === null) return undefined
  if (!isRecord(raw)) {
    reporter.error('spec.bulkSubscribe', 'must be a mapping {enabled, maxMessagesCount, maxAwaitDurationMs}')
    return undefined
  }
  const enabledRaw = own(raw, 'enabled')
  const enabledText = enabledRaw === undefined || enabledRaw === null ? 'false' : scalarToString(enabledRaw)
  if (enabledText === undefined) reporter.error('spec.bulkSubscribe.enabled', 'must be true or false')
  return {
    enabled: enabledText !== undefined && isTruthy(enabledText),
    maxMessagesCount: positiveInt(raw, 'maxMessagesCount', BULK_DEFAULTS.maxMessagesCount, reporter),
    maxAwaitDurationMs: positiveInt(raw, 'maxAwaitDurationMs', BULK_DEFAULTS.maxAwaitDurationMs, reporter),
  }
}

function positiveInt(raw: Record<string, unknown>, key: string, fallback: number, reporter: Reporter): number {
  const value = own(raw, key)
  if (value === undefined || value === null) return fallback
  const text = scalarToString(value)
  const number = text !== undefined && /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN
  // int32 in the CRD.
  if (!Number.isSafeInteger(number) || number < 1 || number > 2147483647) {
    reporter.error(`spec.bulkSubscribe.${key}`, `must be a whole number from 1 to 2147483647${got(text ?? typeof value, false)}`)
    return fallback
  }
  return number
}
