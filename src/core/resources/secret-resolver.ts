import type { ResolvedItem } from './field-reader.js'
import type { MetadataItem } from './metadata-list.js'
import type { Reporter } from './problems.js'
import { DEFAULT_SECRET_KEY, type SecretStore } from './secret-store.js'

/** A secret store as the resolver sees it: loaded, or declared but unusable. */
export type StoreEntry =
  | { status: 'ready'; store: SecretStore }
  /** Declared with errors (already reported): references to it fail quietly. */
  | { status: 'broken' }
  /** A Component of another `secretstores.*` type, which mqtt-fn cannot read. */
  | { status: 'unsupported'; type: string }

/**
 * Replaces each `secretKeyRef` with its value from the component's `auth.secretStore`, as
 * daprd does before the component sees its metadata. Messages name the field, the store, the
 * secret and the key; never a value.
 */
export function resolveSecrets(
  items: readonly MetadataItem[],
  storeName: string | undefined,
  stores: ReadonlyMap<string, StoreEntry>,
  reporter: Reporter,
): ResolvedItem[] {
  const resolved: ResolvedItem[] = []
  for (const item of items) {
    const ref = item.secretKeyRef
    if (!ref) {
      resolved.push({ name: item.name, path: item.path, value: item.value ?? '', fromSecret: false })
      continue
    }
    const where = `secret ${JSON.stringify(ref.name)}`
    if (storeName === undefined) {
      reporter.error(
        item.path,
        `secretKeyRef to ${where} needs auth.secretStore: daprd would use the "kubernetes" store, which mqtt-fn does not have; ` +
          'set auth.secretStore to a secretstores.local.env or secretstores.local.file component',
      )
      resolved.push(unresolved(item))
      continue
    }
    const storeText = `secret store ${JSON.stringify(storeName)}`
    const entry = stores.get(storeName)
    if (!entry) {
      reporter.error(item.path, `secretKeyRef to ${where}: ${storeText} (auth.secretStore) is not defined in the resources`)
      resolved.push(unresolved(item))
      continue
    }
    if (entry.status === 'broken') {
      reporter.error(item.path, `secretKeyRef to ${where}: ${storeText} has errors (see above)`)
      resolved.push(unresolved(item))
      continue
    }
    if (entry.status === 'unsupported') {
      reporter.error(
        item.path,
        `secretKeyRef to ${where}: ${storeText} has type ${entry.type}; mqtt-fn reads only secretstores.local.env and secretstores.local.file`,
      )
      resolved.push(unresolved(item))
      continue
    }
    const storeDescription = `${storeText} (${entry.store.type})`
    const lookup = entry.store.getSecret(ref.name)
    if (!lookup.ok) {
      reporter.error(item.path, `${where} not found in ${storeDescription}: ${lookup.problem}`)
      resolved.push(unresolved(item))
      continue
    }
    const key = ref.key ?? DEFAULT_SECRET_KEY
    if (!Object.prototype.hasOwnProperty.call(lookup.data, key)) {
      const keys = Object.keys(lookup.data)
      const hint =
        ref.key === undefined
          ? ` (the default when secretKeyRef.key is omitted; this secret's keys: ${keys.join(', ')}; set secretKeyRef.key)`
          : ` (this secret's keys: ${keys.join(', ')})`
      reporter.error(item.path, `${where} in ${storeDescription} has no key ${JSON.stringify(key)}${hint}`)
      resolved.push(unresolved(item))
      continue
    }
    resolved.push({ name: item.name, path: item.path, value: lookup.data[key] ?? '', fromSecret: true })
  }
  return resolved
}

function unresolved(item: MetadataItem): ResolvedItem {
  return { name: item.name, path: item.path, value: '', fromSecret: true, unresolved: true }
}

/** A store's own metadata cannot point at a secret: stores are read before any secret. */
export function rejectSecretRefs(items: readonly MetadataItem[], reporter: Reporter): ResolvedItem[] {
  const resolved: ResolvedItem[] = []
  for (const item of items) {
    if (item.secretKeyRef) {
      reporter.error(item.path, 'secretKeyRef cannot be used in the metadata of a secret store')
      continue
    }
    resolved.push({ name: item.name, path: item.path, value: item.value ?? '', fromSecret: false })
  }
  return resolved
}
