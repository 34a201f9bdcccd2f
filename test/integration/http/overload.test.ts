// Overload and slow clients on the publish API (issue #16, section 2), over real sockets on
// loopback: the node:http server of `serve`/`dev` (startHttpServer) with short limits, the real
// MQTT client of core/pubsub and aedes, behind a TCP proxy that makes the broker stop answering.
// Nothing here waits on a clock: a test waits for a socket's close event or for a response, and
// the configured timeouts are what bound those waits.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { closeAllPubsubClients, getPubsubClient } from '../../../src/core/pubsub/index.js'
import { publisherComponent } from '../../../src/core/pubsub/publisher-identity.js'
import { createPublishApi, type PublishApiHandler } from '../../../src/http/index.js'
import { startHttpServer, type HttpServer } from '../../../src/http/node-server.js'
import type { ApiHandler } from '../../../src/http/types.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { httpCall, type HttpResult } from '../../helpers/http-client.js'
import { loadPubsubs } from '../../helpers/http.js'
import { startTcpProxy, type TcpProxy } from '../../helpers/proxy.js'
import { flood, rawClient, rawClients, trickle } from '../../helpers/slow-clients.js'

const HEADERS_TIMEOUT_MS = 400
const REQUEST_TIMEOUT_MS = 800
const MAX_BODY_BYTES = 64 * 1024
const MAX_IN_FLIGHT = 50
/** Long enough that requests sent after the first MAX_IN_FLIGHT still find them pending. */
const PUBLISH_TIMEOUT_MS = 3000

/** The publish API with a count of what reached it and the highest in-flight count it reached. */
function observed(api: PublishApiHandler): { handler: ApiHandler & { maxBodyBytes: number }; calls: () => number; peak: () => number } {
  let calls = 0
  let peak = 0
  const handler = Object.assign(
    (request: Parameters<ApiHandler>[0]) => {
      calls++
      const answer = api(request)
      // The slot is taken synchronously, so the count is current here.
      peak = Math.max(peak, api.inFlight)
      return answer
    },
    { maxBodyBytes: api.maxBodyBytes },
  )
  return { handler, calls: () => calls, peak: () => peak }
}

let broker: EmbeddedBroker
let proxy: TcpProxy

beforeAll(async () => {
  broker = await startEmbeddedBroker()
  proxy = await startTcpProxy({ port: broker.port })
})

afterAll(async () => {
  await closeAllPubsubClients()
  await proxy?.close()
  await broker?.close()
})

describe('slow, stalled and idle clients', () => {
  let server: HttpServer
  let seen: ReturnType<typeof observed>
  const publishPath = '/v1.0/publish/pubsub/slow/clients'

  beforeAll(async () => {
    const resources = await loadPubsubs([{ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }])
    seen = observed(createPublishApi({ resources, maxBodyBytes: MAX_BODY_BYTES, logger: { warn: () => {} } }))
    server = await startHttpServer(seen.handler, {
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: 300,
      maxConnections: 2500,
    })
  })

  afterAll(async () => {
    await server?.close()
  })

  it('closes a connection that never sends a byte, with a 408', async () => {
    const client = await rawClient(server.port)
    expect(await client.closed).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
  })

  it('closes a connection whose head arrives a byte at a time (slowloris), with a 408', async () => {
    const client = await rawClient(server.port, `POST ${publishPath} HTTP/1.1\r\nHost: x\r\nX-Slow: `)
    trickle(client, 20, 'abc')
    const text = await client.closed
    expect(text).toMatch(/^HTTP\/1\.1 408 /)
    // It kept sending the whole time: the head timeout, not a quiet socket, ended it.
    expect(client.written()).toBeGreaterThan(`POST ${publishPath} HTTP/1.1\r\nHost: x\r\nX-Slow: `.length)
  })

  it('closes a connection whose body arrives a byte at a time, with a 408, and never calls the handler', async () => {
    const before = seen.calls()
    const client = await rawClient(server.port, `POST ${publishPath} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 10000\r\n\r\n`)
    trickle(client, 20)
    expect(await client.closed).toMatch(/^HTTP\/1\.1 408 /)
    expect(seen.calls()).toBe(before)
  })

  it('closes an idle keep-alive connection after its request was answered', async () => {
    const client = await rawClient(server.port, `POST ${publishPath} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi`)
    const text = await client.closed
    // Answered first (204), then closed by the keep-alive timeout without a second answer.
    expect(text).toMatch(/^HTTP\/1\.1 204 No Content\r\n/)
    expect(text.match(/HTTP\/1\.1 /g)).toHaveLength(1)
  })

  it('holds a thousand idle connections only until the head timeout, and answers a normal request meanwhile', async () => {
    const idle = await rawClients(server.port, 1000)
    const normal = await httpCall(`${server.url}${publishPath}`, { body: 'while idle ones wait' })
    expect(normal.status).toBe(204)
    const closed = await Promise.all(idle.map((c) => c.closed))
    expect(closed.filter((text) => text.startsWith('HTTP/1.1 408 '))).toHaveLength(1000)
  })

  it('answers a chunked body streamed past the limit with 413 while it is still streaming, and closes the connection', async () => {
    const before = seen.calls()
    const client = await rawClient(server.port, `POST ${publishPath} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`)
    const data = Buffer.alloc(16 * 1024, 'a')
    flood(client, Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]))
    const text = await client.closed
    expect(text).toMatch(/^HTTP\/1\.1 413 /)
    expect(text).toContain('"errorCode":"ERR_BODY_READ"')
    expect(text.toLowerCase()).toContain('connection: close')
    // The body never ended (no last chunk was sent): the server refused it part way.
    expect(client.written()).toBeGreaterThan(MAX_BODY_BYTES)
    expect(seen.calls()).toBe(before)
  })

  it('answers a declared Content-Length above the limit with 413 before the body is sent', async () => {
    const client = await rawClient(server.port, `POST ${publishPath} HTTP/1.1\r\nHost: x\r\nContent-Length: ${100 * 1024 * 1024}\r\n\r\n`)
    const text = await client.closed
    expect(text).toMatch(/^HTTP\/1\.1 413 /)
    expect(text).toContain(`stream too large (limit ${MAX_BODY_BYTES} bytes)`)
  })
})

describe('the connection cap', () => {
  let server: HttpServer

  beforeAll(async () => {
    const resources = await loadPubsubs([{ name: 'pubsub', url: broker.url }])
    server = await startHttpServer(createPublishApi({ resources }), {
      maxConnections: 50,
      headersTimeoutMs: HEADERS_TIMEOUT_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    })
  })

  afterAll(async () => {
    await server?.close()
  })

  it('closes connections beyond it at once (no answer), times out the ones it holds, then serves again', async () => {
    // One at a time, so that the first 50 are the ones held.
    const held = await rawClients(server.port, 50)
    const beyond = await rawClients(server.port, 30)
    const beyondText = await Promise.all(beyond.map((c) => c.closed))
    // Closed without a byte, while the 50 held ones are still open.
    expect(beyondText.every((text) => text === '')).toBe(true)
    expect(held.filter((c) => !c.socket.destroyed)).toHaveLength(50)
    const heldText = await Promise.all(held.map((c) => c.closed))
    expect(heldText.filter((text) => text.startsWith('HTTP/1.1 408 '))).toHaveLength(50)
    const healthz = await httpCall(`${server.url}/v1.0/healthz`, { method: 'GET' })
    expect(healthz.status).toBe(204)
  })
})

describe('a broker that stops answering while hundreds of publishes arrive', () => {
  let server: HttpServer
  let api: PublishApiHandler
  let seen: ReturnType<typeof observed>
  const url = (topic: string): string => `${server.url}/v1.0/publish/stalled/${topic}`

  beforeAll(async () => {
    const resources = await loadPubsubs([
      {
        name: 'stalled',
        url: proxy.url(),
        metadata: { qos: '1', publishTimeout: String(PUBLISH_TIMEOUT_MS), connectTimeout: '500' },
      },
    ])
    api = createPublishApi({
      resources,
      maxInFlight: MAX_IN_FLIGHT,
      retryAfterSeconds: 2,
      logger: { warn: () => {} },
      // The default client, with a short reconnect cap so recovery after the blackhole is quick.
      getClient: (component) => getPubsubClient(publisherComponent(component), { reconnectBaseMs: 100, reconnectMaxMs: 500 }),
    })
    seen = observed(api)
    server = await startHttpServer(seen.handler)
    expect((await httpCall(url('warm'), { body: 'x' })).status).toBe(204)
  })

  afterAll(async () => {
    proxy.resumeDownstream()
    proxy.setMode('forward')
    await server?.close()
  })

  const expectRefused = (res: HttpResult): void => {
    expect(res.status).toBe(429)
    expect(res.headers['retry-after']).toBe('2')
    const body = JSON.parse(res.body) as { errorCode: string; message: string; details: { '@type': string }[] }
    expect(body.errorCode).toBe('ERR_PUBSUB_PUBLISH_MESSAGE')
    expect(body.message).toMatch(/^error when publishing to topic held\/\d+ in pubsub stalled: too many publish requests in flight \(limit 50\)/)
    expect(body.details.map((d) => d['@type'])).toEqual(['type.googleapis.com/google.rpc.ResourceInfo', 'type.googleapis.com/google.rpc.ErrorInfo'])
  }

  const expectFailed = (res: HttpResult): void => {
    expect(res.status).toBe(500)
    const body = JSON.parse(res.body) as { errorCode: string; message: string }
    expect(body.errorCode).toBe('ERR_PUBSUB_PUBLISH_MESSAGE')
    expect(body.message).toContain('failed to publish')
  }

  /** Publishes until one is accepted again (the client reconnects on its own schedule). */
  const recovered = async (): Promise<void> => {
    await vi.waitFor(async () => expect((await httpCall(url('after'), { body: 'back' })).status).toBe(204), { timeout: 30_000, interval: 50 })
  }

  it('PUBACKs stop (broker silent): the first 50 wait and fail with 500, 250 more are refused at once with 429 + Retry-After, then it recovers', async () => {
    proxy.pauseDownstream()
    const held = Array.from({ length: MAX_IN_FLIGHT }, (_, i) => httpCall(url(`held/${i}`), { body: `m${i}` }))
    await vi.waitFor(() => expect(api.inFlight).toBe(MAX_IN_FLIGHT), { timeout: 10_000, interval: 5 })
    const refused = await Promise.all(Array.from({ length: 250 }, (_, i) => httpCall(url(`held/${MAX_IN_FLIGHT + i}`), { body: `r${i}` })))
    // All 250 answered while the 50 are still pending: nothing queued behind them.
    expect(api.inFlight).toBe(MAX_IN_FLIGHT)
    for (const res of refused) expectRefused(res)
    for (const res of await Promise.all(held)) expectFailed(res)
    expect(seen.peak()).toBe(MAX_IN_FLIGHT)
    expect(api.inFlight).toBe(0)
    proxy.resumeDownstream()
    await recovered()
    expect(api.inFlight).toBe(0)
  }, 60_000)

  it('connections blackholed (the broker accepts and never answers): 500 or 429 for each, then it recovers', async () => {
    proxy.setMode('blackhole')
    proxy.dropAll()
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => httpCall(url(`held/${i}`), { body: `b${i}` })))
    const refused = answers.filter((res) => res.status === 429)
    const failed = answers.filter((res) => res.status !== 429)
    for (const res of refused) expectRefused(res)
    for (const res of failed) expectFailed(res)
    expect(failed.length).toBeGreaterThan(0)
    expect(refused.length + failed.length).toBe(200)
    expect(seen.peak()).toBeLessThanOrEqual(MAX_IN_FLIGHT)
    proxy.setMode('forward')
    await recovered()
    expect(api.inFlight).toBe(0)
  }, 60_000)
})
