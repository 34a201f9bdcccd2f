/**
 * The credential a component's metadata asks for, if any. Each kind lives in a file of its own
 * and loads its SDKs only when a component uses it (function bundles stay lean).
 */
import type { MqttMetadata } from '../../resources/types.js'
import { awsIotAuthorizerProvider, awsSigV4Provider } from './aws-iot.js'
import { entraJwtProvider } from './entra-jwt.js'
import type { AuthProvider } from './types.js'

export type { AuthProvider, ConnectAuth } from './types.js'

export function authProviderFor(md: MqttMetadata): AuthProvider | undefined {
  const auth = md.auth
  if (auth === undefined) return undefined
  switch (auth.method) {
    case 'aws-sigv4':
      return awsSigV4Provider(md, auth.region)
    case 'aws-iot-authorizer':
      return awsIotAuthorizerProvider(md, auth)
    case 'oauth2-jwt':
      return entraJwtProvider(auth)
  }
}
