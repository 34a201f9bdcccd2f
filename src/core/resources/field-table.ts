/**
 * The shape of a component's field table, after components-contrib's `metadata.yaml`: each
 * setting is described once, and that description drives parsing, error messages, redaction
 * and the README's reference table.
 */

export type FieldType = 'string' | 'number' | 'bool' | 'pem' | 'url'

/**
 * Where a field comes from. `dapr`: the component itself; `extension`: mqtt-fn only;
 * `runtime`: read by daprd rather than the component (scopes); `ignored`: an old key that is
 * accepted with a warning so that an old YAML file still loads.
 */
export type FieldGroup = 'dapr' | 'extension' | 'runtime' | 'ignored'

export interface FieldSpec {
  /** Canonical key; matched case-insensitively as Dapr does. */
  readonly name: string
  readonly type: FieldType
  /** Default as it would be written in the YAML; absent = no default. */
  readonly default?: string
  readonly required: boolean
  /** Value must never reach a log line, a warning or an error message. */
  readonly sensitive: boolean
  /** For `number` fields: the only values accepted, in the order the error lists them. */
  readonly allowed?: readonly string[]
  /** Other keys accepted for this field (case-insensitive too). */
  readonly aliases?: readonly string[]
  /** Inclusive bounds for `number` fields. */
  readonly min?: number
  readonly max?: number
  readonly group: FieldGroup
  readonly description: string
  /** A value that loads cleanly: used by the README and by the drift test. */
  readonly example?: string
  /** For group `ignored`: the reason given in the warning. */
  readonly ignoredBecause?: string
}

export type FieldTable = readonly FieldSpec[]

/** Finds a field by key or alias, case-insensitively. */
export function findField(table: FieldTable, key: string): FieldSpec | undefined {
  const lower = key.toLowerCase()
  return table.find(
    (f) => f.name.toLowerCase() === lower || (f.aliases ?? []).some((a) => a.toLowerCase() === lower),
  )
}

/** `0, 1 or 2`: the allowed values as a sentence. */
export function describeAllowed(values: readonly string[]): string {
  if (values.length <= 1) return values.join('')
  return `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`
}

/** The table key closest to a misspelt one, when it is close enough to be a likely typo. */
export function suggestField(table: FieldTable, key: string): string | undefined {
  const lower = key.toLowerCase()
  let best: { name: string; distance: number } | undefined
  for (const field of table) {
    for (const candidate of [field.name, ...(field.aliases ?? [])]) {
      const distance = editDistance(lower, candidate.toLowerCase())
      if (!best || distance < best.distance) best = { name: field.name, distance }
    }
  }
  const limit = Math.max(1, Math.floor(key.length / 4))
  return best && best.distance <= limit ? best.name : undefined
}

function editDistance(a: string, b: string): number {
  // Keys are short; a capped length keeps a pathological key from costing quadratic time.
  const x = a.slice(0, 64)
  const y = b.slice(0, 64)
  let previous = Array.from({ length: y.length + 1 }, (_, i) => i)
  for (let i = 1; i <= x.length; i++) {
    const current = [i]
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost)
    }
    previous = current
  }
  return previous[y.length] ?? 0
}
