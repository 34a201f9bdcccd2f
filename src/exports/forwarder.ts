/**
 * `mqtt-fn/forwarder`: the long-running forwarder, the one part that needs pino, prom-client,
 * @bufbuild/cel (routes, circuit breakers) and undici (HTTP targets). Its own entry so that
 * `import 'mqtt-fn'` loads none of them.
 *
 *   const forwarder = await startForwarder({ resourcesPath: './resources', appUrl: 'http://127.0.0.1:3000' })
 *   await forwarder.stop()   // stops intake, drains in-flight deliveries, acks them
 */
export { startForwarder } from '../forwarder/index.js'
export type { Forwarder, ForwarderOptions, DeliveryEvent, StopReport } from '../forwarder/index.js'
