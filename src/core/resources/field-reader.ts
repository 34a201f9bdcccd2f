import { describeAllowed, findField, suggestField, type FieldSpec, type FieldTable } from './field-table.js'
import { got, type Reporter } from './problems.js'
import { isTruthy, isUnusualBool } from './truthy.js'

/** A metadata entry with its final string value (secret resolved, template tags expanded). */
export interface ResolvedItem {
  /** Key as written. */
  name: string
  /** `spec.metadata.<name>`. */
  path: string
  value: string
  /** Came from a secret store: never shown, whatever the field. */
  fromSecret: boolean
  /** Its secretKeyRef failed (already reported): the field is set, its value unknown. */
  unresolved?: boolean
}

/**
 * Reads a component's metadata through its field table: keys matched case-insensitively
 * (and by alias), unknown keys warned about, values converted with the table's type, default,
 * allowed values and bounds. Problems go to the reporter; the getters then return the default
 * so that parsing can go on and report everything at once.
 */
export class FieldReader {
  private readonly byField = new Map<string, ResolvedItem>()

  constructor(
    private readonly table: FieldTable,
    items: readonly ResolvedItem[],
    private readonly reporter: Reporter,
    componentType: string,
  ) {
    for (const item of items) {
      const field = findField(table, item.name)
      if (!field) {
        const suggestion = suggestField(table, item.name)
        const hint = suggestion ? `; did you mean ${suggestion}?` : ''
        reporter.warn(item.path, `unknown metadata key for ${componentType}; ignored${hint}`)
        continue
      }
      if (field.group === 'ignored') {
        reporter.warn(item.path, field.ignoredBecause ?? 'ignored')
        continue
      }
      const earlier = this.byField.get(field.name)
      if (earlier) {
        reporter.error(item.path, `key ${JSON.stringify(item.name)} is duplicate in the metadata (same field as ${earlier.name})`)
        continue
      }
      this.byField.set(field.name, item)
    }
  }

  spec(name: string): FieldSpec {
    const field = this.table.find((f) => f.name === name)
    // A name missing from the table is a programming error, not a user error.
    if (!field) throw new Error(`field ${name} is not in the table`)
    return field
  }

  item(name: string): ResolvedItem | undefined {
    return this.byField.get(this.spec(name).name)
  }

  /** Whether the value must stay out of messages. */
  sensitive(name: string): boolean {
    const item = this.item(name)
    return this.spec(name).sensitive || (item?.fromSecret ?? false)
  }

  /** Set in the YAML, even if its secret could not be read. */
  present(name: string): boolean {
    return this.item(name) !== undefined
  }

  path(name: string): string {
    return this.item(name)?.path ?? `spec.metadata.${name}`
  }

  /** The raw string; an empty value counts as absent, as in Dapr. Reports a missing required field. */
  string(name: string): string | undefined {
    const field = this.spec(name)
    const item = this.item(name)
    // Its secret already failed; a second "is required" would only add noise.
    if (item?.unresolved) return field.default
    const value = item?.value
    if (value === undefined || value === '') {
      if (field.required) this.reporter.error(this.path(name), `is required (missing ${field.name})`)
      return field.default
    }
    return value
  }

  bool(name: string): boolean {
    const field = this.spec(name)
    const value = this.string(name)
    if (value === undefined) return isTruthy(field.default ?? 'false')
    if (isUnusualBool(value)) {
      this.reporter.warn(this.path(name), `not a recognised boolean${got(value, this.sensitive(name))}; treated as false (true is one of y, yes, true, t, on, 1)`)
    }
    return isTruthy(value)
  }

  number(name: string): number | undefined {
    const field = this.spec(name)
    const fallback = field.default === undefined ? undefined : Number(field.default)
    const value = this.string(name)
    if (value === undefined) return fallback
    const shown = got(value, this.sensitive(name))
    const trimmed = value.trim()
    const parsed = /^[+-]?\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN
    if (field.allowed) {
      if (!field.allowed.includes(String(parsed))) {
        this.reporter.error(this.path(name), `must be ${describeAllowed(field.allowed)}${shown}`)
        return fallback
      }
      return parsed
    }
    if (!Number.isSafeInteger(parsed)) {
      this.reporter.error(this.path(name), `must be a whole number${shown}`)
      return fallback
    }
    if ((field.min !== undefined && parsed < field.min) || (field.max !== undefined && parsed > field.max)) {
      this.reporter.error(this.path(name), `must be ${range(field)}${shown}`)
      return fallback
    }
    return parsed
  }
}

function range(field: FieldSpec): string {
  if (field.min !== undefined && field.max !== undefined) return `between ${field.min} and ${field.max}`
  if (field.min !== undefined) return `at least ${field.min}`
  return `at most ${field.max ?? ''}`
}
