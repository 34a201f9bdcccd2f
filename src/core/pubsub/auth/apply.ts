import type { MqttClient } from 'mqtt'
import type { ConnectAuth } from './types.js'

/**
 * Puts one attempt's credential on the MQTT.js client before connect(): MQTT.js reads
 * `client.options` afresh on every connect (CONNECT packet, stream builder), and calls
 * `transformWsUrl` synchronously, so an async credential is computed first and handed in here.
 */
export function applyConnectAuth(client: MqttClient, auth: ConnectAuth): void {
  const o = client.options
  const { properties, ...rest } = auth.options
  Object.assign(o, rest)
  if (properties) o.properties = { ...o.properties, ...properties }
  const url = auth.webSocketUrl
  if (url !== undefined) o.transformWsUrl = () => url
}
