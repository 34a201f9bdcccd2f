/** Dapr's `GetSecret` result: a secret is a map of keys to values. */
export type SecretLookup = { ok: true; data: Record<string, string> } | { ok: false; problem: string }

/** What a secret store offers the resolver. Problems name secrets, never values. */
export interface SecretStore {
  readonly name: string
  readonly type: 'secretstores.local.env' | 'secretstores.local.file'
  getSecret(secretName: string): SecretLookup
}

/** Dapr's key when `secretKeyRef.key` is omitted (components-contrib `secretstores.DefaultSecretRefKeyName`). */
export const DEFAULT_SECRET_KEY = '_value'
