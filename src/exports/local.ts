/**
 * `mqtt-fn/local`: the embedded broker (aedes) of the local runtime. Its own entry so that
 * `import 'mqtt-fn'` does not load aedes.
 *
 *   const broker = await startEmbeddedBroker({ port: 0 })
 *   // broker.url is mqtt://127.0.0.1:<port>
 *   await broker.close()
 */
export { startEmbeddedBroker } from '../local/broker.js'
export type { EmbeddedBroker, EmbeddedBrokerOptions } from '../local/broker.js'
