import type { PublishOptions } from '../core/pubsub/types.js'
import type { PubsubComponent } from '../core/resources/types.js'
import { boundByDeadline } from './deadline.js'

/** The part of a pubsub client a function uses: publish, resolved after the broker's ack. */
export interface Publisher {
  publish(topic: string, payload: Buffer | Uint8Array | string, options?: PublishOptions): Promise<void>
}

/**
 * The component's client with every publish bounded by the smaller of the component's
 * `publishTimeout` (or the caller's `timeoutMs`) and what is left of the invocation.
 */
export function boundedPublisher(component: PubsubComponent, client: Publisher): Publisher {
  return {
    publish(topic, payload, options = {}) {
      const timeoutMs = boundByDeadline(options.timeoutMs ?? component.metadata.publishTimeout)
      return client.publish(topic, payload, { ...options, timeoutMs })
    },
  }
}
