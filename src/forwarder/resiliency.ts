/**
 * Dapr Resiliency resources, as daprd reads them for a pubsub's inbound direction: the retry,
 * timeout and circuit-breaker policies that `spec.targets.components.<pubsub>.inbound` names,
 * else daprd's default policies. Durations are Go's `time.ParseDuration`, the exact one in
 * core/envelope/go-strconv.ts.
 */
import { ResourceError, type ResourceProblem } from '../core/errors.js'
import { parseGoDuration } from '../core/envelope/go-strconv.js'
import { isRecord } from '../core/resources/values.js'
import type { OtherResource } from '../core/resources/types.js'
import { compileTrip, type BreakerSettings } from './breaker.js'
import type { RetryPolicy } from './types.js'

// dapr/kit retry defaults, which a Resiliency policy starts from.
const DAPR_CONSTANT_DURATION_MS = 5_000
const DAPR_EXPONENTIAL_INITIAL_MS = 500
const DAPR_EXPONENTIAL_MULTIPLIER = 1.5
const DAPR_RANDOMIZATION_FACTOR = 0.5
const DAPR_MAX_INTERVAL_MS = 60_000
const DAPR_MAX_RETRIES = -1

/** A Go duration string in milliseconds (Go's time.ParseDuration); undefined if invalid or not a string. */
export function durationMs(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined
  const ns = parseGoDuration(value)
  return ns === undefined ? undefined : Number(ns) / 1e6
}

/** What a Resiliency resource says about one pubsub's inbound direction. */
export interface InboundResiliency {
  retry?: RetryPolicy
  /** `inbound.timeout`: bound of one delivery attempt. */
  timeoutMs?: number
  /** `inbound.circuitBreaker`: one breaker for every delivery of the pubsub. */
  circuitBreaker?: BreakerSettings
  /** Where it came from, for the start-up log. */
  source?: string
  warnings: string[]
}

/**
 * daprd's default policies for a pubsub's inbound direction, most specific first
 * (docs: resiliency/policies.md, "Policy hierarchy resolution"). Each kind is resolved on its
 * own: a target that names only a retry policy still gets a default timeout.
 */
export function defaultPolicyNames(kind: 'Retry' | 'Timeout' | 'CircuitBreaker'): string[] {
  return [`DefaultPubsubComponentInbound${kind}Policy`, `DefaultComponentInbound${kind}Policy`, `DefaultComponent${kind}Policy`, `Default${kind}Policy`]
}

/**
 * Reads `spec.targets.components.<pubsub>.inbound.{retry,timeout}` of the Resiliency resources
 * and the policies they name; what no target names comes from daprd's default policies
 * (`DefaultPubsubComponentInboundRetryPolicy` ... `DefaultRetryPolicy`). A missing or malformed
 * policy is a start-up error naming file and field, like every other resource problem.
 */
export function inboundResiliency(resources: readonly OtherResource[], pubsubName: string): InboundResiliency {
  const problems: ResourceProblem[] = []
  const result: InboundResiliency = { warnings: [] }
  const sources: string[] = []
  const resiliencies = resources.filter((r) => r.kind === 'Resiliency' && isRecord(r.spec))
  const reporter = (resource: OtherResource) => (field: string, problem: string) =>
    problems.push({ file: resource.file, document: resource.document, kind: resource.kind, name: resource.name, field, problem })
  const policiesOf = (resource: OtherResource, kind: 'retries' | 'timeouts' | 'circuitBreakers'): Record<string, unknown> => {
    const spec = resource.spec as Record<string, unknown>
    const policies = isRecord(spec.policies) ? spec.policies : {}
    const found = policies[kind]
    return isRecord(found) ? found : {}
  }
  const retryFrom = (resource: OtherResource, name: string, at: (field: string, problem: string) => void) => {
    const policy = policiesOf(resource, 'retries')[name]
    if (!isRecord(policy)) return undefined
    const parsed = parseRetryPolicy(policy, `spec.policies.retries.${name}`, at)
    if (policy.policy === 'exponential' && policy.duration !== undefined) {
      result.warnings.push(`${resource.file}: spec.policies.retries.${name}.duration is ignored by an exponential policy (as in Dapr)`)
    }
    for (const key of ['matching', 'matches']) {
      if (policy[key] !== undefined) {
        result.warnings.push(`${resource.file}: spec.policies.retries.${name}.${key} (retry only some status codes) is not supported by the forwarder: every failed attempt is retried`)
      }
    }
    return parsed
  }
  const timeoutFrom = (value: unknown): number | undefined => {
    const ms = durationMs(value)
    return ms !== undefined && ms > 0 ? ms : undefined
  }

  for (const resource of resiliencies) {
    const spec = resource.spec as Record<string, unknown>
    const at = reporter(resource)
    const targets = isRecord(spec.targets) ? spec.targets : {}
    const components = isRecord(targets.components) ? targets.components : {}
    const component = components[pubsubName]
    if (!isRecord(component) || !isRecord(component.inbound)) continue
    const inbound = component.inbound
    const base = `spec.targets.components.${pubsubName}.inbound`
    sources.push(`${resource.file} (Resiliency/${resource.name})`)

    if (inbound.retry !== undefined) {
      const name = inbound.retry
      if (typeof name !== 'string') at(`${base}.retry`, 'expected the name of a retry policy')
      else if (!isRecord(policiesOf(resource, 'retries')[name])) at(`${base}.retry`, `no retry policy "${name}" in spec.policies.retries`)
      else {
        const parsed = retryFrom(resource, name, at)
        if (parsed) result.retry = parsed
      }
    }
    if (inbound.timeout !== undefined) {
      const name = inbound.timeout
      const named = typeof name === 'string' ? policiesOf(resource, 'timeouts')[name] : undefined
      const ms = timeoutFrom(named ?? name)
      if (ms === undefined) at(`${base}.timeout`, `no timeout policy or duration ${JSON.stringify(name)}`)
      else result.timeoutMs = ms
    }
    if (inbound.circuitBreaker !== undefined) {
      const name = inbound.circuitBreaker
      const policy = typeof name === 'string' ? policiesOf(resource, 'circuitBreakers')[name] : undefined
      if (typeof name !== 'string') at(`${base}.circuitBreaker`, 'expected the name of a circuit breaker policy')
      else if (!isRecord(policy)) at(`${base}.circuitBreaker`, `no circuit breaker policy "${name}" in spec.policies.circuitBreakers`)
      else {
        const parsed = parseBreakerPolicy(name, policy, `spec.policies.circuitBreakers.${name}`, at)
        if (parsed) result.circuitBreaker = parsed
      }
    }
  }

  // What no target named: daprd's default policies, the most specific name first.
  const fromDefaults = <T>(
    kind: 'Retry' | 'Timeout' | 'CircuitBreaker',
    section: 'retries' | 'timeouts' | 'circuitBreakers',
    read: (resource: OtherResource, name: string, value: unknown, at: (field: string, problem: string) => void) => T | undefined,
  ): T | undefined => {
    for (const name of defaultPolicyNames(kind)) {
      for (const resource of resiliencies) {
        const value = policiesOf(resource, section)[name]
        if (value === undefined) continue
        const parsed = read(resource, name, value, reporter(resource))
        if (parsed !== undefined) sources.push(`${resource.file} (Resiliency/${resource.name}, ${name})`)
        return parsed
      }
    }
    return undefined
  }
  result.retry ??= fromDefaults('Retry', 'retries', (resource, name, value, at) =>
    isRecord(value) ? retryFrom(resource, name, at) : (at(`spec.policies.retries.${name}`, 'expected a retry policy (policy, duration, maxInterval, maxRetries)'), undefined),
  )
  result.timeoutMs ??= fromDefaults('Timeout', 'timeouts', (_resource, name, value, at) => {
    const ms = timeoutFrom(value)
    if (ms === undefined) at(`spec.policies.timeouts.${name}`, `expected a duration such as 5s or 500ms, got ${JSON.stringify(value)}`)
    return ms
  })
  result.circuitBreaker ??= fromDefaults('CircuitBreaker', 'circuitBreakers', (_resource, name, value, at) =>
    isRecord(value)
      ? parseBreakerPolicy(name, value, `spec.policies.circuitBreakers.${name}`, at)
      : (at(`spec.policies.circuitBreakers.${name}`, 'expected a circuit breaker policy (maxRequests, interval, timeout, trip)'), undefined),
  )
  if (problems.length > 0) throw new ResourceError(problems)
  if (sources.length > 0) result.source = [...new Set(sources)].join(', ')
  return result
}

/** gobreaker's and Dapr's defaults: 1 trial request, counts never cleared, open for 60 s. */
const BREAKER_DEFAULT_TRIP = 'consecutiveFailures > 5'
const BREAKER_DEFAULT_TIMEOUT_MS = 60_000

function parseBreakerPolicy(
  name: string,
  policy: Record<string, unknown>,
  field: string,
  at: (field: string, problem: string) => void,
): BreakerSettings | undefined {
  let ok = true
  const duration = (key: string, fallback: number): number => {
    const value = policy[key]
    if (value === undefined) return fallback
    const ms = durationMs(value)
    if (ms === undefined || ms < 0) {
      at(`${field}.${key}`, `expected a duration such as 45s or 500ms, got ${JSON.stringify(value)}`)
      ok = false
      return fallback
    }
    return ms
  }
  let maxRequests = 1
  if (policy.maxRequests !== undefined) {
    const n = typeof policy.maxRequests === 'string' ? Number(policy.maxRequests.trim()) : policy.maxRequests
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      at(`${field}.maxRequests`, `expected an integer >= 0, got ${JSON.stringify(policy.maxRequests)}`)
      ok = false
    } else maxRequests = n
  }
  const intervalMs = duration('interval', 0)
  const timeout = duration('timeout', BREAKER_DEFAULT_TIMEOUT_MS)
  const trip = policy.trip === undefined ? BREAKER_DEFAULT_TRIP : policy.trip
  if (typeof trip !== 'string' || trip.trim() === '') {
    at(`${field}.trip`, `expected a CEL expression such as ${BREAKER_DEFAULT_TRIP}, got ${JSON.stringify(policy.trip)}`)
    return undefined
  }
  const compiled = compileTrip(trip)
  if (!compiled.ok) {
    at(`${field}.trip`, `invalid CEL expression: ${compiled.error}`)
    return undefined
  }
  if (!ok) return undefined
  // gobreaker: a timeout of 0 means the default.
  return { name, maxRequests, intervalMs, timeoutMs: timeout > 0 ? timeout : BREAKER_DEFAULT_TIMEOUT_MS, trip, shouldTrip: compiled.shouldTrip }
}

function parseRetryPolicy(
  policy: Record<string, unknown>,
  field: string,
  at: (field: string, problem: string) => void,
): RetryPolicy | undefined {
  const kind = policy.policy ?? 'constant'
  if (kind !== 'constant' && kind !== 'exponential') {
    at(`${field}.policy`, `expected constant or exponential, got ${JSON.stringify(kind)}`)
    return undefined
  }
  const duration = (key: string, fallback: number): number | undefined => {
    const value = policy[key]
    if (value === undefined) return fallback
    const ms = durationMs(value)
    if (ms === undefined || ms < 0) {
      at(`${field}.${key}`, `expected a duration such as 5s or 500ms, got ${JSON.stringify(value)}`)
      return undefined
    }
    return ms
  }
  let maxRetries = DAPR_MAX_RETRIES
  if (policy.maxRetries !== undefined) {
    const n = typeof policy.maxRetries === 'string' ? Number(policy.maxRetries.trim()) : policy.maxRetries
    if (typeof n !== 'number' || !Number.isInteger(n) || n < -1) {
      at(`${field}.maxRetries`, `expected an integer >= -1, got ${JSON.stringify(policy.maxRetries)}`)
      return undefined
    }
    maxRetries = n
  }
  if (kind === 'constant') {
    const interval = duration('duration', DAPR_CONSTANT_DURATION_MS)
    if (interval === undefined) return undefined
    return { policy: 'constant', initialIntervalMs: interval, maxIntervalMs: interval, maxRetries, multiplier: 1, randomizationFactor: 0 }
  }
  const maxInterval = duration('maxInterval', DAPR_MAX_INTERVAL_MS)
  if (maxInterval === undefined) return undefined
  return {
    policy: 'exponential',
    initialIntervalMs: Math.min(DAPR_EXPONENTIAL_INITIAL_MS, maxInterval),
    maxIntervalMs: maxInterval,
    maxRetries,
    multiplier: DAPR_EXPONENTIAL_MULTIPLIER,
    randomizationFactor: DAPR_RANDOMIZATION_FACTOR,
  }
}
