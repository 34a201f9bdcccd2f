// The seam for computed credentials: a provider is asked before every connect attempt, its
// options reach the CONNECT, and a provider that fails makes the attempt fail and retry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PubsubClient } from '../../../src/core/pubsub/index.js'
import type { AuthProvider } from '../../../src/core/pubsub/auth/index.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { mqttMetadata } from '../../helpers/factories.js'
import { startTcpProxy, type TcpProxy } from '../../helpers/proxy.js'

describe('auth provider seam', () => {
  let broker: EmbeddedBroker
  let proxy: TcpProxy
  const passwords: string[] = []
  let current = 'token-1'
  beforeAll(async () => {
    broker = await startEmbeddedBroker({
      aedes: {
        authenticate: (_client, username, password, cb) => {
          const got = password?.toString() ?? ''
          passwords.push(got)
          const ok = username === 'svc' && got === current
          cb(ok ? null : Object.assign(new Error('bad credentials'), { returnCode: 4 }), ok)
        },
      },
    })
    proxy = await startTcpProxy({ port: broker.port })
  })
  afterAll(async () => {
    await proxy?.close()
    await broker?.close()
  })

  it('asks the provider before every attempt, so a reconnect carries the renewed credential', async () => {
    let n = 0
    const auth: AuthProvider = {
      kind: 'test-token',
      prepare: async () => ({ options: { username: 'svc', password: Buffer.from(`token-${++n}`) } }),
    }
    const client = new PubsubClient({ name: 'p', metadata: mqttMetadata({ url: proxy.url() }) }, { auth, reconnectBaseMs: 20 })
    try {
      await client.connect()
      expect(n).toBe(1)
      current = 'token-2'
      const renewed = new Promise<void>((resolve) => client.on('state', (s) => s === 'connected' && resolve()))
      proxy.dropAll()
      await renewed
      expect(n).toBe(2)
      expect(passwords.slice(-2)).toEqual(['token-1', 'token-2'])
    } finally {
      await client.close()
    }
  })

  it('a provider that fails fails the attempt, names its kind, and the next attempt asks again', async () => {
    let n = 0
    current = 'good'
    const errors: string[] = []
    const auth: AuthProvider = {
      kind: 'flaky-token',
      prepare: async () => {
        n++
        if (n === 1) throw new Error('credentials endpoint unreachable')
        return { options: { username: 'svc', password: Buffer.from('good') } }
      },
    }
    const client = new PubsubClient({ name: 'p', metadata: mqttMetadata({ url: broker.url }) }, { auth, reconnectBaseMs: 20 })
    client.on('error', (e) => errors.push(e.message))
    try {
      await client.connect()
      expect(n).toBe(2)
      expect(errors[0]).toContain('flaky-token: credentials endpoint unreachable')
    } finally {
      await client.close()
    }
  })
})
