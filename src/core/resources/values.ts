/** Helpers for the plain values that `yaml` produces (objects, arrays, scalars). */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * A YAML scalar as the string daprd would see: strings as is, numbers and bools in their
 * JSON form. Anything else (mapping, list, null) has no string form: undefined.
 */
export function scalarToString(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value)
  return undefined
}

/** Own property only: a key such as `__proto__` or `constructor` must not reach the prototype. */
export function own(record: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined
}
