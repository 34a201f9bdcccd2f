import net from 'node:net'
import { connect } from 'mqtt'
import { describe, expect, it } from 'vitest'
import { startEmbeddedBroker } from '../../../src/local/broker.js'
import { findFreePort, isPortFree } from '../../../src/local/ports.js'

function listen(server: net.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port, host: '127.0.0.1' }, () => resolve())
  })
}

describe('findFreePort', () => {
  it('returns the preferred port when it is free, else the next free one', async () => {
    const preferred = await findFreePort()
    expect(await findFreePort(preferred)).toBe(preferred)
    const holder = net.createServer()
    await listen(holder, preferred)
    try {
      expect(await isPortFree(preferred)).toBe(false)
      const next = await findFreePort(preferred)
      expect(next).toBeGreaterThan(preferred)
      expect(await isPortFree(next)).toBe(true)
    } finally {
      await new Promise<void>((r) => holder.close(() => r()))
    }
  })

  it('rejects a port outside 1..65535', async () => {
    await expect(findFreePort(70000)).rejects.toBeInstanceOf(RangeError)
  })
})

describe('startEmbeddedBroker', () => {
  it('listens on a free port by default and on the given port when asked', async () => {
    const a = await startEmbeddedBroker()
    expect(a.port).toBeGreaterThan(0)
    expect(a.url).toBe(`mqtt://127.0.0.1:${a.port}`)
    await a.close()
    const b = await startEmbeddedBroker({ port: a.port })
    expect(b.port).toBe(a.port)
    await expect(startEmbeddedBroker({ port: b.port })).rejects.toThrow(/EADDRINUSE/)
    await b.close()
  })

  it('close() returns promptly with connected clients and half-open sockets', async () => {
    const broker = await startEmbeddedBroker()
    const client = connect(broker.url, { reconnectPeriod: 0 })
    await new Promise<void>((resolve) => client.once('connect', () => resolve()))
    const raw = net.connect({ port: broker.port, host: '127.0.0.1' }) // never sends CONNECT
    raw.on('error', () => {})
    await new Promise<void>((resolve) => raw.once('connect', () => resolve()))
    const started = Date.now()
    await broker.close()
    expect(Date.now() - started).toBeLessThan(1000)
    await broker.close() // idempotent
    client.end(true)
    raw.destroy()
  })
})
