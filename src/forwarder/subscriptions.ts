/**
 * Turns Subscription resources and the app's programmatic subscriptions into runnable
 * ForwardSubscriptions: scopes applied, CEL compiled, targets resolved, pubsub checked. Every
 * problem is collected and thrown at once as a ResourceError naming file, document and field,
 * so a bad expression or an unknown target scheme refuses to start instead of failing at the
 * first message.
 */
import { ResourceError, type ResourceProblem } from '../core/errors.js'
import { getMetadataProperty, parseGoBool } from '../core/envelope/index.js'
import { publishTopicFinding, slowDeliveryWarning, subscriptionFilterFinding } from '../core/resources/broker-profile.js'
import { isTruthy } from '../core/resources/truthy.js'
import type { LoadedResources, PubsubComponent, SubscriptionResource } from '../core/resources/types.js'
// The same rules the pubsub client applies: a filter that passes here is one its subscribe() accepts.
import { filterProblem, publishTopicProblem } from '../core/topics/index.js'
import { compileMatch } from './router.js'
import type { TargetRegistry } from './targets/index.js'
import type { BulkSettings, CompiledRule, ForwardSubscription, SubscriptionSource } from './types.js'

/** A subscription before compilation, from YAML or from `/dapr/subscribe`. */
export interface SubscriptionSpec {
  source: SubscriptionSource
  name: string
  pubsubname: string
  topic: string
  /** In order; the default route last with an empty match. Fields are for error messages. */
  rules: { match: string; path: string; matchField: string; pathField: string }[]
  deadLetterTopic?: string
  metadata: Record<string, string>
  bulkSubscribe?: { enabled: boolean; maxMessagesCount: number; maxAwaitDurationMs: number }
  scopes: string[]
  /** `spec.` for resources, `` for app entries: prefixes the other fields in errors. */
  fieldPrefix: string
}

/** daprd's default bulk settings (pkg/runtime/pubsub/default_bulksub.go). */
export const DEFAULT_BULK: BulkSettings = Object.freeze({ maxMessagesCount: 100, maxAwaitDurationMs: 1000 })

export function specFromResource(sub: SubscriptionResource): SubscriptionSpec {
  const last = sub.rules.length - 1
  const rules = sub.rules.map((rule, i) => {
    // The loader appends `default` (v2) / `route` (v1) as the last rule with an empty match.
    const isDefault = i === last && rule.match === ''
    const pathField = isDefault
      ? sub.apiVersion === 'dapr.io/v1alpha1'
        ? 'spec.route'
        : 'spec.routes.default'
      : `spec.routes.rules[${i}].path`
    return { match: rule.match, path: rule.path, matchField: `spec.routes.rules[${i}].match`, pathField }
  })
  return {
    source: { file: sub.file, document: sub.document, kind: 'Subscription', name: sub.name, origin: 'yaml' },
    name: sub.name,
    pubsubname: sub.pubsubname,
    topic: sub.topic,
    rules,
    ...(sub.deadLetterTopic ? { deadLetterTopic: sub.deadLetterTopic } : {}),
    metadata: sub.metadata,
    ...(sub.bulkSubscribe ? { bulkSubscribe: sub.bulkSubscribe } : {}),
    scopes: sub.scopes,
    fieldPrefix: 'spec.',
  }
}


export interface CompileContext {
  resources: Pick<LoadedResources, 'pubsubs'>
  targets: TargetRegistry
  appId?: string
  warn: (message: string) => void
}

function where(spec: SubscriptionSpec): string {
  return `${spec.source.file}: document ${spec.source.document} (Subscription/${spec.name})`
}

/** Why a subscription does not apply to this app id, or undefined when it does. */
function outOfScope(spec: SubscriptionSpec, pubsub: PubsubComponent | undefined, appId: string | undefined): string | undefined {
  if (spec.scopes.length > 0 && (!appId || !spec.scopes.includes(appId))) {
    return `scoped to ${spec.scopes.join(', ')}, not to app id ${appId ?? '(none: set --app-id or APP_ID)'}`
  }
  if (!pubsub) return undefined
  const runtime = pubsub.runtime
  if (appId && runtime.subscriptionScopes && appId in runtime.subscriptionScopes) {
    const allowed = runtime.subscriptionScopes[appId] ?? []
    if (!allowed.includes(spec.topic)) return `topic ${spec.topic} is not in the component's subscriptionScopes for ${appId}`
  }
  if (runtime.allowedTopics && runtime.allowedTopics.length > 0 && !runtime.allowedTopics.includes(spec.topic)) {
    return `topic ${spec.topic} is not in the component's allowedTopics`
  }
  return undefined
}

export function compileSubscriptions(specs: readonly SubscriptionSpec[], context: CompileContext): ForwardSubscription[] {
  const problems: ResourceProblem[] = []
  const result: ForwardSubscription[] = []
  const seen = new Map<string, SubscriptionSpec>()
  const pubsubNames = context.resources.pubsubs.map((p) => p.name)

  for (const spec of specs) {
    const problem = (field: string, text: string) =>
      problems.push({ ...spec.source, kind: 'Subscription', name: spec.name, field, problem: text })
    const before = problems.length
    const pubsub = context.resources.pubsubs.find((p) => p.name === spec.pubsubname)

    const scopeReason = outOfScope(spec, pubsub, context.appId)
    if (scopeReason) {
      context.warn(`${where(spec)}: skipped: ${scopeReason}`)
      continue
    }
    if (!pubsub) {
      problem(`${spec.fieldPrefix}pubsubname`, `pubsub ${JSON.stringify(spec.pubsubname)} not found (have: ${pubsubNames.join(', ') || 'none'})`)
    } else if (pubsub.scopes.length > 0 && (!context.appId || !pubsub.scopes.includes(context.appId))) {
      problem(`${spec.fieldPrefix}pubsubname`, `pubsub ${JSON.stringify(spec.pubsubname)} is scoped to ${pubsub.scopes.join(', ')}, not to this app id`)
    }
    const topicIssue = filterProblem(spec.topic)
    if (topicIssue) problem(`${spec.fieldPrefix}topic`, `topic filter ${JSON.stringify(spec.topic)}: ${topicIssue}`)
    const deadLetterIssue = spec.deadLetterTopic === undefined ? undefined : publishTopicProblem(spec.deadLetterTopic)
    if (deadLetterIssue) problem(`${spec.fieldPrefix}deadLetterTopic`, `dead-letter topic ${JSON.stringify(spec.deadLetterTopic)}: ${deadLetterIssue}`)
    // What the component's brokerProfile knows the broker would silently not do (broker-profile.ts).
    const profile = pubsub?.metadata.brokerProfile
    if (profile) {
      const findings = [
        { field: 'topic', finding: subscriptionFilterFinding(profile, spec.topic) },
        { field: 'deadLetterTopic', finding: spec.deadLetterTopic === undefined ? undefined : publishTopicFinding(profile, spec.deadLetterTopic) },
      ]
      for (const { field, finding } of findings) {
        if (finding?.level === 'error') problem(`${spec.fieldPrefix}${field}`, finding.text)
        else if (finding) context.warn(`${where(spec)}: ${spec.fieldPrefix}${field}: ${finding.text}`)
      }
    }

    const rules: CompiledRule[] = []
    if (spec.rules.length === 0) problem(`${spec.fieldPrefix}routes`, 'no route: set routes.rules, routes.default or route')
    for (const rule of spec.rules) {
      let test: CompiledRule['test']
      if (rule.match.trim() !== '') {
        const compiled = compileMatch(rule.match)
        if (compiled.ok) test = compiled.test
        else problem(rule.matchField, `invalid CEL expression ${JSON.stringify(rule.match)}: ${compiled.error}`)
      }
      const resolved = context.targets.resolve(rule.path)
      if (!resolved.ok) problem(rule.pathField, resolved.problem)
      else rules.push({ match: rule.match, path: rule.path, target: resolved.target, ...(test ? { test } : {}) })
    }

    const rawText = getMetadataProperty(spec.metadata, 'rawPayload')
    const rawPayload = rawText === undefined ? false : parseGoBool(rawText)
    if (rawPayload === undefined) problem(`${spec.fieldPrefix}metadata.rawPayload`, `expected true or false, got ${JSON.stringify(rawText)}`)
    const orderedText = getMetadataProperty(spec.metadata, 'ordered')
    const ordered = orderedText !== undefined && isTruthy(orderedText)

    const modeText = getMetadataProperty(spec.metadata, 'contentMode')
    let binaryMode = pubsub?.metadata.contentMode === 'binary'
    if (modeText !== undefined && modeText.trim() !== '') {
      const mode = modeText.trim().toLowerCase()
      if (mode !== 'structured' && mode !== 'binary') problem(`${spec.fieldPrefix}metadata.contentMode`, `expected structured or binary, got ${JSON.stringify(modeText)}`)
      else if (mode === 'binary' && pubsub !== undefined && pubsub.metadata.protocolVersion !== 5) problem(`${spec.fieldPrefix}metadata.contentMode`, 'binary needs protocolVersion 5 on the pubsub component (the attributes travel as MQTT 5 user properties)')
      else binaryMode = mode === 'binary'
    }
    if (binaryMode && rawPayload) problem(`${spec.fieldPrefix}metadata.rawPayload`, 'rawPayload and contentMode binary exclude each other: a binary-mode message is a CloudEvent')

    const subscribeOptions = mqtt5SubscribeOptions(spec.metadata, pubsub?.metadata.protocolVersion, (field, text) => problem(`${spec.fieldPrefix}metadata.${field}`, text))

    let bulk: BulkSettings | undefined
    if (spec.bulkSubscribe?.enabled) {
      bulk = {
        maxMessagesCount: spec.bulkSubscribe.maxMessagesCount > 0 ? spec.bulkSubscribe.maxMessagesCount : DEFAULT_BULK.maxMessagesCount,
        maxAwaitDurationMs: spec.bulkSubscribe.maxAwaitDurationMs > 0 ? spec.bulkSubscribe.maxAwaitDurationMs : DEFAULT_BULK.maxAwaitDurationMs,
      }
      for (const rule of rules) {
        if (rule.target.kind === 'azqueue') {
          const field = spec.rules.find((r) => r.path === rule.path)?.pathField ?? `${spec.fieldPrefix}routes`
          problem(field, 'bulkSubscribe delivers a bulk envelope and reads per-entry statuses; an azqueue: target cannot answer them')
        }
      }
      if (ordered) context.warn(`${where(spec)}: metadata.ordered is ignored with bulkSubscribe (entries of a batch are delivered together)`)
    }

    if (problems.length > before || !pubsub) continue
    const key = `${spec.pubsubname}\u0000${spec.topic}`
    const earlier = seen.get(key)
    if (earlier) {
      context.warn(`${where(spec)}: topic ${spec.topic} on ${spec.pubsubname} is already subscribed by ${where(earlier)}; this one is ignored`)
      continue
    }
    seen.set(key, spec)
    result.push({
      id: spec.source.origin === 'yaml' ? spec.name : `app:${spec.name}`,
      source: spec.source,
      pubsubname: spec.pubsubname,
      topic: spec.topic,
      rules,
      ...(spec.deadLetterTopic ? { deadLetterTopic: spec.deadLetterTopic } : {}),
      rawPayload: rawPayload ?? false,
      ordered,
      ...(bulk ? { bulk } : {}),
      metadata: spec.metadata,
      ...(pubsub.metadata.protocolVersion === 5 ? { mqtt5: true } : {}),
      ...(binaryMode ? { binaryMode: true } : {}),
      ...subscribeOptions,
    })
  }
  if (problems.length > 0) throw new ResourceError(problems)
  for (const pubsub of context.resources.pubsubs) {
    if (!result.some((sub) => sub.pubsubname === pubsub.name) || !pubsub.metadata.brokerProfile) continue
    const warning = slowDeliveryWarning(pubsub.metadata.brokerProfile, pubsub.metadata.qos)
    if (warning) context.warn(`${pubsub.file}: document ${pubsub.document} (Component/${pubsub.name}): ${warning}`)
  }
  return result
}

const RETAIN_HANDLING: Record<string, 0 | 1 | 2> = { send: 0, '0': 0, sendifnew: 1, '1': 1, dontsend: 2, "don'tsend": 2, '2': 2 }

/**
 * MQTT 5 subscribe options from Subscription metadata: `retainHandling` (`send`, the default,
 * `sendIfNew` or `dontSend`, or 0 / 1 / 2) and `noLocal`. MQTT 3.1.1 has neither: asking for one
 * there is an error naming protocolVersion, not a setting silently ignored.
 */
function mqtt5SubscribeOptions(
  metadata: Record<string, string>,
  protocolVersion: number | undefined,
  problem: (field: string, text: string) => void,
): { retainHandling?: 0 | 1 | 2; noLocal?: boolean } {
  const out: { retainHandling?: 0 | 1 | 2; noLocal?: boolean } = {}
  const retainText = getMetadataProperty(metadata, 'retainHandling')
  if (retainText !== undefined && retainText !== '') {
    const value = RETAIN_HANDLING[retainText.trim().toLowerCase().replace(/[\s_-]/g, '')]
    if (value === undefined) problem('retainHandling', `expected send, sendIfNew or dontSend (or 0, 1, 2), got ${JSON.stringify(retainText)}`)
    else out.retainHandling = value
  }
  const noLocalText = getMetadataProperty(metadata, 'noLocal')
  if (noLocalText !== undefined && noLocalText !== '') {
    const value = parseGoBool(noLocalText)
    if (value === undefined) problem('noLocal', `expected true or false, got ${JSON.stringify(noLocalText)}`)
    else if (value) out.noLocal = true
  }
  if ((out.retainHandling !== undefined || out.noLocal) && protocolVersion !== undefined && protocolVersion !== 5) {
    problem(out.retainHandling !== undefined ? 'retainHandling' : 'noLocal', 'an MQTT 5 subscribe option: set protocolVersion: 5 on the pubsub component (MQTT 3.1.1 has no such option)')
  }
  return out
}
