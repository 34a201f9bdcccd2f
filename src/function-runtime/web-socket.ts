import type { LoadedResources } from '../core/resources/types.js'

// MQTT.js's WebSocket transport (its connect/ws.js and the `ws` package, about 50 kB) is a
// chunk beside a function bundle, mqtt-ws.mjs (scripts/build.mjs): the bundle's copy of
// connect/ws.js only forwards to what `loadWebSocketTransport` loaded. Run from source or from
// the library, MQTT.js uses its own connect/ws.js and this module is idle.

type Transport = typeof import('./web-socket-transport.js')

let transport: Transport | undefined

/** True when a component connects over ws:// or wss:// (an `aws-sigv4` one too: it presigns a wss:// URL). */
export function usesWebSocket(loaded: LoadedResources): boolean {
  return loaded.pubsubs.some((p) => p.metadata.url.protocol === 'ws' || p.metadata.url.protocol === 'wss')
}

/** Loads the transport; the function runtime awaits it before the first connect of such a component. */
export async function loadWebSocketTransport(): Promise<void> {
  transport ??= await import('./web-socket-transport.js')
}

/** What a bundle's connect/ws.js forwards to; `protocol` names the scheme when it was not loaded. */
export function webSocketTransport(protocol: string | undefined): Transport {
  if (transport !== undefined) return transport
  throw new Error(
    `MQTT over WebSocket (${protocol ?? 'ws'}://) is loaded from mqtt-ws.mjs beside the function bundle before the first connect ` +
      'of a ws:// or wss:// component by the function runtime, which has not happened here',
  )
}
