/**
 * The publish API's broker clients for one generation of resources in `mqtt-fn dev`. A reload
 * starts a new generation at once (new requests use the new resources) and retires the old
 * one: its publishes still in flight finish on the clients they started on, then those
 * clients close. Sharing one process-wide cache across generations lost both: a reload closed
 * the clients under in-flight publishes (a 500), and a request in the gap could leave a client
 * built from the old resources in the cache for good.
 */
import { PubsubClient } from '../core/pubsub/index.js'
import type { PublishOptions } from '../core/pubsub/types.js'
import type { PubsubComponent } from '../core/resources/types.js'
import type { PublishClient } from '../http/options.js'
import { publisherComponent } from '../core/pubsub/publisher-identity.js'
import { settlesWithin } from '../core/timeout.js'

export class PublishClients {
  readonly #clients = new Map<string, PubsubClient>()
  #inFlight = 0
  #idle: (() => void) | undefined

  /** `beforePublish` sees each publish first (the dev trace's first hop). */
  constructor(private readonly beforePublish: (component: PubsubComponent, topic: string, payload: Buffer) => void = () => {}) {}

  get inFlight(): number {
    return this.#inFlight
  }

  get(component: PubsubComponent): PublishClient {
    let client = this.#clients.get(component.name)
    if (!client) {
      // The HTTP function's own client, as in the cloud: it must not take the forwarder's client id.
      client = new PubsubClient(publisherComponent(component))
      this.#clients.set(component.name, client)
    }
    const used = client
    return {
      publish: async (topic: string, payload: Buffer, options?: PublishOptions) => {
        this.#inFlight++
        try {
          this.beforePublish(component, topic, payload)
          await used.publish(topic, payload, options)
        } finally {
          if (--this.#inFlight === 0) this.#idle?.()
        }
      },
    }
  }

  /** Waits (at most `timeoutMs`) for the publishes in flight, then closes every client. */
  async retire(timeoutMs = 5_000): Promise<void> {
    if (this.#inFlight > 0) {
      await settlesWithin(new Promise<void>((resolve) => (this.#idle = resolve)), timeoutMs)
    }
    const clients = [...this.#clients.values()]
    this.#clients.clear()
    await Promise.allSettled(clients.map((c) => c.close()))
  }
}
