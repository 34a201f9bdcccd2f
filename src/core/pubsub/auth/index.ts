/**
 * The credential a component's metadata asks for, if any. Each kind lives in a file of its own
 * and loads its SDKs only when a component uses it (function bundles stay lean).
 */
import type { MqttMetadata } from '../../resources/types.js'
import type { AuthProvider } from './types.js'

export type { AuthProvider, ConnectAuth } from './types.js'

export function authProviderFor(_md: MqttMetadata): AuthProvider | undefined {
  return undefined
}
