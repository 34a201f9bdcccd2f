// authMethod oauth2-jwt (Azure Event Grid's MQTT broker with Microsoft Entra tokens) against a
// local MQTT 5 peer that speaks enhanced authentication (test/helpers/mqtt5-auth-peer.ts): the
// token in the CONNECT, re-authentication on the live connection before it expires, an expired
// or refused token, and DefaultAzureCredential itself against a local managed-identity endpoint.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ResourceError } from '../../../src/core/errors.js'
import { entraJwtProvider } from '../../../src/core/pubsub/auth/entra-jwt.js'
import { PubsubClient } from '../../../src/core/pubsub/index.js'
import { parseMqttMetadata } from '../../../src/core/resources/index.js'
import type { MqttMetadata } from '../../../src/core/resources/types.js'
import { generateCerts, type TestCerts } from '../../helpers/certs.js'
import { waitFor } from '../../helpers/forwarder.js'
import { startAuthPeer, type AuthPeer } from '../../helpers/mqtt5-auth-peer.js'

let certs: TestCerts
let peer: AuthPeer
/** Tokens the peer accepts, with when each expires (epoch ms). */
const valid = new Map<string, number>()

beforeAll(async () => {
  certs = await generateCerts()
  peer = await startAuthPeer({
    key: certs.server.key.pem,
    cert: certs.server.cert.pem,
    accepts: (token) => (valid.get(token) ?? 0) > Date.now(),
  })
})

afterAll(async () => {
  await peer?.close()
  await certs?.cleanup()
})

function metadata(extra: Record<string, string> = {}): MqttMetadata {
  return parseMqttMetadata({ url: `mqtts://localhost:${peer.port}`, authMethod: 'oauth2-jwt', protocolVersion: '5', caCert: certs.ca.cert.pem, qos: '1', ...extra }).metadata
}

type JwtAuth = Extract<NonNullable<MqttMetadata['auth']>, { method: 'oauth2-jwt' }>

/** A token source that hands out `tokens` in turn (the last one again when they run out). */
function tokens(...list: { token: string; lifetimeMs: number }[]) {
  const issued: string[] = []
  let i = 0
  const getToken = async (scope: string) => {
    const next = list[Math.min(i++, list.length - 1)] as { token: string; lifetimeMs: number }
    issued.push(`${next.token}@${scope}`)
    return { token: next.token, expiresOnTimestamp: Date.now() + next.lifetimeMs }
  }
  return { getToken, issued }
}

function client(md: MqttMetadata, getToken: (scope: string) => Promise<{ token: string; expiresOnTimestamp: number }>, errors: string[] = []): PubsubClient {
  const c = new PubsubClient({ name: 'eventgrid', metadata: md }, { auth: entraJwtProvider(md.auth as JwtAuth, { getToken }), reconnectBaseMs: 20 })
  c.on('error', (e) => errors.push(e.message))
  return c
}

describe('authMethod oauth2-jwt: a Microsoft Entra token as MQTT 5 enhanced authentication', () => {
  it('sends the token as OAUTH2-JWT authentication data in the CONNECT, for Event Grid\'s scope', async () => {
    valid.set('jwt-1', Date.now() + 3_600_000)
    const source = tokens({ token: 'jwt-1', lifetimeMs: 3_600_000 })
    const before = peer.connects.length
    const c = client(metadata(), source.getToken)
    try {
      await c.connect()
      await c.publish('devices/one', 'hello', { qos: 1 })
      expect(peer.connects.slice(before)).toEqual([{ method: 'OAUTH2-JWT', token: 'jwt-1', accepted: true }])
      expect(source.issued).toEqual(['jwt-1@https://eventgrid.azure.net/.default'])
      expect(peer.publishes.at(-1)).toEqual({ topic: 'devices/one', payload: 'hello' })
    } finally {
      await c.close()
    }
  })

  it('re-authenticates on the live connection before the token expires: AUTH 0x19 with a new token, no reconnect', async () => {
    valid.set('jwt-short', Date.now() + 60_000)
    valid.set('jwt-renewed', Date.now() + 3_600_000)
    // The first token says it lasts 3 s: the renewal comes at 1 s, well before.
    const source = tokens({ token: 'jwt-short', lifetimeMs: 3000 }, { token: 'jwt-renewed', lifetimeMs: 3_600_000 })
    const connectsBefore = peer.connects.length
    const authsBefore = peer.auths.length
    const errors: string[] = []
    const c = client(metadata(), source.getToken, errors)
    try {
      await c.connect()
      await waitFor(() => peer.auths.length > authsBefore, 10_000, 'an AUTH packet')
      expect(peer.auths.slice(authsBefore)).toEqual([{ reasonCode: 0x19, method: 'OAUTH2-JWT', token: 'jwt-renewed', accepted: true }])
      await c.publish('devices/renewed', 'still here', { qos: 1 })
      expect(peer.connects.length - connectsBefore).toBe(1)
      expect(errors).toEqual([])
    } finally {
      await c.close()
    }
  })

  it('an expired token is refused (CONNACK Not authorized); the next attempt asks for a fresh one and gets in', async () => {
    valid.set('jwt-expired', Date.now() - 1000)
    valid.set('jwt-fresh', Date.now() + 3_600_000)
    const source = tokens({ token: 'jwt-expired', lifetimeMs: 3_600_000 }, { token: 'jwt-fresh', lifetimeMs: 3_600_000 })
    const before = peer.connects.length
    const errors: string[] = []
    const c = client(metadata(), source.getToken, errors)
    try {
      await c.connect()
      expect(peer.connects.slice(before).map((x) => [x.token, x.accepted])).toEqual([
        ['jwt-expired', false],
        ['jwt-fresh', true],
      ])
      expect(errors.join('\n')).toMatch(/Not authorized/i)
      expect(errors.join('\n')).not.toContain('jwt-expired')
    } finally {
      await c.close()
    }
  })

  it('a renewed token the broker refuses ends the connection; the reconnect prepares a fresh token', async () => {
    valid.set('jwt-a', Date.now() + 60_000)
    valid.set('jwt-b', Date.now() + 3_600_000)
    const source = tokens({ token: 'jwt-a', lifetimeMs: 3000 }, { token: 'jwt-revoked', lifetimeMs: 3_600_000 }, { token: 'jwt-b', lifetimeMs: 3_600_000 })
    const connectsBefore = peer.connects.length
    const authsBefore = peer.auths.length
    const c = client(metadata(), source.getToken)
    try {
      await c.connect()
      await waitFor(() => peer.connects.length - connectsBefore >= 2 && c.state === 'connected', 15_000, 'the reconnect')
      expect(peer.auths.slice(authsBefore).map((a) => [a.token, a.accepted])).toEqual([['jwt-revoked', false]])
      expect(peer.connects.slice(connectsBefore).map((x) => [x.token, x.accepted])).toEqual([
        ['jwt-a', true],
        ['jwt-b', true],
      ])
      await c.publish('devices/after', 'x', { qos: 1 })
    } finally {
      await c.close()
    }
  })

  it('refuses what cannot work, naming the field', () => {
    const problem = (md: Record<string, string>) => {
      try {
        parseMqttMetadata(md)
      } catch (error) {
        expect(error).toBeInstanceOf(ResourceError)
        return (error as Error).message
      }
      throw new Error('parsed')
    }
    expect(problem({ url: 'mqtts://ns.westeurope-1.ts.eventgrid.azure.net:8883', authMethod: 'oauth2-jwt' })).toContain(
      'protocolVersion: must be 5 with authMethod oauth2-jwt (the token travels as MQTT 5 enhanced authentication)',
    )
    expect(problem({ url: 'mqtt://localhost', authMethod: 'oauth2-jwt', protocolVersion: '5' })).toContain('oauth2-jwt sends a bearer token: the url must be mqtts:// or wss://')
    const parsed = parseMqttMetadata({ url: 'mqtts://ns.westeurope-1.ts.eventgrid.azure.net:8883', authMethod: 'oauth2-jwt', protocolVersion: '5', azureClientId: 'abc' })
    expect(parsed.metadata.auth).toEqual({ method: 'oauth2-jwt', scope: 'https://eventgrid.azure.net/.default', clientId: 'abc' })
    expect(parseMqttMetadata({ url: 'mqtt://x', oauth2Scope: 's' }).warnings).toEqual([expect.stringContaining('oauth2Scope: is used only with authMethod oauth2-jwt; ignored')])
  })
})

describe('DefaultAzureCredential, from metadata alone, against a local managed-identity endpoint', () => {
  let msi: http.Server
  const requests: { url: string; header: string | undefined }[] = []
  let issued = 0
  beforeAll(async () => {
    // App Service's managed identity protocol (IDENTITY_ENDPOINT + IDENTITY_HEADER), which
    // DefaultAzureCredential's ManagedIdentityCredential speaks.
    msi = http.createServer((req, res) => {
      requests.push({ url: req.url ?? '', header: req.headers['x-identity-header'] as string | undefined })
      const token = `msi-token-${++issued}`
      valid.set(token, Date.now() + 3_600_000)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ access_token: token, expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource: 'https://eventgrid.azure.net', token_type: 'Bearer' }))
    })
    await new Promise<void>((resolve) => msi.listen(0, '127.0.0.1', resolve))
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => msi?.close(() => resolve()))
  })

  it('gets the token the identity endpoint issues and connects with it', async () => {
    const saved = { ...process.env }
    for (const k of Object.keys(process.env)) if (k.startsWith('AZURE_') || k.startsWith('IDENTITY_') || k === 'MSI_ENDPOINT' || k === 'MSI_SECRET') delete process.env[k]
    Object.assign(process.env, { IDENTITY_ENDPOINT: `http://127.0.0.1:${(msi.address() as AddressInfo).port}/msi/token`, IDENTITY_HEADER: 'local-header-secret' })
    const before = peer.connects.length
    const md = metadata()
    const c = new PubsubClient({ name: 'eventgrid-msi', metadata: md })
    try {
      await c.connect()
      expect(peer.connects.slice(before)).toEqual([{ method: 'OAUTH2-JWT', token: 'msi-token-1', accepted: true }])
      expect(requests[0]?.header).toBe('local-header-secret')
      expect(new URL(requests[0]?.url ?? '', 'http://x').searchParams.get('resource')).toBe('https://eventgrid.azure.net')
    } finally {
      await c.close()
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
      Object.assign(process.env, saved)
    }
  })
})
