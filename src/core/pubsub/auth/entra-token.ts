/**
 * The Azure side of `authMethod: oauth2-jwt`: Microsoft Entra tokens from @azure/identity's
 * DefaultAzureCredential. Only entra-jwt.ts imports it, dynamically, at the first connect of a
 * component that asks for it: nobody else loads the Azure identity SDK.
 */
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity'

export interface EntraToken {
  token: string
  /** Epoch ms. */
  expiresOnTimestamp: number
}

const credentials = new Map<string, TokenCredential>()

/** One credential per managed identity, kept for the process: it caches tokens and refreshes them. */
export function entraTokenSource(clientId: string | undefined): (scope: string) => Promise<EntraToken> {
  const key = clientId ?? ''
  let credential = credentials.get(key)
  if (!credential) {
    credential = new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {})
    credentials.set(key, credential)
  }
  const chosen = credential
  return async (scope) => {
    const token = await chosen.getToken(scope)
    if (!token) throw new Error(`DefaultAzureCredential returned no token for ${scope}`)
    return { token: token.token, expiresOnTimestamp: token.expiresOnTimestamp }
  }
}
