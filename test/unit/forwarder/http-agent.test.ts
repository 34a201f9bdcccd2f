// The HTTP target loads undici's Agent by its file (targets/http.ts), not undici's index, to keep
// fetch, WebSocket and the mock layers out of a forwarder's memory. That path is undici's
// internals: this pins it, so an undici upgrade that moves the file fails here, not in production.
import { createRequire } from 'node:module'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HttpAgents } from '../../../src/forwarder/targets/http.js'

const require = createRequire(import.meta.url)

describe("the HTTP target's undici Agent", () => {
  let server: http.Server
  let url: string
  beforeAll(async () => {
    server = http.createServer((req, res) => res.writeHead(204, { 'x-seen': req.url ?? '' }).end())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it("is undici's own Agent class, loaded from the file the target names", () => {
    const { Agent } = require('undici') as typeof import('undici')
    expect(require('undici/lib/dispatcher/agent.js')).toBe(Agent)
    expect(new HttpAgents(4).agent).toBeInstanceOf(Agent)
  })

  it('sends a request through the pool', async () => {
    const agents = new HttpAgents(4)
    try {
      const reply = await agents.agent.request({ origin: url, path: '/orders', method: 'POST', body: 'x' })
      expect(reply.statusCode).toBe(204)
      expect(reply.headers['x-seen']).toBe('/orders')
      await reply.body.dump()
    } finally {
      await agents.agent.close()
    }
  })
})
