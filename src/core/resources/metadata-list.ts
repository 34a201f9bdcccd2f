import type { Reporter } from './problems.js'
import { isRecord, own, scalarToString } from './values.js'

export interface SecretKeyRef {
  /** Secret name in the store. */
  name: string
  /** Key inside the secret; absent means Dapr's default key `_value`. */
  key?: string
}

/** One `spec.metadata` entry, its value stringified as Dapr does. */
export interface MetadataItem {
  /** Key as written. */
  name: string
  /** `spec.metadata.<name>`: the field named in messages. */
  path: string
  value?: string
  secretKeyRef?: SecretKeyRef
}

const ITEM_KEYS = new Set(['name', 'value', 'secretKeyRef'])

/**
 * Reads `spec.metadata`: a list of `{name, value}` or `{name, secretKeyRef: {name, key}}`.
 * YAML numbers and bools become strings first (`qos: 1` → `"1"`), as daprd's DynamicValue does.
 * Keys are case-insensitive, so two keys that differ only in case are one key twice: an error.
 */
export function readMetadataList(raw: unknown, reporter: Reporter, base = 'spec.metadata'): MetadataItem[] {
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) {
    reporter.error(base, 'must be a list of {name, value} or {name, secretKeyRef} entries')
    return []
  }
  const items: MetadataItem[] = []
  const seen = new Set<string>()
  raw.forEach((entry: unknown, index) => {
    const at = `${base}[${index}]`
    if (!isRecord(entry)) {
      reporter.error(at, 'must be a mapping with name and value (or secretKeyRef)')
      return
    }
    const name = scalarToString(own(entry, 'name'))
    if (name === undefined || name.trim() === '') {
      reporter.error(`${at}.name`, 'is required')
      return
    }
    const path = `${base}.${name}`
    for (const key of Object.keys(entry)) {
      if (!ITEM_KEYS.has(key)) reporter.warn(path, `unknown entry field "${key}"; ignored`)
    }
    const lower = name.toLowerCase()
    if (seen.has(lower)) {
      reporter.error(path, `key ${JSON.stringify(name)} is duplicate in the metadata`)
      return
    }
    seen.add(lower)

    const item: MetadataItem = { name, path }
    const rawValue = own(entry, 'value')
    const rawRef = own(entry, 'secretKeyRef')
    if (rawRef !== undefined && rawRef !== null) {
      if (rawValue !== undefined && rawValue !== null) {
        reporter.error(path, 'set either value or secretKeyRef, not both')
        return
      }
      const ref = readSecretKeyRef(rawRef, `${path}.secretKeyRef`, reporter)
      if (!ref) return
      item.secretKeyRef = ref
    } else {
      const value = rawValue === undefined || rawValue === null ? '' : scalarToString(rawValue)
      if (value === undefined) {
        reporter.error(path, 'value must be a string, number or bool')
        return
      }
      item.value = value
    }
    items.push(item)
  })
  return items
}

function readSecretKeyRef(raw: unknown, path: string, reporter: Reporter): SecretKeyRef | undefined {
  if (!isRecord(raw)) {
    reporter.error(path, 'must be a mapping {name, key}')
    return undefined
  }
  const name = scalarToString(own(raw, 'name'))
  if (name === undefined || name === '') {
    reporter.error(`${path}.name`, 'is required')
    return undefined
  }
  const ref: SecretKeyRef = { name }
  if (own(raw, 'key') !== undefined && own(raw, 'key') !== null) {
    const key = scalarToString(own(raw, 'key'))
    if (key === undefined) {
      reporter.error(`${path}.key`, 'must be a string')
      return undefined
    }
    if (key !== '') ref.key = key
  }
  return ref
}
