/**
 * An independent check of an AWS IoT SigV4-presigned WebSocket URL, written from AWS's
 * documentation (Signature Version 4 for query strings; AWS IoT's WebSocket rules: service
 * `iotdevicegateway`, payload hash of the empty string, `X-Amz-Security-Token` appended after
 * signing and not signed). It shares no code with mqtt-fn's signer: node:crypto only.
 */
import { createHash, createHmac } from 'node:crypto'

export interface KnownKey {
  secretAccessKey: string
  /** The session token the URL must carry, for temporary credentials. */
  sessionToken?: string
}

export type Verdict = { ok: true; accessKeyId: string; amzDate: string; sessionToken?: string } | { ok: false; reason: string }

const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
const sha256Hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex')
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest()

/** `20261204T101500Z` → epoch ms. */
function parseAmzDate(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text)
  if (!m) return Number.NaN
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[]
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s)
}

export function verifyPresignedIotUrl(
  requestUrl: string,
  hostHeader: string,
  options: { region: string; keys: Record<string, KnownKey>; now?: number },
): Verdict {
  const url = new URL(requestUrl, `https://${hostHeader}`)
  const q = url.searchParams
  const get = (name: string) => q.get(name) ?? undefined
  if (get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return { ok: false, reason: `algorithm ${get('X-Amz-Algorithm')}` }
  const credential = get('X-Amz-Credential')?.split('/')
  if (!credential || credential.length !== 5) return { ok: false, reason: 'no X-Amz-Credential' }
  const [accessKeyId, day, region, service, terminator] = credential as [string, string, string, string, string]
  if (region !== options.region || service !== 'iotdevicegateway' || terminator !== 'aws4_request') {
    return { ok: false, reason: `scope ${credential.slice(1).join('/')}` }
  }
  const key = options.keys[accessKeyId]
  if (!key) return { ok: false, reason: `unknown access key ${accessKeyId}` }
  const amzDate = get('X-Amz-Date') ?? ''
  const signedAt = parseAmzDate(amzDate)
  if (!amzDate.startsWith(day) || Number.isNaN(signedAt)) return { ok: false, reason: `date ${amzDate}` }
  const expires = Number(get('X-Amz-Expires'))
  if (!Number.isInteger(expires) || expires <= 0 || expires > 604_800) return { ok: false, reason: `X-Amz-Expires ${get('X-Amz-Expires')}` }
  const now = options.now ?? Date.now()
  if (now > signedAt + expires * 1000) return { ok: false, reason: 'expired' }
  if (signedAt > now + 5 * 60_000) return { ok: false, reason: 'signed in the future' }
  if (get('X-Amz-SignedHeaders') !== 'host') return { ok: false, reason: `signed headers ${get('X-Amz-SignedHeaders')}` }
  const token = get('X-Amz-Security-Token')
  if ((key.sessionToken ?? undefined) !== token) return { ok: false, reason: 'session token missing or wrong' }

  const pairs: [string, string][] = []
  for (const [k, v] of q) if (k !== 'X-Amz-Signature' && k !== 'X-Amz-Security-Token') pairs.push([rfc3986(k), rfc3986(v)])
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
  const canonicalRequest = [
    'GET',
    url.pathname.split('/').map((seg) => rfc3986(decodeURIComponent(seg))).join('/'),
    pairs.map(([k, v]) => `${k}=${v}`).join('&'),
    `host:${hostHeader}\n`,
    'host',
    sha256Hex(''),
  ].join('\n')
  const scope = `${day}/${region}/${service}/aws4_request`
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n')
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${key.secretAccessKey}`, day), region), service), 'aws4_request')
  const expected = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex')
  if (expected !== get('X-Amz-Signature')) return { ok: false, reason: 'signature does not match' }
  return { ok: true, accessKeyId, amzDate, ...(token ? { sessionToken: token } : {}) }
}
