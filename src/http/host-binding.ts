/**
 * A process that runs user functions itself (`mqtt-fn dev`) answers their `pubsub()` calls
 * with its own publish API: its resources, pointed at its broker, with its reloads and its log.
 * The binding is process-global (a registered symbol), because the function's copy of
 * mqtt-fn may be another module instance than the host's (a built bundle, another install).
 */
import type { ApiHandler } from './types.js'

const KEY = Symbol.for('mqtt-fn.host.publishApi')

type Global = { [KEY]?: ApiHandler }

/** Binds `handler` for the functions of this process; the returned function unbinds it (if it is still the one bound). */
export function bindHostPublishApi(handler: ApiHandler): () => void {
  const global = globalThis as Global
  global[KEY] = handler
  return () => {
    if (global[KEY] === handler) delete global[KEY]
  }
}

/** The host's publish API, when a host has bound one. */
export function hostPublishApi(): ApiHandler | undefined {
  return (globalThis as Global)[KEY]
}
