import { randomBytes } from 'node:crypto'
import type { PubsubComponent } from '../resources/types.js'

/** One suffix per function instance: every client this process opens shares it. */
const INSTANCE_SUFFIX = randomBytes(3).toString('hex')

/**
 * The component as a function instance connects with it. Functions only publish, so they need
 * no persistent session, and many instances run at once: a configured consumerID shared by
 * all of them would make the broker kick each one off as the next connects (MQTT allows one
 * connection per client id). So each instance gets `consumerID-<6 hex>` and a clean session;
 * the forwarder, which subscribes, keeps the consumerID as configured.
 */
export function publisherComponent(component: PubsubComponent): PubsubComponent {
  const { metadata } = component
  if (!metadata.consumerIDConfigured && metadata.cleanSession) return component
  const clientId = metadata.consumerIDConfigured ? `${metadata.consumerID}-${INSTANCE_SUFFIX}` : metadata.consumerID
  return { ...component, metadata: { ...metadata, consumerID: clientId, cleanSession: true } }
}
