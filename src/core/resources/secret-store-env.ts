import type { SecretLookup, SecretStore } from './secret-store.js'

/**
 * `secretstores.local.env` (components-contrib `secretstores/local/env/envstore.go`): the secret
 * `NAME` is the variable `<prefix>NAME`, returned under the key `NAME`. `DAPR_*` and
 * `APP_API_TOKEN` are never readable. Where daprd returns an empty value for an unset or
 * forbidden variable, this store reports it, so a typo fails at load instead of connecting
 * with an empty password.
 */
export class EnvSecretStore implements SecretStore {
  readonly type = 'secretstores.local.env' as const

  constructor(
    readonly name: string,
    private readonly prefix: string,
    private readonly env: Record<string, string | undefined>,
  ) {}

  getSecret(secretName: string): SecretLookup {
    const variable = this.prefix + secretName
    if (!isAllowed(variable)) {
      return { ok: false, problem: `environment variable ${JSON.stringify(variable)} is off limits (DAPR_* and APP_API_TOKEN cannot be read)` }
    }
    const value = Object.prototype.hasOwnProperty.call(this.env, variable) ? this.env[variable] : undefined
    if (value === undefined) return { ok: false, problem: `environment variable ${JSON.stringify(variable)} is not set` }
    return { ok: true, data: { [secretName]: value } }
  }
}

function isAllowed(variable: string): boolean {
  const upper = variable.toUpperCase()
  return upper !== 'APP_API_TOKEN' && !upper.startsWith('DAPR_')
}
