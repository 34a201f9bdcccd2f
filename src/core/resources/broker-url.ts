import type { BrokerUrl } from './types.js'

/** Dapr's scheme aliases (`mqtt`→`tcp`, `mqtts`/`tcps`/`tls`→`ssl`) mapped onto MQTT.js protocols. */
const SCHEMES: Record<string, { protocol: BrokerUrl['protocol']; port: number }> = {
  mqtt: { protocol: 'mqtt', port: 1883 },
  tcp: { protocol: 'mqtt', port: 1883 },
  mqtts: { protocol: 'mqtts', port: 8883 },
  tcps: { protocol: 'mqtts', port: 8883 },
  ssl: { protocol: 'mqtts', port: 8883 },
  tls: { protocol: 'mqtts', port: 8883 },
  ws: { protocol: 'ws', port: 80 },
  wss: { protocol: 'wss', port: 443 },
}

export const SUPPORTED_SCHEMES = Object.keys(SCHEMES)

const SHAPE = 'expected scheme://[username[:password]@]host[:port]'

export type BrokerUrlResult =
  | { ok: true; url: BrokerUrl; warnings: string[] }
  | { ok: false; problem: string }

/**
 * Parses the `url` metadata. No problem or warning ever quotes the URL: its userinfo may hold
 * a password. Only the scheme, which precedes `://` and so cannot be userinfo, is named.
 */
export function parseBrokerUrl(text: string): BrokerUrlResult {
  const trimmed = text.trim()
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(trimmed)?.[1]
  if (scheme === undefined) return { ok: false, problem: `not a valid URL (${SHAPE})` }
  const known = SCHEMES[scheme.toLowerCase()]
  if (!known) {
    const named = scheme.length <= 20 ? `scheme ${JSON.stringify(scheme)}` : 'the scheme'
    return {
      ok: false,
      problem: `${named} is not supported (use ${SUPPORTED_SCHEMES.join(', ')})`,
    }
  }
  let parsed: URL
  try {
    parsed = new URL(trimmed)
  } catch {
    return { ok: false, problem: `not a valid URL (${SHAPE})` }
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1')
  if (host === '') return { ok: false, problem: `has no host (${SHAPE})` }
  const port = parsed.port === '' ? known.port : Number(parsed.port)
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return { ok: false, problem: 'port must be between 1 and 65535' }
  }

  let username: string
  let password: string
  try {
    username = decodeURIComponent(parsed.username)
    password = decodeURIComponent(parsed.password)
  } catch {
    return { ok: false, problem: 'the username or password is not valid percent-encoding' }
  }

  const warnings: string[] = []
  const webSocket = known.protocol === 'ws' || known.protocol === 'wss'
  const path = webSocket ? parsed.pathname || '/' : '/'
  if (!webSocket && parsed.pathname !== '' && parsed.pathname !== '/') {
    warnings.push('a path is ignored with an MQTT over TCP scheme (only ws and wss use it)')
  }
  // A WebSocket URL keeps its query: a presigned URL or an authorizer's parameters live there.
  if (parsed.search !== '' && !webSocket) warnings.push('the query string is ignored with an MQTT over TCP scheme (only ws and wss send it)')
  if (parsed.hash !== '') warnings.push('the fragment is ignored')

  const displayHost = host.includes(':') ? `[${host}]` : host
  const url: BrokerUrl = {
    protocol: known.protocol,
    host,
    port,
    path,
    redacted: `${known.protocol}://${displayHost}:${port}${path === '/' ? '' : path}`,
  }
  if (webSocket && parsed.search.length > 1) url.query = parsed.search.slice(1)
  if (username !== '') url.username = username
  if (password !== '') url.password = password
  return { ok: true, url, warnings }
}
