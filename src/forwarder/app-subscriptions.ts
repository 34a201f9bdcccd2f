/**
 * Programmatic subscriptions: `GET {app}/dapr/subscribe`, read as daprd reads it
 * (dapr/pkg/runtime/pubsub/subscriptions.go): a JSON array of objects; 404 or an empty body
 * = none; `routes.default` wins over the legacy `route`; an entry without any route is
 * skipped with a warning. @dapr/dapr JSON-stringifies metadata values (`"\"true\""`); both
 * forms are accepted. The app may start after the forwarder: connection errors and 5xx are
 * retried until `timeoutMs`.
 */
import { MqttFnError, ResourceError } from '../core/errors.js'
import { isRecord } from '../core/resources/values.js'
import { basicAuthorization, redactRoute } from './targets/http.js'
import { sleep } from '../core/timeout.js'
import type { SubscriptionSpec } from './subscriptions.js'

export interface FetchAppSubscriptionsOptions {
  timeoutMs?: number
  /** Wait between tries. */
  intervalMs?: number
  signal?: AbortSignal
  onWarning?: (message: string) => void
}

export async function fetchAppSubscriptions(appUrl: string, options: FetchAppSubscriptionsOptions = {}): Promise<SubscriptionSpec[]> {
  const { url, headers } = withoutCredentials(`${appUrl.replace(/\/+$/, '')}/dapr/subscribe`)
  // What errors and warnings show: never the app URL's userinfo.
  const shown = redactRoute(url)
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  let lastError = ''
  for (;;) {
    try {
      const response = await fetch(url, {
        headers,
        signal: AbortSignal.timeout(Math.max(1000, Math.min(10_000, deadline - Date.now()))),
      })
      const text = await response.text()
      if (response.status === 404) return []
      if (response.status === 200) return parseAppSubscriptions(text, shown, options.onWarning)
      lastError = `HTTP ${response.status}`
      if (response.status < 500) {
        throw new MqttFnError('ERR_APP_SUBSCRIBE', `GET ${shown} answered ${lastError}; expected 200 with a JSON array or 404`)
      }
    } catch (error) {
      if (error instanceof MqttFnError) throw error
      const cause = (error as Error & { cause?: { code?: string } }).cause
      lastError = cause?.code ?? (error as Error).message
    }
    if (Date.now() >= deadline || options.signal?.aborted) {
      throw new MqttFnError('ERR_APP_SUBSCRIBE', `GET ${shown} did not answer within ${options.timeoutMs ?? 60_000} ms (last: ${lastError})`, {
        retriable: true,
      })
    }
    await sleep(options.intervalMs ?? 500, options.signal)
  }
}

/** fetch refuses a URL with userinfo: its credentials become Basic auth, as for HTTP targets. */
function withoutCredentials(raw: string): { url: string; headers: Record<string, string> } {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  let parsed: URL
  try {
    parsed = new URL(raw)
  } catch {
    return { url: raw, headers }
  }
  const authorization = basicAuthorization(parsed)
  if (authorization === undefined) return { url: raw, headers }
  headers.authorization = authorization
  parsed.username = ''
  parsed.password = ''
  return { url: parsed.toString(), headers }
}

/** A metadata value as @dapr/dapr sends it (`"\"true\""`) or as daprd expects it (`"true"`). */
export function unwrapMetadataValue(value: unknown): string | undefined {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value !== 'string') return undefined
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    try {
      const inner: unknown = JSON.parse(value)
      if (typeof inner === 'string') return inner
    } catch {
      // Not JSON after all: keep the text as written.
    }
  }
  return value
}

/**
 * The body of `/dapr/subscribe` as subscription specs. Shape errors are start-up errors
 * naming the entry (`document N` = the entry's 1-based index) and field.
 */
export function parseAppSubscriptions(body: string, file: string, onWarning?: (message: string) => void): SubscriptionSpec[] {
  if (body.trim() === '') return []
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch (error) {
    throw new MqttFnError('ERR_APP_SUBSCRIBE', `${file}: not JSON: ${(error as Error).message}`)
  }
  if (parsed === null) return []
  if (!Array.isArray(parsed)) throw new MqttFnError('ERR_APP_SUBSCRIBE', `${file}: expected a JSON array of subscriptions`)

  const specs: SubscriptionSpec[] = []
  parsed.forEach((entry: unknown, index) => {
    const document = index + 1
    const where = `${file}: document ${document}`
    const bad = (field: string, problem: string): never => {
      throw new ResourceError([{ file, document, kind: 'Subscription', field, problem }])
    }
    if (!isRecord(entry)) return bad('', 'expected an object')
    const str = (key: string): string | undefined => {
      const value = entry[key]
      if (value === undefined || value === null) return undefined
      if (typeof value !== 'string') return bad(key, 'expected a string')
      return value
    }
    const pubsubname = str('pubsubname') ?? ''
    const topic = str('topic') ?? ''
    const name = `${pubsubname}/${topic}`
    const location = { file, document, kind: 'Subscription', name, origin: 'app' as const }

    const rules: SubscriptionSpec['rules'] = []
    let defaultPath: { path: string; field: string } | undefined
    const routes = entry.routes
    if (isRecord(routes)) {
      const list = routes.rules
      if (Array.isArray(list)) {
        list.forEach((rule: unknown, i) => {
          if (!isRecord(rule)) return bad(`routes.rules[${i}]`, 'expected an object')
          const match = typeof rule.match === 'string' ? rule.match : ''
          const path = typeof rule.path === 'string' ? rule.path : ''
          rules.push({ match, path, matchField: `routes.rules[${i}].match`, pathField: `routes.rules[${i}].path` })
        })
      }
      if (typeof routes.default === 'string' && routes.default !== '') defaultPath = { path: routes.default, field: 'routes.default' }
    }
    const legacy = str('route')
    if (!defaultPath && legacy) defaultPath = { path: legacy, field: 'route' }
    if (defaultPath) rules.push({ match: '', path: defaultPath.path, matchField: '', pathField: defaultPath.field })
    if (rules.length === 0) {
      onWarning?.(`${where} (Subscription/${name}): topic ${topic} has an empty routes; skipped (as daprd does)`)
      return
    }

    const metadata: Record<string, string> = {}
    if (isRecord(entry.metadata)) {
      for (const [key, value] of Object.entries(entry.metadata)) {
        const text = unwrapMetadataValue(value)
        if (text !== undefined) metadata[key] = text
      }
    }
    let bulkSubscribe: SubscriptionSpec['bulkSubscribe']
    if (isRecord(entry.bulkSubscribe)) {
      const b = entry.bulkSubscribe
      bulkSubscribe = {
        enabled: b.enabled === true || b.enabled === 'true',
        maxMessagesCount: Number(b.maxMessagesCount ?? 0) || 0,
        maxAwaitDurationMs: Number(b.maxAwaitDurationMs ?? 0) || 0,
      }
    }
    const deadLetterTopic = str('deadLetterTopic')
    specs.push({
      source: location,
      name,
      pubsubname,
      topic,
      rules,
      ...(deadLetterTopic ? { deadLetterTopic } : {}),
      metadata,
      ...(bulkSubscribe ? { bulkSubscribe } : {}),
      scopes: [],
      fieldPrefix: '',
    })
  })
  return specs
}
