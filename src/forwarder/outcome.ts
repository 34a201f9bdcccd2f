/**
 * daprd's reading of an app's answer (dapr/dapr pkg/runtime/subscription/postman/http/http.go),
 * kept byte-for-byte in its corner cases: the body is decoded the way Go's encoding/json
 * decodes it into `struct{ Status string `json:"status"` }`, so keys match case-insensitively,
 * the last duplicate wins, and a body that does not decode (empty, not JSON, an array, a status
 * that is not a string) skips the status check, which counts as SUCCESS for one event but as
 * RETRY for every entry of a bulk delivery.
 */
import { isRecord } from '../core/resources/values.js'
import type { Outcome, TargetReply } from './types.js'
import { SUCCESS } from './types.js'

export const STATUS_SUCCESS = 'SUCCESS'
export const STATUS_RETRY = 'RETRY'
export const STATUS_DROP = 'DROP'
/** The reason of a drop caused by HTTP 404 (metrics tell it apart from DROP). */
export const NOT_FOUND_REASON = 'app answered 404'


/** Go's `json:"name"` lookup: exact or case-insensitive; the last matching key wins. */
type Field = { found: false } | { found: true; value: string | null } | { found: true; typeError: true }

function goStringField(object: Record<string, unknown>, name: string): Field {
  let result: Field = { found: false }
  for (const [key, value] of Object.entries(object)) {
    if (key.toLowerCase() !== name.toLowerCase()) continue
    if (value === null) {
      // A JSON null leaves a Go string as it was.
      if (!result.found) result = { found: true, value: null }
    } else if (typeof value === 'string') {
      result = { found: true, value }
    } else {
      return { found: true, typeError: true }
    }
  }
  return result
}

function parseJson(body: string): { ok: true; value: unknown } | { ok: false } {
  if (body.trim() === '') return { ok: false }
  try {
    return { ok: true, value: JSON.parse(body) as unknown }
  } catch {
    return { ok: false }
  }
}

/**
 * The `status` of a 2xx body, or undefined when daprd would skip the status check (EOF,
 * not JSON, not an object, a non-string status).
 */
export function appStatus(body: string): string | undefined {
  const parsed = parseJson(body)
  if (!parsed.ok) return undefined
  if (parsed.value === null) return ''
  if (!isRecord(parsed.value)) return undefined
  const field = goStringField(parsed.value, 'status')
  if (!field.found) return ''
  if ('typeError' in field) return undefined
  return field.value ?? ''
}

/** The outcome of one event's delivery (daprd's `Deliver`). */
export function singleOutcome(reply: TargetReply): Outcome {
  if (!reply.ok) return { kind: 'retry', reason: reply.reason }
  const { status, body } = reply
  if (status >= 200 && status <= 299) {
    const appStatusValue = appStatus(body)
    if (appStatusValue === undefined || appStatusValue === '' || appStatusValue === STATUS_SUCCESS) return SUCCESS
    if (appStatusValue === STATUS_RETRY) return { kind: 'retry', reason: 'app answered RETRY' }
    if (appStatusValue === STATUS_DROP) return { kind: 'drop', reason: 'app answered DROP' }
    // Exact and case-sensitive, as in daprd: "success" is an unknown status, hence a retry.
    return { kind: 'retry', reason: `app answered unknown status ${JSON.stringify(appStatusValue)}` }
  }
  if (status === 404) return { kind: 'drop', reason: NOT_FOUND_REASON }
  return { kind: 'retry', reason: `app answered HTTP ${status}` }
}

/**
 * The outcome of each entry of a bulk delivery (daprd's `DeliverBulk`): per-entry statuses,
 * where an empty or missing status means RETRY; a body that does not decode retries them all;
 * 404 drops them all; any other non-2xx retries them all. Unknown entry ids are ignored and
 * the first status given for an entry counts.
 */
export function bulkOutcomes(reply: TargetReply, entryIds: readonly string[]): Map<string, Outcome> {
  const all = (outcome: Outcome) => new Map(entryIds.map((id) => [id, outcome]))
  if (!reply.ok) return all({ kind: 'retry', reason: reply.reason })
  const { status, body } = reply
  if (status === 404) return all({ kind: 'drop', reason: NOT_FOUND_REASON })
  if (status < 200 || status > 299) return all({ kind: 'retry', reason: `app answered HTTP ${status}` })

  const undecodable = all({ kind: 'retry', reason: 'bulk response did not decode as {"statuses":[...]}' })
  const parsed = parseJson(body)
  if (!parsed.ok) return undecodable
  if (parsed.value === null) return all({ kind: 'retry', reason: 'bulk response had no statuses' })
  if (!isRecord(parsed.value)) return undecodable
  let statuses: unknown = null
  for (const [key, value] of Object.entries(parsed.value)) {
    if (key.toLowerCase() === 'statuses') statuses = value
  }
  if (statuses !== null && !Array.isArray(statuses)) return undecodable

  const answers = new Map<string, string>()
  for (const item of (statuses as unknown[] | null) ?? []) {
    if (item === null) continue
    if (!isRecord(item)) return undecodable
    const entryId = goStringField(item, 'entryId')
    const entryStatus = goStringField(item, 'status')
    if (('typeError' in entryId && entryId.typeError) || ('typeError' in entryStatus && entryStatus.typeError)) return undecodable
    const id = entryId.found && 'value' in entryId ? (entryId.value ?? '') : ''
    const value = entryStatus.found && 'value' in entryStatus ? (entryStatus.value ?? '') : ''
    if (!answers.has(id)) answers.set(id, value)
  }

  const result = new Map<string, Outcome>()
  for (const id of entryIds) {
    const value = answers.get(id)
    if (value === undefined) result.set(id, { kind: 'retry', reason: 'no status for this entry' })
    else if (value === STATUS_SUCCESS) result.set(id, SUCCESS)
    else if (value === STATUS_DROP) result.set(id, { kind: 'drop', reason: 'app answered DROP' })
    else if (value === '' || value === STATUS_RETRY) result.set(id, { kind: 'retry', reason: `app answered ${value || 'an empty status'}` })
    else result.set(id, { kind: 'retry', reason: `app answered unknown status ${JSON.stringify(value)}` })
  }
  return result
}
