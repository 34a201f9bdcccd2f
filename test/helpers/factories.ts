import { randomBytes } from 'node:crypto'
import type { BrokerUrl, MqttMetadata } from '../../src/core/resources/types.js'

const DEFAULT_PORTS: Record<BrokerUrl['protocol'], number> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 }

/**
 * A BrokerUrl from `mqtt://user:pass@host:port` (also mqtts, ws, wss; tcp/ssl/tls as Dapr
 * aliases). Tests only: the real parser lives in src/core/resources.
 */
export function brokerUrl(url: string): BrokerUrl {
  const u = new URL(url)
  const scheme = u.protocol.replace(/:$/, '')
  const protocol = ({ tcp: 'mqtt', ssl: 'mqtts', tls: 'mqtts' } as Record<string, BrokerUrl['protocol']>)[scheme] ??
    (scheme as BrokerUrl['protocol'])
  if (!(protocol in DEFAULT_PORTS)) throw new Error(`brokerUrl: unsupported scheme ${scheme}`)
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1')
  const port = u.port ? Number(u.port) : DEFAULT_PORTS[protocol]
  const path = protocol === 'ws' || protocol === 'wss' ? u.pathname || '/' : '/'
  const hostPart = host.includes(':') ? `[${host}]` : host
  const result: BrokerUrl = {
    protocol,
    host,
    port,
    path,
    redacted: `${protocol}://${hostPart}:${port}${path === '/' ? '' : path}`,
  }
  if (u.username) result.username = decodeURIComponent(u.username)
  if (u.password) result.password = decodeURIComponent(u.password)
  return result
}

export function uniqueId(prefix = 'test'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`
}

export type MqttMetadataOverrides = Omit<Partial<MqttMetadata>, 'url'> & { url?: string | BrokerUrl }

/**
 * MqttMetadata as the resource loader would produce it, with the component defaults
 * (qos 0, retain false, cleanSession true, MQTT 3.1.1, keepAlive 30), short timeouts for
 * tests, and a default url on port 1 (refused) so that nothing reaches a real broker by accident;
 * tests. `url` may be a string. A `consumerID` given here counts as configured.
 */
export function mqttMetadata(overrides: MqttMetadataOverrides = {}): MqttMetadata {
  const { url, ...rest } = overrides
  return {
    consumerID: uniqueId('mqttfn'),
    consumerIDConfigured: overrides.consumerID !== undefined,
    qos: 0,
    retain: false,
    cleanSession: true,
    protocolVersion: 4,
    connectTimeout: 3000,
    keepAlive: 30,
    publishTimeout: 3000,
    maxInflight: 100,
    ...rest,
    url: typeof url === 'string' ? brokerUrl(url) : (url ?? brokerUrl('mqtt://127.0.0.1:1')),
  }
}
