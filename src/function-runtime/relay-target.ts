import { inScope } from '../core/resources/scopes.js'
import type { PubsubComponent } from '../core/resources/types.js'
import type { RelayTarget } from './relay.js'
import { FunctionConfigError, type FunctionRuntime } from './runtime.js'

/**
 * The component a queue relay publishes through, chosen on the first message (the resources
 * load then) and kept while the instance is warm. Built by the relay handlers, not by the
 * runtime, so that an HTTP function's bundle does not carry it.
 */
export function lazyRelayTarget(runtime: FunctionRuntime): () => Promise<RelayTarget> {
  const { settings } = runtime
  let target: Promise<RelayTarget> | undefined
  return () => {
    // A failure is kept, as the runtime keeps a failed load: the resources do not change.
    target ??= runtime.resources().then(async (loaded) => {
      const visible = loaded.pubsubs.filter((p) => inScope(p.scopes, settings.appId ?? ''))
      const pubsub = choosePubsub(visible, settings.pubsubName)
      const relay: RelayTarget = { pubsub, publisher: runtime.publisher(pubsub) }
      if (settings.defaultTopic !== undefined) relay.defaultTopic = settings.defaultTopic
      if (settings.appId !== undefined) relay.appId = settings.appId
      const tracer = await runtime.tracer()
      if (tracer) relay.tracer = tracer
      return relay
    })
    return target
  }
}

/** `MQTTFN_PUBSUB` when set, else the only pubsub component. */
export function choosePubsub(pubsubs: readonly PubsubComponent[], name: string | undefined): PubsubComponent {
  const names = pubsubs.map((p) => p.name)
  if (name !== undefined) {
    const found = pubsubs.find((p) => p.name === name)
    if (found) return found
    throw new FunctionConfigError(
      `MQTTFN_PUBSUB names ${JSON.stringify(name)}, which is not a pubsub.mqtt component in the resources` +
        (names.length > 0 ? ` (there are: ${names.join(', ')})` : ' (there is none)'),
    )
  }
  const [only, ...more] = pubsubs
  if (only === undefined) throw new FunctionConfigError('the resources hold no pubsub.mqtt component')
  if (more.length > 0) {
    throw new FunctionConfigError(`the resources hold several pubsub components (${names.join(', ')}): set MQTTFN_PUBSUB to one of them`)
  }
  return only
}

