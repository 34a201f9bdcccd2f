import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr'
import { connectAsync } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbeddedBroker } from '../../src/local/broker.js'
import { ephemeralPort, isPortFree } from '../../src/local/ports.js'
import { ROOT, runCli, startCli, type LongRunning } from '../helpers/cli.js'

/** Ports the banner printed. */
function bannerPorts(out: string): { broker: number; publish: number } {
  const broker = /broker\s+mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]
  const publish = /publish\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1]
  if (!broker || !publish) throw new Error(`no ports in banner:\n${out}`)
  return { broker: Number(broker), publish: Number(publish) }
}

async function post(url: string, body: string, contentType = 'application/json'): Promise<number> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': contentType } })
  await res.arrayBuffer()
  return res.status
}

describe('mqtt-fn dev (npm start) as a user runs it', () => {
  let work: string

  beforeAll(async () => {
    // A copy of the repo's resources and example functions, so a test may edit them.
    work = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-dev-'))
    await cp(path.join(ROOT, 'resources'), path.join(work, 'resources'), { recursive: true })
    await cp(path.join(ROOT, 'examples', 'functions'), path.join(work, 'functions'), { recursive: true })
    // As in the repo: the functions are ES modules, with the project's packages (the example imports @middy/core).
    await writeFile(path.join(work, 'package.json'), '{"type":"module"}')
    await symlink(path.join(ROOT, 'node_modules'), path.join(work, 'node_modules'))
  })
  afterAll(async () => {
    await rm(work, { recursive: true, force: true })
  })

  const startDev = (extra: string[] = []): LongRunning =>
    // Any free gRPC port: another suite's dev may hold 50001 at the same moment (the default is checked below).
    startCli(['dev', '--resources-path', path.join(work, 'resources'), '--functions-path', path.join(work, 'functions'), '--grpc-port', '0', ...extra])

  it('relays a curl publish through broker, forwarder and the example functions, then stops on Ctrl-C', async () => {
    const dev = startDev(['--port', '0', '--broker-port', '0'])
    try {
      await dev.waitFor(/Ctrl-C stops everything/)
      const { publish } = bannerPorts(dev.output())
      expect(await post(`http://127.0.0.1:${publish}/v1.0/publish/pubsub/orders/new`, '{"orderId":42}')).toBe(204)
      // The HTTP function (default route /orders) gets the Dapr CloudEvent, then the broker gets the PUBACK.
      const [, id] = await dev.waitFor(/\[orders\] order ([0-9a-f-]{36}) on orders\/new: \{"orderId":42\}/)
      const short = (id ?? '').slice(0, 8)
      await dev.waitFor(new RegExp(`acknowledged orders/new .*\\[${short}\\]`))
      const hops = dev
        .output()
        .split('\n')
        .filter((l) => l.includes(`[${short}]`))
        .map((l) => /\s(published|broker|forwarder|function|acknowledged)\s/.exec(l)?.[1])
      expect(hops).toEqual(['published', 'broker', 'forwarder', 'function', 'acknowledged'])

      // The CEL rule routes priority orders to the Lambda function through the Invoke API.
      expect(await post(`http://127.0.0.1:${publish}/v1.0/publish/pubsub/orders/vip?metadata.cloudevent.type=order.priority`, '{"orderId":43}')).toBe(204)
      await dev.waitFor(/\[priority-orders\] priority order [0-9a-f-]{36} on orders\/vip: \{"orderId":43\}/)
      await dev.waitFor(/function\s+priority-orders \(Lambda Invoke\) -> 200/)

      expect(await dev.stop('SIGINT')).toBe(0)
      expect(dev.output()).toMatch(/stopped \(/)
      // The forwarder's session ledger is its own business, not a hop of the user's messages.
      expect(dev.output()).not.toContain('mqtt-fn/sessions/')
      // Nothing is left listening.
      expect(await isPortFree(publish)).toBe(true)
    } finally {
      await dev.stop('SIGKILL')
    }
  })

  it('--broker uses an external broker, and --log-format json prints one JSON object per hop', async () => {
    const external = await startEmbeddedBroker()
    const dev = startDev(['--port', '0', '--broker', external.url, '--log-format', 'json'])
    try {
      await dev.waitFor(/Ctrl-C stops everything/)
      const banner = dev
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string })
      const brokerLine = banner.find((b) => b.msg?.includes('broker '))
      expect(brokerLine?.msg).toContain(`${external.url} (external)`)
      const publish = /publish\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(dev.output())?.[1]
      expect(await post(`http://127.0.0.1:${publish}/v1.0/publish/pubsub/orders/json`, '{"orderId":7}')).toBe(204)
      await dev.waitFor(/"hop":"function"/)
      const hops = dev
        .output()
        .split('\n')
        .filter((l) => l.includes('"hop"'))
        .map((l) => JSON.parse(l) as { hop: string; id?: string; sinceMs?: number })
      const fn = hops.find((h) => h.hop === 'function')
      expect(fn?.id).toMatch(/^[0-9a-f-]{36}$/)
      // No broker hop or PUBACK line: an external broker is not observed, only our own hops.
      expect(hops.filter((h) => h.id === fn?.id).map((h) => h.hop)).toEqual(['published', 'forwarder', 'function'])
      expect(hops.every((h) => typeof h.sinceMs === 'number')).toBe(true)
      expect(await dev.stop('SIGINT')).toBe(0)
    } finally {
      await dev.stop('SIGKILL')
      await external.close()
    }
  })

  it('--log-format json prints forwarder lines as flat JSON objects, never a JSON line inside msg', async () => {
    const dev = startDev(['--port', '0', '--broker-port', '0', '--log-format', 'json'])
    let stdout = ''
    dev.child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()))
    // 'exit' can come before the last output: read stdout to its end before parsing it.
    const stdoutEnded = new Promise((resolve) => dev.child.stdout?.once('end', resolve))
    try {
      await dev.waitFor(/Ctrl-C stops everything/)
      const { broker } = bannerPorts(dev.output())
      // Not a CloudEvent, on the example Subscription's orders/#: the forwarder logs a warning.
      const client = await connectAsync(`mqtt://127.0.0.1:${broker}`, { reconnectPeriod: 0 })
      try {
        await client.publishAsync('orders/garbage', 'garbage 1', { qos: 1 })
      } finally {
        await client.endAsync()
      }
      await dev.waitFor(/not a CloudEvent/)
      expect(await dev.stop('SIGINT')).toBe(0)
      await stdoutEnded

      const lines = stdout.split('\n').filter((l) => l !== '')
      const entries = lines.map((l) => {
        const entry: unknown = JSON.parse(l)
        expect(entry, l).toBeTypeOf('object')
        return entry as Record<string, unknown>
      })
      for (const entry of entries) {
        if (typeof entry.msg !== 'string') continue
        let inner: unknown
        try {
          inner = JSON.parse(entry.msg)
        } catch {
          inner = undefined
        }
        expect(typeof inner === 'object' && inner !== null, `msg holds a JSON object: ${entry.msg}`).toBe(false)
      }
      const warning = entries.find((e) => typeof e.msg === 'string' && e.msg.includes('not a CloudEvent'))
      expect(warning).toMatchObject({ source: 'forwarder', level: 'warn', topic: 'orders/garbage' })
      expect(warning?.time).toMatch(/^\d{4}-\d\d-\d\dT/)
    } finally {
      await dev.stop('SIGKILL')
    }
  })

  it('takes the next free broker port when 1883 is taken, and says so in the banner', async () => {
    let blocker: net.Server | undefined
    if (await isPortFree(1883)) {
      blocker = net.createServer()
      await new Promise<void>((resolve) => blocker?.listen(1883, '127.0.0.1', () => resolve()))
    }
    const dev = startDev(['--port', '0'])
    try {
      await dev.waitFor(/Ctrl-C stops everything/)
      const { broker } = bannerPorts(dev.output())
      expect(broker).not.toBe(1883)
      expect(broker).toBeGreaterThan(1883)
      expect(await dev.stop('SIGINT')).toBe(0)
    } finally {
      await dev.stop('SIGKILL')
      await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)))
    }
  })

  it('reloads a changed resource without a restart, and keeps running on a bad edit', async () => {
    const dev = startDev(['--port', '0', '--broker-port', '0'])
    const file = path.join(work, 'resources', 'subscription.yaml')
    const original = await readFile(file, 'utf8')
    try {
      await dev.waitFor(/Ctrl-C stops everything/)
      const { publish } = bannerPorts(dev.output())
      // Publishes keep coming while the resources reload: none of them may fail.
      const statuses: number[] = []
      let reloaded = false
      const worker = async () => {
        for (let i = 0; !reloaded || i < 5; i++) statuses.push(await post(`http://127.0.0.1:${publish}/v1.0/publish/pubsub/orders/during-reload`, `{"n":${i}}`))
      }
      const publishing = Promise.all(Array.from({ length: 8 }, worker))
      await writeFile(file, original.replace('"orders/#"', '"shop/#"'))
      await dev.waitFor(/resources reloaded: pubsub:shop\/#/)
      reloaded = true
      await publishing
      expect(statuses.length).toBeGreaterThan(5)
      expect(statuses.filter((s) => s !== 204)).toEqual([])
      expect(await post(`http://127.0.0.1:${publish}/v1.0/publish/pubsub/shop/1`, '{"orderId":1}')).toBe(204)
      await dev.waitFor(/\[orders\] order [0-9a-f-]{36} on shop\/1/)

      await writeFile(file, original.replace("path: lambda:priority-orders", 'path: ftp:nowhere'))
      await dev.waitFor(/reload failed|invalid/)
      expect(dev.child.exitCode).toBe(null)
      expect(await dev.stop('SIGINT')).toBe(0)
    } finally {
      await writeFile(file, original)
      await dev.stop('SIGKILL')
    }
  })

  it('Ctrl-C while still waiting for an unreachable --broker exits at once', async () => {
    const dev = startDev(['--port', '0', '--broker', 'mqtt://127.0.0.1:1'])
    try {
      // The forwarder's failed connects say start-up is under way and waiting for the broker.
      await dev.waitFor(/forwarder warn: mqtt error/)
      expect(dev.output()).not.toMatch(/Ctrl-C stops everything/)
      expect(await dev.stop('SIGINT', 5000)).toBe(130)
      expect(dev.output()).toContain('interrupted during start-up')
    } finally {
      await dev.stop('SIGKILL')
    }
  })

  it('a function publishes from its own handler (pubsub middleware) to the dev broker, and an edit to it is live on the next call', async () => {
    const dev = startDev(['--port', '0', '--broker-port', '0'])
    const file = path.join(work, 'functions', 'checkout.ts')
    const original = await readFile(file, 'utf8')
    try {
      const [, functionsUrl] = await dev.waitFor(/functions\s+(http:\/\/127\.0\.0\.1:\d+)\s/)
      const res = await fetch(`${functionsUrl}/checkout`, { method: 'POST', body: '{"orderId":77}', headers: { 'content-type': 'application/json' } })
      expect(res.status).toBe(202)
      expect(await res.json()).toEqual({ accepted: { orderId: 77 } })
      // Published through dev's own publish API (its broker, its log), then routed to /orders.
      const [, id] = await dev.waitFor(/\[orders\] order ([0-9a-f-]{36}) on orders\/new: \{"orderId":77\}/)
      expect(dev.output()).toMatch(new RegExp(`published\\s.*function pubsub\\(\\) -> pubsub.*\\[${(id ?? '').slice(0, 8)}\\]`))
      const bad = await fetch(`${functionsUrl}/checkout`, { method: 'POST', body: '{oops', headers: { 'content-type': 'application/json' } })
      expect([bad.status, await bad.text()]).toEqual([400, 'the body is not JSON'])

      await writeFile(file, original.replace("'orders/new'", "'orders/edited'"))
      const again = await fetch(`${functionsUrl}/checkout`, { method: 'POST', body: '{"orderId":78}', headers: { 'content-type': 'application/json' } })
      expect(again.status).toBe(202)
      await dev.waitFor(/\[orders\] order [0-9a-f-]{36} on orders\/edited: \{"orderId":78\}/)
      expect(await dev.stop('SIGINT')).toBe(0)
    } finally {
      await writeFile(file, original)
      await dev.stop('SIGKILL')
    }
  })

  it('serves the Dapr gRPC API: the SDK in gRPC mode publishes to the dev broker, logged as a gRPC hop', async () => {
    const dev = startDev(['--port', '0', '--broker-port', '0'])
    let client: DaprClient | undefined
    try {
      const [, port] = await dev.waitFor(/grpc\s+127\.0\.0\.1:(\d+)/)
      client = new DaprClient({ daprHost: '127.0.0.1', daprPort: port!, communicationProtocol: CommunicationProtocolEnum.GRPC, logger: { level: LogLevel.Error } })
      expect(await client.pubsub.publish('pubsub', 'orders/grpc', { orderId: 99 })).toEqual({})
      await dev.waitFor(/\[orders\] order [0-9a-f-]{36} on orders\/grpc: \{"orderId":99\}/)
      expect(dev.output()).toMatch(/published\s+orders\/grpc\s+gRPC publish API -> pubsub/)
      await client.stop()
      client = undefined
      expect(await dev.stop('SIGINT')).toBe(0)
    } finally {
      await client?.stop()
      await dev.stop('SIGKILL')
    }
  })

  it('npm start serves the demo handlers of examples/functions, not the deployable entry points', async () => {
    // No --functions-path: the default a fresh clone's `npm start` takes (cwd = the repo).
    const dev = startCli(['dev', '--resources-path', path.join(work, 'resources'), '--port', '0', '--broker-port', '0'])
    try {
      const [, functionsUrl] = await dev.waitFor(/functions\s+(http:\/\/127\.0\.0\.1:\d+)\s+\(examples\/functions: checkout, orders, priority-orders;/)
      // daprd's gRPC port, or the next free one, with what it serves.
      expect(dev.output()).toMatch(/grpc\s+127\.0\.0\.1:(5000[1-9]|500[1-9]\d|50[1-9]\d\d)\s+\(Dapr gRPC API: PublishEvent, BulkPublishEventAlpha1, GetMetadata\)/)
      // Lambda Invoke API: the event is the CloudEvent.
      const invoke = await fetch(`${functionsUrl}/2015-03-31/functions/priority-orders/invocations`, {
        method: 'POST',
        body: JSON.stringify({ id: 'e2e-1', source: 'e2e', specversion: '1.0', type: 'order.priority', topic: 'orders/vip', data: { orderId: 1 } }),
      })
      expect(await invoke.json()).toEqual({ status: 'SUCCESS' })
      // Function URL: the CloudEvent is the HTTP body.
      const url = await fetch(`${functionsUrl}/orders`, { method: 'POST', body: JSON.stringify({ id: 'e2e-2', source: 'e2e', specversion: '1.0', type: 'order', topic: 'orders/new', data: {} }), headers: { 'content-type': 'application/json' } })
      expect(await url.json()).toEqual({ status: 'SUCCESS' })
      const deployable = await fetch(`${functionsUrl}/2015-03-31/functions/http-publish/invocations`, { method: 'POST', body: '{}' })
      await deployable.arrayBuffer()
      expect(deployable.status).toBe(404)
      expect(await dev.stop('SIGINT')).toBe(0)
    } finally {
      await dev.stop('SIGKILL')
    }
  })

  it('a bad --broker URL is refused before anything starts, exit code 1', async () => {
    const r = await runCli(['dev', '--resources-path', path.join(work, 'resources'), '--port', '0', '--broker', 'not a url'])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/mqtt-fn: --broker: /)
    expect(r.stdout).not.toMatch(/Ctrl-C stops everything/)
  })

  it('an exact --port that is taken: exit code 1 naming the flag, and the broker it had started is closed', async () => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()))
    const taken = (blocker.address() as net.AddressInfo).port
    const brokerPort = await ephemeralPort()
    try {
      // runCli waits for the exit: a start-up failure that left the broker listening would hang here.
      const r = await runCli(['dev', '--resources-path', path.join(work, 'resources'), '--port', String(taken), '--broker-port', String(brokerPort)])
      expect(r.code).toBe(1)
      expect(r.stderr).toContain(`mqtt-fn: --port ${taken}: the port is in use (omit --port to take the next free port)`)
      expect(await isPortFree(brokerPort)).toBe(true)
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })

  it('refuses bad resources with the file and field, exit code 1', async () => {
    const bad = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-dev-bad-'))
    try {
      const pubsub = await readFile(path.join(ROOT, 'resources', 'pubsub.yaml'), 'utf8')
      await writeFile(path.join(bad, 'pubsub.yaml'), pubsub.replace('value: 1\n', 'value: 7\n'))
      const r = await runCli(['dev', '--resources-path', bad, '--port', '0', '--broker-port', '0'])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/pubsub\.yaml: document 1 \(Component\/pubsub\): spec\.metadata\.qos: must be 0, 1 or 2/)
    } finally {
      await rm(bad, { recursive: true, force: true })
    }
  })
})
