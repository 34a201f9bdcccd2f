/**
 * Helpers for the forwarder suites: a recording HTTP app on loopback, resource folders,
 * CloudEvent payloads, bulk publishing with a plain MQTT.js client, the forwarder as a child
 * process (`node bin/mqtt-fn.mjs forward ...`) and a TCP proxy that can cut the connection.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { connectAsync, type MqttClient } from 'mqtt'
import { afterAll, beforeAll } from 'vitest'
import { startEmbeddedBroker } from '../../src/local/broker.js'
import { startMosquitto } from '../../support/mosquitto.js'

export interface AppRequest {
  method: string
  path: string
  headers: http.IncomingHttpHeaders
  body: Buffer
  /** The body as JSON, when it is. */
  json?: unknown
}

export interface AppReply {
  status?: number
  body?: string | object
  /** Wait before answering, ms. */
  delayMs?: number
  /** Destroy the socket instead of answering. */
  hangUp?: boolean
}

export interface TestApp {
  port: number
  url: string
  requests: AppRequest[]
  /** Replace the handler. */
  handle(fn: (req: AppRequest) => AppReply | Promise<AppReply>): void
  close(): Promise<void>
}

/** An HTTP app on 127.0.0.1 that records every request and answers what `handle` says (default 200 empty). */
export async function startApp(fn?: (req: AppRequest) => AppReply | Promise<AppReply>): Promise<TestApp> {
  let handler: (req: AppRequest) => AppReply | Promise<AppReply> = fn ?? (() => ({}))
  const requests: AppRequest[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const record: AppRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body }
      try {
        record.json = JSON.parse(body.toString('utf8'))
      } catch {
        // not JSON
      }
      requests.push(record)
      void Promise.resolve(handler(record)).then(async (reply) => {
        if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs))
        if (reply.hangUp) {
          req.socket.destroy()
          return
        }
        const text = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body)
        res.writeHead(reply.status ?? 200, { 'content-type': typeof reply.body === 'object' ? 'application/json' : 'text/plain' })
        res.end(text)
      })
    })
  })
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve))
  const port = (server.address() as AddressInfo).port
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    handle(fn2) {
      handler = fn2
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

export interface ResourceDir {
  dir: string
  write(name: string, yaml: string): Promise<void>
  remove(): Promise<void>
}

export async function resourceDir(): Promise<ResourceDir> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-fwd-'))
  return {
    dir,
    write: (name, yaml) => writeFile(path.join(dir, name), yaml),
    remove: () => rm(dir, { recursive: true, force: true }),
  }
}

export interface ComponentYaml {
  name?: string
  url: string
  consumerID?: string
  qos?: number
  cleanSession?: boolean
  extra?: Record<string, string>
}

export function componentYaml(c: ComponentYaml): string {
  const md: Record<string, string> = {
    url: c.url,
    qos: String(c.qos ?? 1),
    cleanSession: String(c.cleanSession ?? false),
    ...(c.consumerID ? { consumerID: c.consumerID } : {}),
    ...c.extra,
  }
  return [
    'apiVersion: dapr.io/v1alpha1',
    'kind: Component',
    'metadata:',
    `  name: ${c.name ?? 'mqtt'}`,
    'spec:',
    '  type: pubsub.mqtt3',
    '  version: v1',
    '  metadata:',
    ...Object.entries(md).flatMap(([k, v]) => [`  - name: ${k}`, `    value: ${JSON.stringify(v)}`]),
    '',
  ].join('\n')
}

/** A CloudEvent as daprd publishes it (keys sorted); `data` is JSON. */
export function cloudEvent(id: string, data: unknown, topic = 'orders', extra: Record<string, unknown> = {}): Buffer {
  const event: Record<string, unknown> = {
    data,
    datacontenttype: 'application/json',
    id,
    pubsubname: 'mqtt',
    source: 'test',
    specversion: '1.0',
    topic,
    traceid: '',
    traceparent: '',
    tracestate: '',
    type: 'com.dapr.event.sent',
    ...extra,
  }
  const sorted = Object.fromEntries(Object.entries(event).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  return Buffer.from(JSON.stringify(sorted))
}

/** The `id` of a delivered CloudEvent (single delivery). */
export function eventId(req: AppRequest): string | undefined {
  const j = req.json as { id?: unknown } | undefined
  return typeof j?.id === 'string' ? j.id : undefined
}

export async function mqttClient(url: string, opts: Parameters<typeof connectAsync>[1] = {}): Promise<MqttClient> {
  return connectAsync(url, { clientId: `test-${randomUUID().slice(0, 8)}`, reconnectPeriod: 0, ...opts })
}

/** Publishes at QoS 1 with a window of `window` unacknowledged publishes. */
export async function publishAll(client: MqttClient, items: { topic: string; payload: Buffer | string }[], window = 50): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]
      if (!item) break
      await client.publishAsync(item.topic, item.payload, { qos: 1 })
    }
  }
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, worker))
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Collects what arrives on `filter` (e.g. a dead-letter topic). */
export async function collect(url: string, filter: string): Promise<{ messages: { topic: string; payload: Buffer }[]; close(): Promise<void> }> {
  const client = await mqttClient(url)
  const messages: { topic: string; payload: Buffer }[] = []
  client.on('message', (topic, payload) => messages.push({ topic, payload }))
  await client.subscribeAsync(filter, { qos: 1 })
  return { messages, close: () => client.endAsync() }
}

const ROOT = path.resolve(import.meta.dirname, '../..')

export interface ChildForwarder {
  proc: ChildProcess
  output(): string
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>
  waitReady(timeoutMs?: number): Promise<void>
}

/** `node bin/mqtt-fn.mjs forward ARGS` with JSON logs captured. */
export function spawnForwarder(args: string[], env: Record<string, string> = {}): ChildForwarder {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin/mqtt-fn.mjs'), 'forward', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  proc.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c))
  proc.stderr?.setEncoding('utf8').on('data', (c: string) => (out += c))
  const exited = new Promise<number | string>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1)))
  return {
    proc,
    output: () => out,
    exited,
    waitReady: (timeoutMs = 20_000) => waitFor(() => out.includes('"forwarder ready"') || proc.exitCode !== null, timeoutMs, 'forwarder ready').then(() => {
      if (!out.includes('"forwarder ready"')) throw new Error(`forwarder exited:\n${out}`)
    }),
  }
}

export interface TcpProxy {
  port: number
  /** Stop forwarding: existing connections hang silently (black hole) and new ones are accepted but never served. */
  blackhole(): void
  /** Close the listener and reset every connection: new connections are refused. */
  refuse(): Promise<void>
  /** Forward again (listening on the same port). */
  restore(): Promise<void>
  close(): Promise<void>
}

/** A TCP proxy on 127.0.0.1 in front of `targetPort`, to cut the forwarder's broker connection. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let mode: 'pass' | 'blackhole' = 'pass'
  const pairs = new Set<{ a: net.Socket; b?: net.Socket }>()
  const onConnection = (a: net.Socket) => {
    const pair: { a: net.Socket; b?: net.Socket } = { a }
    pairs.add(pair)
    a.on('error', () => {})
    a.on('close', () => {
      pair.b?.destroy()
      pairs.delete(pair)
    })
    if (mode === 'blackhole') {
      a.pause()
      return
    }
    const b = net.connect(targetPort, '127.0.0.1')
    pair.b = b
    b.on('error', () => {})
    b.on('close', () => a.destroy())
    a.on('data', (d) => {
      if (mode === 'pass') b.write(d)
    })
    b.on('data', (d) => {
      if (mode === 'pass') a.write(d)
    })
  }
  let server = net.createServer(onConnection)
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve))
  const port = (server.address() as AddressInfo).port
  const closeServer = () => new Promise<void>((resolve) => server.close(() => resolve()))
  return {
    port,
    blackhole() {
      mode = 'blackhole'
    },
    async refuse() {
      const closed = closeServer()
      for (const p of pairs) {
        p.a.resetAndDestroy()
        p.b?.destroy()
      }
      await closed
    },
    async restore() {
      // Connections that hung in the black hole are dropped: their MQTT sessions are dead.
      for (const p of pairs) {
        p.a.destroy()
        p.b?.destroy()
      }
      mode = 'pass'
      if (!server.listening) {
        server = net.createServer(onConnection)
        await new Promise<void>((resolve) => server.listen({ port, host: '127.0.0.1' }, resolve))
      }
    },
    async close() {
      for (const p of pairs) {
        p.a.destroy()
        p.b?.destroy()
      }
      if (server.listening) await closeServer()
    },
  }
}

export const AZURITE_ACCOUNT = 'devstoreaccount1'
// Azurite's published development key (not a secret: it is in Azurite's README).
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

export interface Azurite {
  port: number
  connectionString: string
  stop(): Promise<void>
}

/** Azurite's queue service as a child process on a free port, data in a temp dir. */
export async function startAzuriteQueue(): Promise<Azurite> {
  const { getFreePort, waitForPort } = await import('../../support/ports.js')
  const port = await getFreePort()
  const location = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-azurite-'))
  const bin = path.join(ROOT, 'node_modules/azurite/dist/src/queue/main.js')
  // --skipApiVersionCheck: the current @azure/storage-queue speaks a newer API version than Azurite 3.35 knows.
  const proc = spawn(process.execPath, [bin, '--queuePort', String(port), '--queueHost', '127.0.0.1', '--location', location, '--silent', '--skipApiVersionCheck'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let err = ''
  proc.stderr?.setEncoding('utf8').on('data', (c: string) => (err += c))
  try {
    await waitForPort(port, '127.0.0.1', 15_000)
  } catch (error) {
    proc.kill('SIGKILL')
    throw new Error(`azurite did not start: ${(error as Error).message}\n${err}`)
  }
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  return {
    port,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};QueueEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`,
    async stop() {
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(timer)
      await rm(location, { recursive: true, force: true })
    },
  }
}

export interface BrokerSuite {
  readonly url: string
  readonly port: number
  /** A plain MQTT.js client on the broker, for publishing test streams. */
  readonly publisher: MqttClient
  /** Runs after the file's tests (the last deferred first), before the publisher and broker go. */
  defer(cleanup: () => Promise<unknown>): void
}

/**
 * The file-level fixture of a forwarder suite: registers the beforeAll / afterAll that start a
 * broker of the file's own (aedes in-process, or a Mosquitto with its own config and port) and
 * a publisher on it, and that run the deferred cleanups before both stop.
 */
export function brokerSuite(kind: 'aedes' | 'mosquitto'): BrokerSuite {
  let broker: { url: string; port: number; stop(): Promise<void> } | undefined
  let publisher: MqttClient | undefined
  const cleanups: (() => Promise<unknown>)[] = []
  beforeAll(async () => {
    if (kind === 'aedes') {
      const b = await startEmbeddedBroker()
      broker = { url: b.url, port: b.port, stop: () => b.close() }
    } else {
      const m = await startMosquitto()
      broker = { url: m.url, port: m.port, stop: () => m.stop() }
    }
    publisher = await mqttClient(broker.url)
  })
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
    await publisher?.endAsync()
    await broker?.stop()
  })
  const started = () => {
    if (!broker || !publisher) throw new Error('brokerSuite: used before its beforeAll ran')
    return { broker, publisher }
  }
  return {
    get url() {
      return started().broker.url
    },
    get port() {
      return started().broker.port
    },
    get publisher() {
      return started().publisher
    },
    defer: (cleanup) => void cleanups.push(cleanup),
  }
}
