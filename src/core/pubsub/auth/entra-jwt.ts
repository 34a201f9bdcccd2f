/**
 * Azure Event Grid's MQTT broker with a Microsoft Entra token: MQTT 5 enhanced authentication,
 * method `OAUTH2-JWT`, the JWT as the Authentication Data of the CONNECT. Before the token
 * expires the live connection re-authenticates (an AUTH packet, reason 0x19, with a new token),
 * so it is not dropped at the token's end; a broker that refuses the new token disconnects, and
 * the reconnect gets a fresh one. The identity SDK loads only when such a component connects.
 */
import type { MqttMetadata } from '../../resources/types.js'
import { sendAuth } from '../mqtt-internals.js'
import type { EntraToken } from './entra-token.js'
import type { AuthProvider, ConnectAuth } from './types.js'

export const OAUTH2_JWT = 'OAUTH2-JWT'
/** MQTT 5 AUTH reason code: Re-authenticate. */
const REAUTHENTICATE = 0x19

type JwtSettings = Extract<NonNullable<MqttMetadata['auth']>, { method: 'oauth2-jwt' }>

export interface EntraJwtOptions {
  /** Default: DefaultAzureCredential (entra-token.ts). */
  getToken?: (scope: string) => Promise<EntraToken>
}

export function entraJwtProvider(settings: JwtSettings, options: EntraJwtOptions = {}): AuthProvider {
  let source = options.getToken
  const token = async (): Promise<EntraToken> => {
    if (!source) {
      const { entraTokenSource } = await import('./entra-token.js')
      source = entraTokenSource(settings.clientId)
    }
    try {
      return await source(settings.scope)
    } catch (error) {
      throw new Error(`no Microsoft Entra token for ${settings.scope} (DefaultAzureCredential: a managed identity, AZURE_* variables, az login): ${error instanceof Error ? error.message : String(error)}`, { cause: error })
    }
  }
  const auth = (t: EntraToken): ConnectAuth => ({
    options: { properties: { authenticationMethod: OAUTH2_JWT, authenticationData: Buffer.from(t.token, 'utf8') } },
    expiresAt: t.expiresOnTimestamp,
  })
  return {
    kind: 'oauth2-jwt',
    async prepare() {
      return auth(await token())
    },
    async reauthenticate(client) {
      const renewed = auth(await token())
      await sendAuth(client, {
        cmd: 'auth',
        reasonCode: REAUTHENTICATE,
        properties: { authenticationMethod: OAUTH2_JWT, authenticationData: renewed.options.properties?.authenticationData as Buffer },
      })
      return renewed
    },
  }
}
