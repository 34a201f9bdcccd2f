// TLS (mutual), username/password and ACL refusals against a private Mosquitto, MQTT 3.1.1 and 5.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PublishError } from '../../../src/core/errors.js'
import { ConnectError } from '../../../src/core/pubsub/index.js'
import type { Logger } from '../../../src/core/pubsub/types.js'
import { generateCerts, type TestCerts } from '../../helpers/certs.js'
import { startMosquitto, type MosquittoBroker } from '../../../support/mosquitto.js'
import { clientFactory, Inbox, uniqueTopic } from './harness.js'

/** Everything an error carries that could reach a log or an HTTP body. */
function errorText(err: unknown): string {
  const parts: string[] = []
  let e: unknown = err
  for (let depth = 0; e && depth < 5; depth++) {
    if (e instanceof Error) {
      parts.push(String(e), e.stack ?? '', JSON.stringify(e))
      e = e.cause
    } else {
      parts.push(String(e))
      break
    }
  }
  return parts.join('\n')
}

function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`)
  }
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }
}

describe('mosquitto, mutual TLS', () => {
  let certs: TestCerts
  let otherCa: TestCerts
  let broker: MosquittoBroker
  beforeAll(async () => {
    ;[certs, otherCa] = await Promise.all([generateCerts(), generateCerts()])
    broker = await startMosquitto({
      tls: {
        certfile: certs.server.cert.path,
        keyfile: certs.server.key.path,
        cafile: certs.ca.cert.path,
        requireCertificate: true,
      },
    })
  })
  afterAll(async () => {
    await broker?.stop()
    await certs?.cleanup()
    await otherCa?.cleanup()
  })
  const client = clientFactory(() => ({ url: broker.url, qos: 1 }))

  for (const protocolVersion of [4, 5] as const) {
    it(`round-trips with CA, server and client certificates (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'})`, async () => {
      const tls = { caCert: certs.ca.cert.pem, clientCert: certs.client.cert.pem, clientKey: certs.client.key.pem }
      const topic = uniqueTopic('tls')
      const inbox = new Inbox({ autoAck: true })
      await client({ ...tls, protocolVersion }).subscribe(topic, inbox.handler)
      await client({ ...tls, protocolVersion }).publish(topic, 'secret')
      expect((await inbox.payload('secret')).topic).toBe(topic)
    })
  }

  it('a server certificate from another CA: connect() rejects at once with a TLS ConnectError', async () => {
    const c = client({ caCert: otherCa.ca.cert.pem, clientCert: certs.client.cert.pem, clientKey: certs.client.key.pem, connectTimeout: 60_000 })
    // "At once" is the path, not the clock: the TLS failure itself rejects connect(). Sitting
    // out connectTimeout (60 s, beyond the test's timeout) would end in a TimeoutError.
    const err = await c.connect().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConnectError)
    expect((err as ConnectError).retriable).toBe(false)
    expect((err as Error).message).toContain(broker.url)
    expect((err as Error).message).toMatch(/TLS: .*certificate.*caCert/)
  })

  it('no client certificate: the broker refuses the handshake; the error says what is missing', async () => {
    const c = client({ caCert: certs.ca.cert.pem })
    const err = await c.publish('t', 'x', { timeoutMs: 3000 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PublishError)
    expect((err as Error).message).toMatch(/client certificate/)
  })
})

describe('mosquitto, username and password', () => {
  const users = [{ username: 'alice', password: 'S3cret-Pa55' }]
  let broker: MosquittoBroker
  beforeAll(async () => {
    broker = await startMosquitto({ users })
  })
  afterAll(async () => {
    await broker?.stop()
  })
  const client = clientFactory(() => ({ qos: 1 }))
  const withCreds = (user: string, password: string) => broker.url.replace('mqtt://', `mqtt://${user}:${encodeURIComponent(password)}@`)

  for (const protocolVersion of [4, 5] as const) {
    it(`connects with the credentials of the URL (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'})`, async () => {
      const topic = uniqueTopic('auth')
      const inbox = new Inbox({ autoAck: true })
      const url = withCreds('alice', 'S3cret-Pa55')
      await client({ url, protocolVersion }).subscribe(topic, inbox.handler)
      await client({ url, protocolVersion }).publish(topic, 'hello')
      await inbox.payload('hello')
    })

    it(`wrong password: a clear refusal naming the redacted URL, never the password (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'})`, async () => {
      const password = 'Wr0ng-Pa55word'
      const logger = capturingLogger()
      // connectTimeout beyond the test's timeout: only the CONNACK refusal can end connect().
      const c = client({ url: withCreds('alice', password), protocolVersion, connectTimeout: 60_000 }, { logger })
      const errors: Error[] = []
      c.on('error', (e) => errors.push(e))
      const err = await c.connect().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConnectError)
      expect((err as ConnectError).reasonCode).toBe(protocolVersion === 5 ? 0x87 : 5)
      expect((err as Error).message).toBe(
        `connect to ${broker.url}: refused by the broker: Not authorized (${protocolVersion === 5 ? 'reason code 135' : 'return code 5'})`,
      )
      const publishErr = await c.publish('t', 'x', { timeoutMs: 1000 }).catch((e: unknown) => e)
      expect(publishErr).toBeInstanceOf(PublishError)
      for (const text of [errorText(err), errorText(publishErr), ...errors.map(errorText), ...logger.lines]) {
        expect(text).not.toContain(password)
        expect(text).not.toContain(encodeURIComponent(password))
      }
      expect(logger.lines.some((l) => l.includes('refused'))).toBe(true)
    })
  }
})

describe('mosquitto, ACL refusals (MQTT 5 reason codes)', () => {
  let broker: MosquittoBroker
  beforeAll(async () => {
    broker = await startMosquitto({ acl: ['topic readwrite open/#'] })
  })
  afterAll(async () => {
    await broker?.stop()
  })
  const client = clientFactory(() => ({ url: broker.url, qos: 1, protocolVersion: 5 }))

  it('a PUBACK with reason code >= 0x80 rejects the publish (not retriable), the client stays usable', async () => {
    const c = client()
    const err = await c.publish('closed/x', 'no').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(PublishError)
    expect((err as PublishError).retriable).toBe(false)
    expect((err as Error).message).toBe(`publish to "closed/x": refused by ${broker.url}: Not authorized (reason code 0x87)`)
    await c.publish('open/x', 'yes')
  })
})
