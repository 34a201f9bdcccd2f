// startDev as a library (what src/cli/dev.ts runs): the real embedded broker, publish API,
// forwarder and function host in this process, with the repo's resources. The handler is a
// plain .mjs file: the function host's cache-busting `import(file.ts?v=...)` is not transformed
// by vitest's module runner (tsx does it under the CLI; test/e2e/dev.test.ts runs the .ts demos).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { PortInUseError, startDev, type DevHandle } from '../../../src/local/dev.js'
import { ephemeralPort, isPortFree } from '../../../src/local/ports.js'
import { ROOT } from '../../helpers/cli.js'

/** The dev log's lines as JSON objects, and a wait for one that matches. */
function captureLog() {
  const entries: Record<string, unknown>[] = []
  const waiters = new Set<() => void>()
  return {
    entries,
    write: (line: string) => {
      entries.push(JSON.parse(line) as Record<string, unknown>)
      for (const w of waiters) w()
    },
    waitFor(match: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
      return new Promise((resolve) => {
        const check = () => {
          const found = entries.find(match)
          if (!found) return
          waiters.delete(check)
          resolve(found)
        }
        waiters.add(check)
        check()
      })
    },
  }
}

let functionsPath: string

beforeAll(async () => {
  functionsPath = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-dev-lib-'))
  // What examples/functions/orders.ts answers: Dapr's SUCCESS for the subscription's /orders route.
  await writeFile(
    path.join(functionsPath, 'orders.mjs'),
    "export async function handler() { return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'SUCCESS' }) } }\n",
  )
})
afterAll(async () => {
  await rm(functionsPath, { recursive: true, force: true })
})

const base = {
  resourcesPath: path.join(ROOT, 'resources'),
  appId: 'mqtt-fn',
  port: 0,
  brokerPort: 0,
  grpcPort: 0,
  logFormat: 'json' as const,
}

describe('startDev (the dev runtime as a library)', () => {
  let dev: DevHandle | undefined
  afterEach(async () => {
    await dev?.close()
    dev = undefined
  })

  it('a publish travels every hop to the function; close() drains and frees the ports', async () => {
    const log = captureLog()
    dev = await startDev({ ...base, functionsPath, write: log.write })
    expect(log.entries.some((e) => e.msg === 'Ctrl-C stops everything.')).toBe(true)

    const res = await fetch(`${dev.publishUrl}/v1.0/publish/pubsub/orders/lib`, { method: 'POST', body: '{"orderId":1}', headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(204)
    const published = await log.waitFor((e) => e.hop === 'published' && e.topic === 'orders/lib')
    const id = published.id
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    await log.waitFor((e) => e.hop === 'acknowledged' && e.id === id)
    expect(log.entries.filter((e) => e.id === id).map((e) => e.hop)).toEqual(['published', 'broker', 'forwarder', 'function', 'acknowledged'])
    expect(log.entries.find((e) => e.hop === 'function' && e.id === id)?.detail).toMatch(/^orders \(Function URL\) -> HTTP 200/)

    const publishPort = Number(new URL(dev.publishUrl).port)
    const brokerPort = Number(new URL(dev.brokerUrl).port)
    const report = await dev.close()
    dev = undefined
    expect(report).toEqual({ finished: expect.any(Number) as number, abandoned: 0 })
    expect(await isPortFree(publishPort)).toBe(true)
    expect(await isPortFree(brokerPort)).toBe(true)
  })

  it('a start that fails late (an exact port taken) rejects with PortInUseError and leaves nothing listening', async () => {
    const holder = net.createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()))
    const taken = (holder.address() as net.AddressInfo).port
    const brokerPort = await ephemeralPort()
    try {
      const error = await startDev({ ...base, functionsPath, port: taken, brokerPort, write: () => {} }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(PortInUseError)
      expect(error).toMatchObject({ option: 'port', port: taken })
      // The broker had started on brokerPort before the publish port was checked.
      expect(await isPortFree(brokerPort)).toBe(true)
    } finally {
      await new Promise((resolve) => holder.close(resolve))
    }
  })
})
