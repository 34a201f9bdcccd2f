/**
 * AWS IoT Core credentials: `aws-sigv4` (a presigned WebSocket URL from the process's AWS
 * identity) and `aws-iot-authorizer` (a custom authorizer's name and token). Both are computed
 * before every connect attempt, so a reconnect after the role's credentials rotated signs with
 * the new ones. The AWS SDK code loads only when a SigV4 component first connects.
 */
import type { MqttMetadata } from '../../resources/types.js'
import type { AuthProvider, ConnectAuth } from './types.js'

/** Lifetime of a presigned URL: it is checked only at the WebSocket upgrade, and a new one is made for every attempt. */
export const PRESIGN_EXPIRES_SECONDS = 300

export interface SigV4Options {
  /** Default: the AWS SDK's default credential chain. */
  credentials?: () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }>
  /** Where the region falls back to when the metadata names none. Default process.env. */
  env?: Record<string, string | undefined>
  /** The signing clock (tests). */
  now?: () => Date
}

export function awsSigV4Provider(md: MqttMetadata, region: string | undefined, options: SigV4Options = {}): AuthProvider {
  const env = options.env ?? process.env
  return {
    kind: 'aws-sigv4',
    async prepare(): Promise<ConnectAuth> {
      const signingRegion = region ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION']
      if (!signingRegion) {
        throw new Error(`no region to sign for: set the component's awsRegion (or AWS_REGION); ${md.url.host} is not an <id>.iot.<region>.amazonaws.com endpoint`)
      }
      const { defaultCredentials, presignIotUrl } = await import('./aws-sigv4-presign.js')
      const source = options.credentials ?? defaultCredentials()
      let credentials
      try {
        credentials = await source()
      } catch (error) {
        throw new Error(`no AWS credentials from the default chain (a role, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile): ${error instanceof Error ? error.message : String(error)}`, { cause: error })
      }
      const url = await presignIotUrl({
        host: md.url.host,
        port: md.url.port,
        path: md.url.path,
        ...(md.url.query !== undefined ? { query: md.url.query } : {}),
        region: signingRegion,
        credentials,
        expiresInSeconds: PRESIGN_EXPIRES_SECONDS,
        ...(options.now ? { signingDate: options.now() } : {}),
      })
      // SigV4 replaces the userinfo: AWS IoT reads no username or password on this endpoint.
      const auth: ConnectAuth = { options: { username: undefined, password: undefined }, webSocketUrl: url }
      if (credentials.expiration) auth.expiresAt = credentials.expiration.getTime()
      return auth
    },
  }
}

type AuthorizerSettings = Extract<NonNullable<MqttMetadata['auth']>, { method: 'aws-iot-authorizer' }>

/** The custom authorizer's parameters, in the order AWS documents them. */
function authorizerParams(auth: AuthorizerSettings): URLSearchParams {
  const params = new URLSearchParams()
  if (auth.authorizerName) params.append('x-amz-customauthorizer-name', auth.authorizerName)
  if (auth.tokenKeyName && auth.token !== undefined) params.append(auth.tokenKeyName, auth.token)
  if (auth.tokenSignature !== undefined) params.append('x-amz-customauthorizer-signature', auth.tokenSignature)
  return params
}

/**
 * Over MQTT (TLS, port 443) the parameters ride in the username after `?`, and the ALPN must be
 * `mqtt`; over WebSocket they are query parameters of the upgrade. The URL's password, if any,
 * goes to the authorizer as the MQTT password.
 */
export function awsIotAuthorizerProvider(md: MqttMetadata, auth: AuthorizerSettings): AuthProvider {
  const params = authorizerParams(auth).toString().replace(/\+/g, '%20')
  const prepared: ConnectAuth = { options: {} }
  if (md.url.protocol === 'wss') {
    const query = [md.url.query, params].filter((q) => q !== undefined && q !== '').join('&')
    const port = md.url.port === 443 ? '' : `:${md.url.port}`
    prepared.webSocketUrl = `wss://${md.url.host}${port}${md.url.path}${query === '' ? '' : `?${query}`}`
  } else {
    prepared.options.username = params === '' ? (md.url.username ?? '') : `${md.url.username ?? ''}?${params}`
    if (md.alpnProtocols === undefined && md.url.port === 443) prepared.options.ALPNProtocols = ['mqtt']
  }
  return {
    kind: 'aws-iot-authorizer',
    prepare: async () => prepared,
  }
}
