import { execFile } from 'node:child_process'
import http from 'node:http'
import https from 'node:https'
import path from 'node:path'
import { promisify } from 'node:util'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { clampTimer, HttpAgents, httpTarget, redactRoute } from '../../../../src/forwarder/targets/http.js'
import type { TargetRequest } from '../../../../src/forwarder/types.js'
import { generateCerts, type TestCerts } from '../../../helpers/certs.js'
import { waitFor } from '../../../helpers/forwarder.js'

const run = promisify(execFile)

describe('HTTP target (undici, keep-alive)', () => {
  let server: http.Server
  let url: string
  const agents = new HttpAgents()
  const seen: { headers: http.IncomingHttpHeaders; body: string }[] = []

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString() })
        if (req.url === '/slow') return void setTimeout(() => res.end('{"status":"SUCCESS"}'), 2000)
        if (req.url === '/big') return void res.end(Buffer.alloc(1024 * 1024, 'x'))
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"SUCCESS"}')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    agents.destroy()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })

  const request = (overrides: Partial<TargetRequest> = {}): TargetRequest => ({
    body: Buffer.from('{"id":"1"}'),
    contentType: 'application/cloudevents+json',
    headers: { pubsubname: 'pubsub' },
    signal: new AbortController().signal,
    timeoutMs: 5000,
    ...overrides,
  })

  it('POSTs the bytes with the content type and headers, and hands back status and body', async () => {
    const reply = await httpTarget(`${url}/orders`, agents).send(request())
    expect(reply).toEqual({ ok: true, status: 200, body: '{"status":"SUCCESS"}' })
    expect(seen.at(-1)).toMatchObject({ body: '{"id":"1"}', headers: { 'content-type': 'application/cloudevents+json', pubsubname: 'pubsub' } })
  })

  it('a header value HTTP cannot carry is a failed attempt, not a thrown error', async () => {
    const reply = await httpTarget(`${url}/orders`, agents).send(request({ headers: { tracestate: 'a=b\nc' } }))
    expect(reply.ok).toBe(false)
    expect(reply.ok ? '' : reply.reason).toMatch(/invalid tracestate header/)
  })

  it('an already aborted request fails at once and leaves no unhandled socket error behind', async () => {
    const controller = new AbortController()
    controller.abort()
    const errors: unknown[] = []
    const onError = (e: unknown) => errors.push(e)
    process.on('uncaughtException', onError)
    try {
      const before = seen.length
      const reply = await httpTarget(`${url}/orders`, agents).send(request({ signal: controller.signal }))
      expect(reply).toEqual({ ok: false, reason: expect.stringContaining('aborted') })
      // A full round trip through the same agents afterwards: a socket error the aborted
      // request left behind would have surfaced by the time it is answered.
      expect((await httpTarget(`${url}/orders`, agents).send(request())).ok).toBe(true)
      expect(seen.length).toBe(before + 1) // the aborted one never reached the app
      expect(errors).toEqual([])
    } finally {
      process.off('uncaughtException', onError)
    }
  })

  it('times out by its own timer, and aborts on shutdown mid-request', async () => {
    const timedOut = await httpTarget(`${url}/slow`, agents).send(request({ timeoutMs: 100 }))
    expect(timedOut).toEqual({ ok: false, reason: expect.stringContaining('timed out') })
    const controller = new AbortController()
    const before = seen.length
    const pending = httpTarget(`${url}/slow`, agents).send(request({ signal: controller.signal }))
    // Mid-request: the app has the request and has not answered (it answers after 2 s).
    await waitFor(() => seen.length > before)
    controller.abort()
    expect(await pending).toEqual({ ok: false, reason: expect.stringContaining('aborted') })
  })

  it('sends the URL\'s credentials as Basic auth, and never names them in the target', async () => {
    const target = httpTarget(url.replace('http://', 'http://app%40user:s%3Acret@') + '/orders', agents)
    expect(target.name).not.toContain('cret')
    expect((await target.send(request())).ok).toBe(true)
    expect(seen.at(-1)?.headers.authorization).toBe('Basic ' + Buffer.from('app@user:s:cret').toString('base64'))
  })

  it('a refused connection is a failed attempt naming the cause', async () => {
    const closed = http.createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const reply = await httpTarget(`http://127.0.0.1:${port}/orders`, agents).send(request())
    expect(reply).toEqual({ ok: false, reason: expect.stringContaining('ECONNREFUSED') })
  })

  it('keeps at most 64 KiB of an answer (only status and a small JSON matter)', async () => {
    const reply = await httpTarget(`${url}/big`, agents).send(request())
    expect(reply.ok && reply.body.length).toBe(64 * 1024)
  })

  it('clamps timers to what setTimeout can hold (a longer one would fire after 1 ms)', () => {
    expect(clampTimer(2 ** 32)).toBe(0x7fffffff)
    expect(clampTimer(Infinity)).toBe(0x7fffffff)
    expect(clampTimer(250)).toBe(250)
  })
})

describe('HTTP target over TLS', () => {
  let certs: TestCerts
  let server: https.Server
  let url: string

  beforeAll(async () => {
    certs = await generateCerts()
    server = https.createServer({ cert: certs.server.cert.pem, key: certs.server.key.pem }, (req, res) => {
      req.resume()
      req.on('end', () => res.writeHead(204).end())
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `https://localhost:${(server.address() as AddressInfo).port}/orders`
  })
  afterAll(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await certs.cleanup()
  })

  it('refuses a certificate no trusted CA signed: a failed attempt naming the TLS error', async () => {
    const agents = new HttpAgents()
    try {
      const reply = await httpTarget(url, agents).send({
        body: Buffer.from('{}'),
        contentType: 'application/cloudevents+json',
        headers: {},
        signal: new AbortController().signal,
        timeoutMs: 5000,
      })
      expect(reply).toEqual({ ok: false, reason: expect.stringMatching(/^POST https:\/\/localhost:\d+\/orders: .*(UNABLE_TO_VERIFY|unable to verify|self.signed)/i) })
    } finally {
      agents.destroy()
    }
  })

  it('trusts a private CA given the standard way, NODE_EXTRA_CA_CERTS', async () => {
    const script = [
      `import { HttpAgents, httpTarget } from ${JSON.stringify(path.resolve('src/forwarder/targets/http.ts'))}`,
      'const agents = new HttpAgents()',
      `const reply = await httpTarget(${JSON.stringify(url)}, agents).send({ body: Buffer.from('{}'), contentType: 'application/cloudevents+json', headers: {}, signal: new AbortController().signal, timeoutMs: 5000 })`,
      'console.log(JSON.stringify(reply))',
      'agents.destroy()',
    ].join('\n')
    const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: certs.ca.cert.path },
    })
    expect(JSON.parse(stdout.trim())).toEqual({ ok: true, status: 204, body: '' })
  })
})

describe('redactRoute: a route as logs and errors show it', () => {
  it('drops userinfo and query values of http(s) routes', () => {
    expect(redactRoute('http://appuser:s3cr3tPASS@127.0.0.1:18600/cr?key=k')).toBe('http://127.0.0.1:18600/cr')
    expect(redactRoute('https://u@host/x')).toBe('https://host/x')
  })
  it('cuts userinfo out of text that does not parse as a URL', () => {
    const shown = redactRoute('htp://appuser:s3cr3tPASS@127.0.0.1:18600/cr')
    expect(shown).not.toContain('s3cr3tPASS')
    expect(shown).toContain('127.0.0.1:18600/cr')
    expect(redactRoute('http://user:pa ss@ho st/x')).not.toContain('pa ss')
  })
  it('leaves routes without credentials alone', () => {
    expect(redactRoute('/orders')).toBe('/orders')
    expect(redactRoute('lambda:fn')).toBe('lambda:fn')
  })
})
