/**
 * The forwarder's health/metrics port under slow, idle and oversized clients (issue #16, §2):
 * the same kind of limits as the publish API, smaller, over real sockets on loopback; and the
 * port binds loopback unless told otherwise. Each test waits for the socket's close event, which
 * the configured timeouts bound.
 */
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startForwarder } from '../../../src/forwarder/index.js'
import { HEALTH_SERVER_LIMITS, startHealthServer, type HealthServer } from '../../../src/forwarder/health.js'
import { ForwarderMetrics } from '../../../src/forwarder/metrics.js'
import { httpCall } from '../../helpers/http-client.js'
import { brokerSuite, componentYaml, resourceDir, startApp } from '../../helpers/forwarder.js'
import { flood, rawClient, rawClients, trickle } from '../../helpers/slow-clients.js'

describe('health port limits', () => {
  let health: HealthServer
  const url = (path: string): string => `http://127.0.0.1:${health.port}${path}`

  beforeAll(async () => {
    health = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      metrics: new ForwarderMetrics({ defaultMetrics: false }),
      notReady: () => undefined,
      limits: { maxConnections: 20, headersTimeoutMs: 300, requestTimeoutMs: 300, keepAliveTimeoutMs: 200 },
    })
  })

  afterAll(async () => {
    await health?.close()
  })

  it('defaults: a small connection cap and timeouts of seconds', () => {
    expect(HEALTH_SERVER_LIMITS).toEqual({ maxConnections: 64, headersTimeoutMs: 5000, requestTimeoutMs: 5000, keepAliveTimeoutMs: 5000 })
  })

  it('closes an idle connection with a 408', async () => {
    const client = await rawClient(health.port)
    expect(await client.closed).toMatch(/^HTTP\/1\.1 408 /)
  })

  it('closes a head sent a byte at a time with a 408', async () => {
    const client = await rawClient(health.port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ')
    trickle(client, 20)
    expect(await client.closed).toMatch(/^HTTP\/1\.1 408 /)
  })

  it('refuses a declared body with 413 and closes the connection', async () => {
    const client = await rawClient(health.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n')
    const text = await client.closed
    expect(text).toMatch(/^HTTP\/1\.1 413 /)
    expect(text.toLowerCase()).toContain('connection: close')
  })

  it('refuses a chunked body streamed without end with 413 and closes the connection', async () => {
    const client = await rawClient(health.port, 'GET /readyz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n')
    const chunk = Buffer.alloc(16 * 1024, 'a')
    flood(client, Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]))
    expect(await client.closed).toMatch(/^HTTP\/1\.1 413 /)
  })

  it('closes connections beyond the cap at once, and answers probes again once the held ones time out', async () => {
    const held = await rawClients(health.port, 20)
    const beyond = await rawClients(health.port, 10)
    expect((await Promise.all(beyond.map((c) => c.closed))).every((text) => text === '')).toBe(true)
    expect(held.filter((c) => !c.socket.destroyed)).toHaveLength(20)
    const heldText = await Promise.all(held.map((c) => c.closed))
    expect(heldText.every((text) => text.startsWith('HTTP/1.1 408 '))).toBe(true)
    const res = await httpCall(url('/healthz'), { method: 'GET' })
    expect(res.status).toBe(200)
    expect(res.body).toBe('ok\n')
  })
})

describe('where the health port listens', () => {
  const suite = brokerSuite('aedes')

  /** 127.0.0.2 is loopback too on Linux, but a socket bound to 127.0.0.1 does not accept it. */
  const reachableAt = (host: string, port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = net.connect({ host, port })
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })

  const start = async (host?: string) => {
    const app = await startApp((req) => (req.path === '/dapr/subscribe' ? { status: 404 } : {}))
    suite.defer(() => app.close())
    const dir = await resourceDir()
    suite.defer(() => dir.remove())
    await dir.write('pubsub.yaml', componentYaml({ url: suite.url, consumerID: `health-${Math.random().toString(36).slice(2, 8)}` }))
    const forwarder = await startForwarder({ resourcesPath: dir.dir, appUrl: app.url, port: 0, logLevel: 'silent', ...(host ? { host } : {}) })
    suite.defer(() => forwarder.stop())
    return forwarder.healthPort as number
  }

  it('binds 127.0.0.1 by default: reachable there, not on another address', async () => {
    const port = await start()
    expect(await reachableAt('127.0.0.1', port)).toBe(true)
    expect(await reachableAt('127.0.0.2', port)).toBe(false)
  })

  it('binds all interfaces when told 0.0.0.0 (what the container image sets)', async () => {
    const port = await start('0.0.0.0')
    expect(await reachableAt('127.0.0.2', port)).toBe(true)
  })
})
