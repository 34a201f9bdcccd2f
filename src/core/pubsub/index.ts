import type { MqttMetadata } from '../resources/types.js'
import { PubsubClient } from './client.js'
import type { PubsubClientOptions } from './types.js'

export { PubsubClient } from './client.js'
export { ConnectError, SubscribeError } from './errors.js'
export type * from './types.js'

/**
 * One client per process and component name, created on first use and reused across warm
 * invocations. `options` apply when the client is created. A client that was closed is
 * replaced by a new one on the next call.
 */
const clients = new Map<string, PubsubClient>()

export function getPubsubClient(
  component: { name: string; metadata: MqttMetadata },
  options: PubsubClientOptions = {},
): PubsubClient {
  const existing = clients.get(component.name)
  if (existing && existing.state !== 'closed') return existing
  const client = new PubsubClient(component, options)
  clients.set(component.name, client)
  return client
}

/** Closes every client made by getPubsubClient (each close is bounded). */
export async function closeAllPubsubClients(): Promise<void> {
  const all = [...clients.values()]
  clients.clear()
  await Promise.allSettled(all.map((c) => c.close()))
}
