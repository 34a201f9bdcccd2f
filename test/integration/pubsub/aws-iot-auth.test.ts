// AWS IoT Core's ways in, against local stand-ins: a WSS broker that lets a WebSocket upgrade
// through only with a valid SigV4 presigned URL (checked by an independent verifier), a TLS
// server that records the ALPN protocol and client certificate, and an authorizer's parameters
// as the broker receives them. Components are parsed from metadata as a user writes it.
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws'
import { ResourceError } from '../../../src/core/errors.js'
import { awsIotAuthorizerProvider, awsSigV4Provider } from '../../../src/core/pubsub/auth/aws-iot.js'
import { PubsubClient } from '../../../src/core/pubsub/index.js'
import { parseMqttMetadata } from '../../../src/core/resources/index.js'
import type { MqttMetadata } from '../../../src/core/resources/types.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { generateCerts, type TestCerts } from '../../helpers/certs.js'
import { recordTopics } from '../../helpers/mqtt-recorder.js'
import { verifyPresignedIotUrl, type Verdict } from '../../helpers/sigv4-verifier.js'

const REGION = 'eu-west-1'
const KEYS = {
  AKIDENVCHAIN: { secretAccessKey: 'env-secret', sessionToken: 'env-session-token' },
  AKIDROTATE1: { secretAccessKey: 'secret-1', sessionToken: 'token-1' },
  AKIDROTATE2: { secretAccessKey: 'secret-2', sessionToken: 'token-2' },
  AKIDLONGTERM: { secretAccessKey: 'long-term-secret' },
}

let certs: TestCerts
let broker: EmbeddedBroker
let https443: https.Server
let wsPort: number
const sockets = new Set<WebSocket>()
const verdicts: Verdict[] = []
const authorizerUpgrades: string[] = []
const mqttUsernames: { username: string | undefined; password: string | undefined }[] = []

beforeAll(async () => {
  certs = await generateCerts()
  broker = await startEmbeddedBroker({
    aedes: {
      authenticate: (_client, username, password, done) => {
        mqttUsernames.push({ username, password: password?.toString() })
        done(null, true)
      },
    },
  })
  const wss = new WebSocketServer({ noServer: true })
  https443 = https.createServer({ key: certs.server.key.pem, cert: certs.server.cert.pem })
  https443.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0]
    if (path === '/mqtt') {
      const verdict = verifyPresignedIotUrl(req.url ?? '', req.headers.host ?? '', { region: REGION, keys: KEYS })
      verdicts.push(verdict)
      if (!verdict.ok) {
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
        return
      }
    } else if (path === '/authz') {
      authorizerUpgrades.push(req.url ?? '')
    } else {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws)
      ws.on('close', () => sockets.delete(ws))
      broker.aedes.handle(createWebSocketStream(ws) as never)
    })
  })
  await new Promise<void>((resolve) => https443.listen(0, '127.0.0.1', resolve))
  wsPort = (https443.address() as AddressInfo).port
})

afterAll(async () => {
  for (const ws of sockets) ws.terminate()
  await new Promise<void>((resolve) => https443?.close(() => resolve()))
  await broker?.close()
  await certs?.cleanup()
})

function iotMetadata(extra: Record<string, string> = {}): MqttMetadata {
  return parseMqttMetadata({ url: `wss://localhost:${wsPort}/mqtt`, authMethod: 'aws-sigv4', awsRegion: REGION, caCert: certs.ca.cert.pem, qos: '1', ...extra }).metadata
}

function connectedAgain(client: PubsubClient): Promise<void> {
  return new Promise<void>((resolve) => {
    let down = false
    client.on('state', (s) => {
      if (s !== 'connected') down = true
      else if (down) resolve()
    })
  })
}

describe('authMethod aws-sigv4: a presigned wss:// URL, as AWS IoT Core checks it', () => {
  it('signs with the default credential chain from metadata alone; the broker accepts it and a QoS 1 publish arrives', async () => {
    const saved = { ...process.env }
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDENVCHAIN', AWS_SECRET_ACCESS_KEY: 'env-secret', AWS_SESSION_TOKEN: 'env-session-token' })
    const recorder = await recordTopics(broker.url, 'iot/chain')
    const client = new PubsubClient({ name: 'iot', metadata: iotMetadata() })
    try {
      const before = verdicts.length
      await client.connect()
      const got = recorder.next((m) => m.topic === 'iot/chain')
      await client.publish('iot/chain', 'hello', { qos: 1 })
      expect((await got).payload.toString()).toBe('hello')
      expect(verdicts.slice(before)).toEqual([{ ok: true, accessKeyId: 'AKIDENVCHAIN', amzDate: expect.any(String), sessionToken: 'env-session-token' }])
    } finally {
      await client.close()
      await recorder.close()
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
        if (saved[k] === undefined) delete process.env[k]
        else process.env[k] = saved[k]
      }
    }
  })

  it('signs again at every reconnect, with the credentials of that moment (a role\'s rotate)', async () => {
    let n = 0
    const credentials = async () => {
      n++
      const id = n === 1 ? 'AKIDROTATE1' : 'AKIDROTATE2'
      const key = KEYS[id]
      return { accessKeyId: id, secretAccessKey: key.secretAccessKey, sessionToken: key.sessionToken, expiration: new Date(Date.now() + 900_000) }
    }
    const md = iotMetadata()
    const client = new PubsubClient({ name: 'iot', metadata: md }, { auth: awsSigV4Provider(md, REGION, { credentials }), reconnectBaseMs: 20 })
    try {
      const before = verdicts.length
      await client.connect()
      const again = connectedAgain(client)
      for (const ws of sockets) ws.terminate()
      await again
      expect(verdicts.slice(before).map((v) => (v.ok ? [v.accessKeyId, v.sessionToken] : v.reason))).toEqual([
        ['AKIDROTATE1', 'token-1'],
        ['AKIDROTATE2', 'token-2'],
      ])
      await client.publish('iot/rotated', 'x', { qos: 1 })
    } finally {
      await client.close()
    }
  })

  it('a signature past its X-Amz-Expires is refused; the next attempt, signed afresh, gets in', async () => {
    let calls = 0
    const md = iotMetadata()
    const stale = () => (++calls === 1 ? new Date(Date.now() - 10 * 60_000) : new Date())
    const credentials = async () => ({ accessKeyId: 'AKIDLONGTERM', secretAccessKey: 'long-term-secret' })
    const errors: string[] = []
    const client = new PubsubClient({ name: 'iot', metadata: md }, { auth: awsSigV4Provider(md, REGION, { credentials, now: stale }), reconnectBaseMs: 20 })
    client.on('error', (e) => errors.push(e.message))
    try {
      const before = verdicts.length
      await client.connect()
      expect(verdicts.slice(before).map((v) => (v.ok ? 'ok' : v.reason))).toEqual(['expired', 'ok'])
      expect(errors.join('\n')).not.toContain('X-Amz-Signature')
    } finally {
      await client.close()
    }
  })

  it('refuses what cannot connect, naming the field; finds the region in an IoT endpoint', async () => {
    const parse = (md: Record<string, string>) => {
      try {
        parseMqttMetadata(md)
      } catch (error) {
        expect(error).toBeInstanceOf(ResourceError)
        return (error as Error).message
      }
      throw new Error('parsed')
    }
    expect(parse({ url: 'mqtts://localhost:8883', authMethod: 'aws-sigv4' })).toContain('authMethod: aws-sigv4 signs a WebSocket URL: the url must be wss://<endpoint>/mqtt (got mqtts://)')
    expect(parse({ url: 'wss://x/mqtt', authMethod: 'kerberos' })).toContain('authMethod: must be one of none, aws-sigv4, aws-iot-authorizer, oauth2-jwt (got "kerberos")')
    expect(parse({ url: 'mqtt://x', authMethod: 'aws-iot-authorizer' })).toContain('AWS IoT custom authorizers need TLS')
    expect(parse({ url: 'mqtts://x:443', authMethod: 'aws-iot-authorizer', awsIotToken: 't' })).toContain('awsIotTokenKeyName: is required when awsIotToken is set')
    const found = parseMqttMetadata({ url: 'wss://a1b2c3-ats.iot.eu-central-1.amazonaws.com/mqtt', authMethod: 'aws-sigv4' })
    expect(found.metadata.auth).toEqual({ method: 'aws-sigv4', region: 'eu-central-1' })
    expect(found.metadata.url.port).toBe(443)
    // No region anywhere: the attempt fails naming the setting.
    const nowhere = parseMqttMetadata({ url: 'wss://broker.example/mqtt', authMethod: 'aws-sigv4' }).metadata
    await expect(awsSigV4Provider(nowhere, undefined, { env: {} }).prepare()).rejects.toThrow(/set the component's awsRegion \(or AWS_REGION\)/)
    expect(await awsSigV4Provider(nowhere, undefined, { env: { AWS_REGION: REGION }, credentials: async () => ({ accessKeyId: 'AKIDLONGTERM', secretAccessKey: 'long-term-secret' }) }).prepare()).toMatchObject({
      webSocketUrl: expect.stringContaining(`%2F${REGION}%2Fiotdevicegateway%2Faws4_request`),
    })
  })
})

describe('mTLS with ALPN, and custom authorizers', () => {
  let tlsServer: tls.Server
  let tlsPort: number
  const alpn: (string | false | null)[] = []
  const peers: string[] = []
  beforeAll(async () => {
    tlsServer = tls.createServer(
      { key: certs.server.key.pem, cert: certs.server.cert.pem, ca: certs.ca.cert.pem, requestCert: true, rejectUnauthorized: false, ALPNProtocols: ['x-amzn-mqtt-ca', 'mqtt'] },
      (socket) => {
        alpn.push(socket.alpnProtocol)
        peers.push(socket.authorized ? String(socket.getPeerCertificate().subject?.CN) : 'anonymous')
        broker.aedes.handle(socket)
      },
    )
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve))
    tlsPort = (tlsServer.address() as AddressInfo).port
  })
  afterAll(async () => {
    await new Promise<void>((resolve) => tlsServer?.close(() => resolve()))
  })

  it('client certificates with alpnProtocols x-amzn-mqtt-ca: the TLS server negotiates that protocol', async () => {
    const { metadata } = parseMqttMetadata({
      url: `mqtts://localhost:${tlsPort}`,
      alpnProtocols: 'x-amzn-mqtt-ca',
      caCert: certs.ca.cert.pem,
      clientCert: certs.client.cert.pem,
      clientKey: certs.client.key.pem,
    })
    const client = new PubsubClient({ name: 'iot-mtls', metadata })
    try {
      await client.connect()
      expect(alpn.at(-1)).toBe('x-amzn-mqtt-ca')
      expect(peers.at(-1)).not.toBe('anonymous')
    } finally {
      await client.close()
    }
  })

  it('a custom authorizer over MQTT: name, token and signature in the username; the password passed on; ALPN mqtt', async () => {
    const { metadata } = parseMqttMetadata({
      url: `mqtts://device:pw%2B1@localhost:${tlsPort}`,
      authMethod: 'aws-iot-authorizer',
      awsIotAuthorizerName: 'my-authorizer',
      awsIotTokenKeyName: 'token',
      awsIotToken: 'tok en+1',
      awsIotTokenSignature: 'sig/==',
      alpnProtocols: 'mqtt',
      caCert: certs.ca.cert.pem,
    })
    const client = new PubsubClient({ name: 'iot-authz', metadata })
    try {
      await client.connect()
      expect(alpn.at(-1)).toBe('mqtt')
      const seen = mqttUsernames.at(-1)
      expect(seen?.password).toBe('pw+1')
      const [user, query] = (seen?.username ?? '').split('?') as [string, string]
      expect(user).toBe('device')
      expect([...new URLSearchParams(query)]).toEqual([
        ['x-amz-customauthorizer-name', 'my-authorizer'],
        ['token', 'tok en+1'],
        ['x-amz-customauthorizer-signature', 'sig/=='],
      ])
    } finally {
      await client.close()
    }
    // On 443 without alpnProtocols, ALPN `mqtt` is what AWS IoT asks of a custom authorizer over MQTT.
    const on443 = parseMqttMetadata({ url: 'mqtts://abc-ats.iot.eu-west-1.amazonaws.com:443', authMethod: 'aws-iot-authorizer', awsIotAuthorizerName: 'a' }).metadata
    expect((await awsIotAuthorizerProvider(on443, on443.auth as never).prepare()).options.ALPNProtocols).toEqual(['mqtt'])
  })

  it('a custom authorizer over WebSocket: the parameters, and the URL\'s own query, in the upgrade request', async () => {
    const { metadata, warnings } = parseMqttMetadata({
      url: `wss://localhost:${wsPort}/authz?stage=prod`,
      authMethod: 'aws-iot-authorizer',
      awsIotAuthorizerName: 'ws-authorizer',
      awsIotTokenKeyName: 'x-token',
      awsIotToken: 'abc',
      caCert: certs.ca.cert.pem,
    })
    expect(warnings).toEqual([])
    const client = new PubsubClient({ name: 'iot-authz-ws', metadata })
    try {
      await client.connect()
      const url = new URL(authorizerUpgrades.at(-1) ?? '', 'https://localhost')
      expect([...url.searchParams]).toEqual([
        ['stage', 'prod'],
        ['x-amz-customauthorizer-name', 'ws-authorizer'],
        ['x-token', 'abc'],
      ])
    } finally {
      await client.close()
    }
  })
})
