import type { SecretLookup, SecretStore } from './secret-store.js'
import { isRecord } from './values.js'

type Secret = string | Map<string, string>

/**
 * `secretstores.local.file` (components-contrib `secretstores/local/file/filestore.go`) over an
 * already parsed JSON object.
 *
 * Single-valued (default): the whole file is flattened, nested keys and array indexes joined
 * with `nestedSeparator`; the secret `a:b` is returned under the key `a:b`.
 * Multi-valued: each top-level key is a secret; a string is `{key: value}`, an object is
 * flattened into that secret's keys; other top-level values are skipped, as daprd does.
 * Leaf numbers, bools and null become `String(v)` / `""` (daprd's `%s` formatting turns them into
 * `%!s(float64=1)`, a bug nobody relies on).
 */
export class FileSecretStore implements SecretStore {
  readonly type = 'secretstores.local.file' as const
  private readonly secrets = new Map<string, Secret>()

  /** Throws an Error whose message names a secret (never a value) when two entries flatten to one name. */
  constructor(
    readonly name: string,
    json: Record<string, unknown>,
    separator: string,
    multiValued: boolean,
  ) {
    if (multiValued) {
      for (const [key, value] of Object.entries(json)) {
        if (typeof value === 'string') this.secrets.set(key, value)
        else if (isRecord(value)) this.secrets.set(key, flatten(value, separator))
      }
    } else {
      for (const [key, value] of flatten(json, separator)) this.secrets.set(key, value)
    }
  }

  getSecret(secretName: string): SecretLookup {
    const secret = this.secrets.get(secretName)
    if (secret === undefined) return { ok: false, problem: `secret ${JSON.stringify(secretName)} is not in the secrets file` }
    if (typeof secret === 'string') return { ok: true, data: { [secretName]: secret } }
    return { ok: true, data: Object.fromEntries(secret) }
  }
}

function flatten(object: Record<string, unknown>, separator: string): Map<string, string> {
  const out = new Map<string, string>()
  const visit = (value: unknown, path: string[]): void => {
    if (isRecord(value)) {
      for (const [key, child] of Object.entries(value)) visit(child, [...path, key])
    } else if (Array.isArray(value)) {
      value.forEach((child: unknown, index) => visit(child, [...path, String(index)]))
    } else {
      const name = path.join(separator)
      if (out.has(name)) throw new Error(`two entries flatten to the secret name ${JSON.stringify(name)}`)
      out.set(name, value === null || value === undefined ? '' : String(value))
    }
  }
  for (const [key, value] of Object.entries(object)) visit(value, [key])
  return out
}
