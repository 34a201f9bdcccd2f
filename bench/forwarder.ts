/**
 * The forwarder (issue 4) against a plain MQTT.js subscriber, same Mosquitto, same run.
 *
 * Processes: this one publishes (MQTT.js, QoS 1, 256-byte CloudEvents) and orchestrates; the
 * HTTP app (node:http, keep-alive, 204), the forwarder (`startForwarder`, src/) and the plain
 * subscriber (MQTT.js, QoS 1, default handleMessage) and, in the throughput runs, a minimal
 * reference relay (the ceiling of any relay on this machine, see `childRelay`) each run in a child process of their own
 * (this file, bundled by esbuild and run by plain node with BENCH_FWD_ROLE set), so no receiver
 * shares an event loop with the publisher or the app. Clocks: `process.hrtime` is
 * CLOCK_MONOTONIC, the same in every process of the machine, so a publish time stamped here
 * compares with a receive time there.
 *
 * Goals: throughput >= 0.7x the plain subscriber; >= 500 msg/s against an app answering after
 * 20 ms; p99 delivery latency at a moderate rate; RSS flat under 150 MB over 100,000 messages.
 * The forwarder's delivery point is the app receiving the request; the plain subscriber's is
 * its 'message' event.
 *
 * Bulk (#14 goal 3, section `bulk`): a Subscription with `bulkSubscribe` (100 entries / 20 ms) against
 * the plain subscriber in interleaved rounds, the app answering Dapr's bulk response; a kill run
 * showing that entries are acked only after their status; latency at RATE, bulk vs single.
 *
 * Knobs (environment): BENCH_FWD_SECTIONS (flood,backlog,slow,latency,rss,bulk), BENCH_FWD_ROUNDS,
 * BENCH_FWD_MESSAGES, BENCH_FWD_NODE_FLAGS (e.g. add `--cpu-prof --cpu-prof-dir=DIR`),
 * BENCH_FWD_MQTT5=true (every client on MQTT 5), BENCH_FWD_MAX_UNACKED (the pubsub client's cap),
 * BENCH_RELAY_CONNECTIONS / _PIPELINING.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import mqtt from 'mqtt'
import { startMosquitto, type MosquittoBroker } from '../support/mosquitto.js'
import { median, nowMs, percentile, signed } from './stats.js'

const SELF = fileURLToPath(import.meta.url)
const ROOT = path.resolve(path.dirname(SELF), '..')
/**
 * The children run this file bundled (src/ included, npm packages left to node_modules) with
 * plain `node`, as an installed mqtt-fn runs dist/: no tsx loader thread in their CPU or RSS.
 * Written under node_modules/.cache so that its imports of packages resolve.
 */
const CHILD_BUNDLE = path.join(ROOT, 'node_modules/.cache/mqtt-fn-bench/forwarder-child.mjs')

const MESSAGES = Number(process.env.BENCH_FWD_MESSAGES ?? 10_000)
const ROUNDS = Number(process.env.BENCH_FWD_ROUNDS ?? 2)
const SLOW_MESSAGES = Number(process.env.BENCH_FWD_SLOW_MESSAGES ?? 3_000)
const SLOW_DELAY_MS = Number(process.env.BENCH_FWD_SLOW_DELAY_MS ?? 20)
const RATE = Number(process.env.BENCH_FWD_RATE ?? 300)
const LATENCY_SECONDS = Number(process.env.BENCH_FWD_LATENCY_SECONDS ?? 5)
const RSS_MESSAGES = Number(process.env.BENCH_FWD_RSS_MESSAGES ?? 100_000)
/** Extra node flags for the forwarder child, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
// Default: the flags the forwarder's image runs with (infra/forwarder/Dockerfile NODE_OPTIONS).
const FORWARDER_NODE_FLAGS = (process.env.BENCH_FWD_NODE_FLAGS ?? '--max-old-space-size=128').split(' ').filter(Boolean)
/** Node flags of the reference relays (none by default: they are what a hand-written relay runs with). */
const RELAY_NODE_FLAGS = (process.env.BENCH_RELAY_NODE_FLAGS ?? '').split(' ').filter(Boolean)
const WINDOW = 100
/** The forwarder in a bench child through the library, instead of the built CLI as the image runs it. */
const IN_PROCESS = process.env.BENCH_FWD_IN_PROCESS === 'true'
const CLI_MAIN = path.join(ROOT, 'dist/cli/main.js')
/** MQTT 5 for every receiver (and the publisher): the forwarder then asks for a receive window of its own. */
const MQTT5 = process.env.BENCH_FWD_MQTT5 === 'true'
/** MQTT.js options of a receiver's persistent session (a v5 session outlives the connection only with an expiry). */
const sessionOptions = (clientId: string, clean: boolean): mqtt.IClientOptions =>
  MQTT5 ? { clientId, clean, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } } : { clientId, clean }
/** A run fails when no delivery was counted for this long. */
/** Comma-separated subset of sections to run (flood, backlog, slow, latency, rss, bulk); all by default. */
const SECTIONS = new Set((process.env.BENCH_FWD_SECTIONS ?? 'flood,backlog,slow,latency,rss,bulk').split(',').map((s) => s.trim()))
/** The bulk section: messages per round (the external harness's 20,000 unless BENCH_FWD_MESSAGES says), rounds, batch settings. */
const BULK_MESSAGES = Number(process.env.BENCH_FWD_BULK_MESSAGES ?? process.env.BENCH_FWD_MESSAGES ?? 20_000)
const BULK_ROUNDS = Number(process.env.BENCH_FWD_BULK_ROUNDS ?? 3)
const BULK_MAX_COUNT = Number(process.env.BENCH_FWD_BULK_COUNT ?? 100)
const BULK_AWAIT_MS = Number(process.env.BENCH_FWD_BULK_AWAIT_MS ?? 20)
/** The bulk route on the app: it answers `{statuses:[...]}` there. */
const BULK_PATH = '/b'
const STALL_SECONDS = Number(process.env.BENCH_FWD_STALL_SECONDS ?? 20)
const TOPIC = 'bench/fwd'
const PAYLOAD_BYTES = 256

// ---------------------------------------------------------------- messages between processes

type ToChild = { cmd: 'expect'; n: number; delayMs: number; latency: boolean } | { cmd: 'stats' } | { cmd: 'go' } | { cmd: 'stop' }

interface Done {
  kind: 'done'
  count: number
  /** Deliveries of a sequence number already counted (redeliveries after a reconnect). */
  duplicates: number
  firstMs: number
  lastMs: number
  /** Receive time minus the publish time stamped in the payload, ms (latency runs only). */
  latencies: number[]
}
type FromChild =
  | { kind: 'loaded' }
  | { kind: 'ready'; port?: number }
  | Done
  | { kind: 'stats'; cpuUs: number; rss: number; heapUsed: number; connections: number; maxConcurrent: number; count: number; bulk?: BulkStats }
  | { kind: 'rss'; t: number; rss: number; heapUsed: number }

/** The app's bulk requests since the last `expect`. */
interface BulkStats {
  requests: number
  entries: number
  /** Most entries in one request. */
  maxEntries: number
  /** Entries of requests received and not yet answered (their statuses not yet sent). */
  openEntries: number
}

/** A 256-byte Dapr CloudEvent carrying its sequence number and publish time. */
function payload(seq: number, ts: number): Buffer {
  const head = `{"data":{"seq":${seq},"ts":${ts.toFixed(3)},"pad":"`
  const tail = `"},"datacontenttype":"application/json","id":"${seq}","pubsubname":"pubsub","source":"bench","specversion":"1.0","topic":"${TOPIC}","type":"com.dapr.event.sent"}`
  return Buffer.from(head + 'x'.repeat(Math.max(0, PAYLOAD_BYTES - head.length - tail.length)) + tail)
}

/** The publish time in a payload, without parsing all of it. */
function stampOf(body: Buffer): number {
  const text = body.toString('latin1', 0, 64)
  const i = text.indexOf('"ts":')
  return i < 0 ? NaN : parseFloat(text.slice(i + 5))
}

/** The sequence number in a payload (`{"data":{"seq":N,...`), -1 when there is none. */
function seqOf(body: Buffer): number {
  let n = 0
  let i = 15 // after {"data":{"seq":
  if (body.length < 17 || body[14] !== 0x3a) return -1
  for (; i < body.length && body[i]! >= 0x30 && body[i]! <= 0x39; i++) n = n * 10 + body[i]! - 0x30
  return i === 15 ? -1 : n
}

// ---------------------------------------------------------------- child processes

/** TCP connections the app accepted so far (0 in other roles). */
let connectionCount = (): number => 0
/** Most requests the app had open at once since the last `expect` (0 in other roles). */
let maxConcurrent = (): number => 0
/** Deliveries counted so far towards the expected number (app and plain subscriber). */
let delivered = (): number => 0
/** The app's bulk figures (undefined in other roles). */
let bulkStats = (): BulkStats | undefined => undefined

function send(message: FromChild): void {
  process.send?.(message)
}

/**
 * Counts distinct deliveries (by the sequence number in the payload) towards `n`; sends `done`
 * once, at the n-th distinct one. Redeliveries (after a reconnect) are counted apart.
 */
class Counter {
  n = Infinity
  latency = false
  count = 0
  duplicates = 0
  firstMs = 0
  lastMs = 0
  latencies: number[] = []
  seen = new Uint8Array(0)

  expect(n: number, latency: boolean): void {
    Object.assign(this, { n, latency, count: 0, duplicates: 0, firstMs: 0, lastMs: 0, latencies: [], seen: new Uint8Array(n) })
  }

  hit(body: Buffer): void {
    const t = nowMs()
    const seq = seqOf(body)
    if (seq >= 0 && seq < this.seen.length) {
      if (this.seen[seq]) {
        this.duplicates++
        return
      }
      this.seen[seq] = 1
    }
    if (this.count === 0) this.firstMs = t
    this.lastMs = t
    this.count++
    if (this.latency) this.latencies.push(t - stampOf(body))
    if (this.count === this.n) {
      send({ kind: 'done', count: this.count, duplicates: this.duplicates, firstMs: this.firstMs, lastMs: this.lastMs, latencies: this.latencies })
    }
  }

  /** One entry of a bulk request, received at `t`: the same books as `hit`, from the parsed event. */
  hitEntry(seq: number, ts: number, t: number): void {
    if (seq >= 0 && seq < this.seen.length) {
      if (this.seen[seq]) {
        this.duplicates++
        return
      }
      this.seen[seq] = 1
    }
    if (this.count === 0) this.firstMs = t
    this.lastMs = t
    this.count++
    if (this.latency) this.latencies.push(t - ts)
    if (this.count === this.n) {
      send({ kind: 'done', count: this.count, duplicates: this.duplicates, firstMs: this.firstMs, lastMs: this.lastMs, latencies: this.latencies })
    }
  }
}

/** The entries of Dapr's bulk envelope as the bench reads them: each CloudEvent's data carries seq and ts. */
interface BulkBody {
  entries?: { entryId: string; event?: { data?: { seq?: number; ts?: number } } }[]
}

interface Handlers {
  expect?: (m: Extract<ToChild, { cmd: 'expect' }>) => void
  stop: () => Promise<void>
}

/** Stats and stop are answered from the start; `go` releases `untilGo()`. */
function onCommands(): { set(h: Handlers): void; untilGo(): Promise<void> } {
  let handlers: Handlers = { stop: async () => {} }
  let go: () => void = () => {}
  const gone = new Promise<void>((resolve) => (go = resolve))
  process.on('message', (m: ToChild) => {
    if (m.cmd === 'expect') handlers.expect?.(m)
    else if (m.cmd === 'go') go()
    else if (m.cmd === 'stats') {
      const cpu = process.cpuUsage()
      const mem = process.memoryUsage()
      const bulk = bulkStats()
      send({ kind: 'stats', cpuUs: cpu.user + cpu.system, rss: mem.rss, heapUsed: mem.heapUsed, connections: connectionCount(), maxConcurrent: maxConcurrent(), count: delivered(), ...(bulk ? { bulk } : {}) })
    } else if (m.cmd === 'stop') {
      void handlers.stop().finally(() => process.exit(0))
    }
  })
  process.on('disconnect', () => process.exit(0))
  return {
    set: (h) => (handlers = h),
    // In backlog runs the receiver connects only on `go`, after the parent read its CPU time.
    untilGo: () => (process.env.BENCH_WAIT_GO === 'true' ? (send({ kind: 'loaded' }), gone) : Promise.resolve()),
  }
}

async function childApp(): Promise<void> {
  const counter = new Counter()
  delivered = () => counter.count
  let delayMs = 0
  let connections = 0
  connectionCount = () => connections
  /** Requests being answered at once: the forwarder's effective delivery window. */
  let open = 0
  let maxOpen = 0
  maxConcurrent = () => maxOpen
  const bulk: BulkStats = { requests: 0, entries: 0, maxEntries: 0, openEntries: 0 }
  bulkStats = () => ({ ...bulk })
  /**
   * Dapr's bulk subscription: every entry counted on receipt, SUCCESS for each in
   * `{statuses:[{entryId, status}]}`, after `delayMs` like a single delivery.
   */
  const answerBulk = (body: Buffer, res: http.ServerResponse) => {
    const t = nowMs()
    const entries = (JSON.parse(body.toString('utf8')) as BulkBody).entries ?? []
    bulk.requests++
    bulk.entries += entries.length
    bulk.maxEntries = Math.max(bulk.maxEntries, entries.length)
    bulk.openEntries += entries.length
    for (const e of entries) counter.hitEntry(e.event?.data?.seq ?? -1, e.event?.data?.ts ?? NaN, t)
    const statuses = entries.map((e) => ({ entryId: e.entryId, status: 'SUCCESS' }))
    const reply = () => {
      open--
      bulk.openEntries -= entries.length
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ statuses }))
    }
    if (delayMs > 0) setTimeout(reply, delayMs)
    else reply()
  }
  const server = http.createServer((req, res) => {
    if (req.url === '/dapr/subscribe') {
      res.writeHead(404).end()
      req.resume()
      return
    }
    if (req.url === BULK_PATH) {
      open++
      maxOpen = Math.max(maxOpen, open)
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => answerBulk(Buffer.concat(chunks), res))
      return
    }
    open++
    maxOpen = Math.max(maxOpen, open)
    const reply = () => {
      open--
      res.writeHead(204).end()
    }
    const answer = () => {
      if (delayMs > 0) setTimeout(reply, delayMs)
      else reply()
    }
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      counter.hit(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))
      answer()
    })
  })
  server.keepAliveTimeout = 60_000
  server.on('connection', () => connections++)
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve))
  onCommands().set({
    expect: (m) => {
      maxOpen = open
      Object.assign(bulk, { requests: 0, entries: 0, maxEntries: 0 })
      delayMs = m.delayMs
      counter.expect(m.n, m.latency)
    },
    stop: async () => {
      server.closeAllConnections()
      server.close()
    },
  })
  send({ kind: 'ready', port: (server.address() as AddressInfo).port })
}

interface ReceiverEnv {
  url: string
  clientId: string
  clean: boolean
  appUrl: string
}

function receiverEnv(): ReceiverEnv {
  return receiverEnvOf(process.env)
}

function receiverEnvOf(e: Record<string, string | undefined>): ReceiverEnv {
  return { url: e.BENCH_URL ?? '', clientId: e.BENCH_CLIENT_ID ?? '', clean: e.BENCH_CLEAN === 'true', appUrl: e.BENCH_APP_URL ?? '' }
}

function reportRss(): void {
  const timer = setInterval(() => {
    const mem = process.memoryUsage()
    send({ kind: 'rss', t: nowMs(), rss: mem.rss, heapUsed: mem.heapUsed })
  }, 1000)
  timer.unref()
}

/** A plain MQTT.js receiver on TOPIC (QoS 1, default handling), connected and subscribed. */
async function subscribedClient(env: ReceiverEnv, onMessage: (body: Buffer) => void): Promise<mqtt.MqttClient> {
  // Listener first: a resumed session's queued messages arrive right after CONNACK.
  const client = mqtt.connect(env.url, sessionOptions(env.clientId, env.clean))
  client.on('message', (_topic, body) => onMessage(body))
  // The same words the forwarder logs, for the parent's reconnect count.
  client.on('close', () => console.log('{"msg":"connection lost"}'))
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve())
    client.once('error', reject)
  })
  await client.subscribeAsync(TOPIC, { qos: 1 })
  return client
}

async function childPlain(): Promise<void> {
  const env = receiverEnv()
  const counter = new Counter()
  delivered = () => counter.count
  counter.expect(Number(process.env.BENCH_N ?? Infinity), process.env.BENCH_LATENCY === 'true')
  const commands = onCommands()
  await commands.untilGo()
  const client = await subscribedClient(env, (body) => counter.hit(body))
  reportRss()
  commands.set({ stop: () => client.endAsync() })
  send({ kind: 'ready' })
}

/**
 * The least a relay can do per message, as a ceiling for this machine: MQTT.js with its
 * default handling (the PUBACK leaves on receipt, before delivery, as Node-RED's flow does, so
 * it can lose messages) and one undici request per message over 32 keep-alive connections; no
 * CloudEvent decoding, routing, retries, metrics or trace headers. Any relay that delivers
 * before it acks does at least this much.
 */
async function childRelay(): Promise<void> {
  const env = receiverEnv()
  const { Pool } = await import('undici')
  const commands = onCommands()
  await commands.untilGo()
  const pool = new Pool(env.appUrl, { connections: Number(process.env.BENCH_RELAY_CONNECTIONS ?? 32), pipelining: Number(process.env.BENCH_RELAY_PIPELINING ?? 1) })
  const headers = { 'content-type': 'application/cloudevents+json', pubsubname: 'pubsub' }
  const client = await subscribedClient(env, (body) => {
    pool.request({ method: 'POST', path: '/t', body, headers }).then(
      (res) => res.body.dump(),
      (error: Error) => console.log(`{"msg":"relay request failed","error":${JSON.stringify(error.message)}}`),
    )
  })
  reportRss()
  commands.set({ stop: async () => void (await Promise.all([client.endAsync(), pool.close()])) })
  send({ kind: 'ready' })
}

/**
 * The cheapest honest relay: at least once, as the forwarder promises. MQTT.js with its
 * handleMessage taken over, one undici request per message over 32 keep-alive connections, at
 * most RELAY_WINDOW messages in flight, each PUBACK written only after its 2xx and in arrival
 * order (a failed request is retried; nothing is acked before it was delivered). No CloudEvent
 * decoding, routing, metrics or trace headers. What the forwarder is measured against.
 */
async function childRelayAtLeastOnce(): Promise<void> {
  const env = receiverEnv()
  const { Pool } = await import('undici')
  const commands = onCommands()
  await commands.untilGo()
  const pool = new Pool(env.appUrl, { connections: Number(process.env.BENCH_RELAY_CONNECTIONS ?? 32), pipelining: Number(process.env.BENCH_RELAY_PIPELINING ?? 1) })
  const headers = { 'content-type': 'application/cloudevents+json', pubsubname: 'pubsub' }
  const window = Number(process.env.BENCH_RELAY_WINDOW ?? 20)
  type Entry = { messageId: number; delivered: boolean }
  const order: Entry[] = []
  let held: (() => void) | undefined
  // Passing an error to MQTT.js's callback skips its own PUBACK and lets it read on (handlers/publish.js).
  const hold = new Error('acked later')
  const deliver = (body: Buffer, entry: Entry): void => {
    pool.request({ method: 'POST', path: '/t', body, headers }).then(
      async (res) => {
        await res.body.dump()
        if (res.statusCode >= 200 && res.statusCode < 300) settle(entry)
        else deliver(body, entry)
      },
      () => deliver(body, entry),
    )
  }
  let client: mqtt.MqttClient | undefined
  const settle = (entry: Entry): void => {
    entry.delivered = true
    while (order.length > 0 && order[0]!.delivered) {
      const head = order.shift()!
      // eslint-disable-next-line @typescript-eslint/dot-notation -- MQTT.js has no public way to send a PUBACK
      ;(client as unknown as { _sendPacket(p: object): void })['_sendPacket']({ cmd: 'puback', messageId: head.messageId })
    }
    if (held && order.length < window) {
      const next = held
      held = undefined
      next()
    }
  }
  client = mqtt.connect(env.url, sessionOptions(env.clientId, env.clean))
  client.handleMessage = (packet, callback) => {
    const entry: Entry = { messageId: packet.messageId ?? 0, delivered: false }
    order.push(entry)
    deliver(packet.payload as Buffer, entry)
    if (order.length < window) callback(hold)
    else held = () => callback(hold)
  }
  client.on('close', () => console.log('{"msg":"connection lost"}'))
  await new Promise<void>((resolve, reject) => {
    client!.once('connect', () => resolve())
    client!.once('error', reject)
  })
  await client.subscribeAsync(TOPIC, { qos: 1 })
  reportRss()
  commands.set({ stop: async () => void (await Promise.all([client!.endAsync(), pool.close()])) })
  send({ kind: 'ready' })
}

/** The Component and Subscription every forwarder run uses: QoS 1, a persistent session, route /t. */
function forwarderYaml(env: ReceiverEnv, raw: boolean, bulk = false): string {
  return [
    'apiVersion: dapr.io/v1alpha1',
    'kind: Component',
    'metadata:',
    '  name: pubsub',
    'spec:',
    '  type: pubsub.mqtt',
    '  version: v1',
    '  metadata:',
    `    - { name: url, value: ${JSON.stringify(env.url)} }`,
    '    - { name: qos, value: "1" }',
    `    - { name: consumerID, value: ${JSON.stringify(env.clientId)} }`,
    `    - { name: cleanSession, value: "${env.clean}" }`,
    ...(MQTT5 ? ['    - { name: protocolVersion, value: "5" }', '    - { name: sessionExpiryInterval, value: "3600" }'] : []),
    '---',
    'apiVersion: dapr.io/v2alpha1',
    'kind: Subscription',
    'metadata:',
    '  name: bench',
    'spec:',
    '  pubsubname: pubsub',
    `  topic: ${TOPIC}`,
    ...(bulk ? ['  bulkSubscribe:', '    enabled: true', `    maxMessagesCount: ${BULK_MAX_COUNT}`, `    maxAwaitDurationMs: ${BULK_AWAIT_MS}`] : []),
    '  routes:',
    `    default: ${bulk ? BULK_PATH : '/t'}`,
    ...(raw ? ['  metadata:', '    rawPayload: "true"'] : []),
    '',
  ].join('\n')
}

/** In this process, through the library (BENCH_FWD_IN_PROCESS=true): for profiling with the bench's own knobs. */
async function childForwarder(): Promise<void> {
  const env = receiverEnv()
  const { loadResourcesFromDocuments } = await import('../src/core/resources/index.js')
  const { startForwarder } = await import('../src/forwarder/index.js')
  const text = forwarderYaml(env, process.env.BENCH_FWD_RAW === 'true', process.env.BENCH_FWD_BULK === 'true')
  const resources = await loadResourcesFromDocuments([{ file: 'bench.yaml', text }], { env: {} })
  const commands = onCommands()
  await commands.untilGo()
  // BENCH_FWD_REQUEST_TIMEOUT_MS: a diagnosis knob (the per-attempt AbortSignal.timeout); default 60 s.
  const timeout = Number(process.env.BENCH_FWD_REQUEST_TIMEOUT_MS ?? 0)
  const forwarder = await startForwarder({
    resources,
    appUrl: env.appUrl,
    port: false,
    // Warnings only (un-acked messages, failed deliveries): they end up in a stall report.
    logLevel: 'warn',
    ...(timeout > 0 ? { requestTimeoutMs: timeout } : {}),
    ...(process.env.BENCH_FWD_MAX_UNACKED ? { clientOptions: { maxUnacked: Number(process.env.BENCH_FWD_MAX_UNACKED) } } : {}),
  })
  await forwarder.ready
  reportRss()
  commands.set({ stop: async () => void (await forwarder.stop()) })
  send({ kind: 'ready' })
}

// ---------------------------------------------------------------- parent side

class Child {
  readonly proc: ChildProcess
  readonly rss: { t: number; rss: number; heapUsed: number }[] = []
  readonly #waiters: { kind: FromChild['kind']; resolve: (m: FromChild) => void }[] = []
  readonly exited: Promise<void>
  #output = ''

  constructor(role: string, env: Record<string, string>, nodeFlags: string[] = []) {
    this.proc = spawn(process.execPath, [...nodeFlags, CHILD_BUNDLE], {
      cwd: ROOT,
      env: { ...process.env, ...env, BENCH_FWD_ROLE: role },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    const echo = process.env.BENCH_FWD_ECHO === role
    this.proc.stdout?.setEncoding('utf8').on('data', (c: string) => {
      this.#output += c
      if (echo) process.stderr.write(c)
    })
    this.proc.stderr?.setEncoding('utf8').on('data', (c: string) => {
      this.#output += c
      if (echo) process.stderr.write(c)
    })
    this.exited = new Promise((resolve) => this.proc.once('exit', () => resolve()))
    this.proc.on('message', (m: FromChild) => {
      if (m.kind === 'rss') this.rss.push({ t: m.t, rss: m.rss, heapUsed: m.heapUsed })
      const i = this.#waiters.findIndex((w) => w.kind === m.kind)
      if (i >= 0) this.#waiters.splice(i, 1)[0]?.resolve(m)
    })
  }

  next<K extends FromChild['kind']>(kind: K, timeoutMs: number): Promise<Extract<FromChild, { kind: K }>> {
    const reply = new Promise<Extract<FromChild, { kind: K }>>((resolve, reject) => {
      const waiter = {
        kind,
        resolve: (m: FromChild) => {
          clearTimeout(timer)
          resolve(m as Extract<FromChild, { kind: K }>)
        },
      }
      // A waiter that gave up is removed, so that it cannot take a later run's reply.
      const fail = (why: string) => {
        clearTimeout(timer)
        const i = this.#waiters.indexOf(waiter)
        if (i < 0) return
        this.#waiters.splice(i, 1)
        reject(new Error(`bench: ${why} while waiting for '${kind}'\n${this.#output.slice(-4000)}`))
      }
      const timer = setTimeout(() => fail(`nothing within ${timeoutMs} ms`), timeoutMs)
      void this.exited.then(() => fail('child exited'))
      this.#waiters.push(waiter)
    })
    // Callers may stop waiting (a stall report): a later rejection must not go unhandled.
    reply.catch(() => {})
    return reply
  }

  output(): string {
    return this.#output
  }

  command(m: ToChild): void {
    this.proc.send(m)
  }

  async stats(): Promise<Extract<FromChild, { kind: 'stats' }>> {
    const reply = this.next('stats', 10_000)
    this.command({ cmd: 'stats' })
    return reply
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return
    this.command({ cmd: 'stop' })
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000)
    await this.exited
    clearTimeout(timer)
  }
}

/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100

/**
 * The forwarder as shipped: `node dist/cli/main.js forward` (what the image's entry point runs),
 * with its resources in a folder. Measured from outside: CPU time and RSS from /proc, readiness
 * from `/readyz`; it has no IPC with the bench, so nothing of the bench runs in its process.
 */
class CliChild {
  readonly proc: ChildProcess
  readonly rss: { t: number; rss: number; heapUsed: number }[] = []
  readonly exited: Promise<void>
  #output = ''
  #sampler: NodeJS.Timeout

  private constructor(
    readonly port: number,
    readonly dir: string,
    env: Record<string, string>,
    nodeFlags: string[],
  ) {
    const args = [...nodeFlags, CLI_MAIN, 'forward', '--resources-path', dir, '--app-url', env.BENCH_APP_URL ?? '', '--port', String(port), '--log-level', 'warn']
    this.proc = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' }, stdio: ['ignore', 'pipe', 'pipe'] })
    const echo = process.env.BENCH_FWD_ECHO === 'forwarder'
    const collect = (c: string) => {
      this.#output += c
      if (echo) process.stderr.write(c)
    }
    this.proc.stdout?.setEncoding('utf8').on('data', collect)
    this.proc.stderr?.setEncoding('utf8').on('data', collect)
    this.exited = new Promise((resolve) => this.proc.once('exit', () => resolve()))
    this.#sampler = setInterval(() => {
      const rss = procRss(this.proc.pid)
      if (rss > 0) this.rss.push({ t: nowMs(), rss, heapUsed: 0 })
    }, 1000)
  }

  static async start(env: Record<string, string>, nodeFlags: string[]): Promise<CliChild> {
    const dir = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-bench-'))
    await writeFile(path.join(dir, 'pubsub.yaml'), cliResources(env))
    const probe = http.createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as AddressInfo).port
    await new Promise((resolve) => probe.close(resolve))
    return new CliChild(port, dir, env, nodeFlags)
  }

  /** `ready`: `/readyz` answers 200 (subscribed); `loaded`: at once (the CLI connects as it starts). */
  async next(kind: 'ready' | 'loaded', timeoutMs: number): Promise<void> {
    if (kind === 'loaded') return
    const deadline = nowMs() + timeoutMs
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`bench: forwarder exited\n${this.#output.slice(-4000)}`)
      const ok = await fetch(`http://127.0.0.1:${this.port}/readyz`).then((r) => r.ok, () => false)
      if (ok) return
      if (nowMs() > deadline) throw new Error(`bench: forwarder not ready within ${timeoutMs} ms\n${this.#output.slice(-4000)}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  output(): string {
    return this.#output
  }

  command(_m: ToChild): void {}

  async stats(): Promise<Extract<FromChild, { kind: 'stats' }>> {
    return { kind: 'stats', cpuUs: procCpuUs(this.proc.pid), rss: procRss(this.proc.pid), heapUsed: 0, connections: 0, maxConcurrent: 0, count: 0 }
  }

  async stop(): Promise<void> {
    clearInterval(this.#sampler)
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM')
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000)
      await this.exited
      clearTimeout(timer)
    }
    await rm(this.dir, { recursive: true, force: true })
  }
}

function procRss(pid: number | undefined): number {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb ? Number(kb) * 1024 : 0
  } catch {
    return 0
  }
}

/** utime + stime of a process, µs (10 ms resolution: runs are seconds long). */
function procCpuUs(pid: number | undefined): number {
  try {
    // The command name (field 2) may hold spaces; the fields after it are space-separated.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1e6
  } catch {
    return 0
  }
}

/** The resources folder of a CLI forwarder run: the same component and subscription as `childForwarder`. */
function cliResources(env: Record<string, string>): string {
  return forwarderYaml(receiverEnvOf(env), env.BENCH_FWD_RAW === 'true', env.BENCH_FWD_BULK === 'true')
}

let sequence = 0
// At most 23 characters, the length MQTT 3.1.1 guarantees.
const newClientId = (kind: string) => `bench-${kind.slice(0, 3)}-${process.pid}-${++sequence}`

interface Run {
  label: string
  messages: number
  /** First publish (concurrent) or first delivery (backlog) to last delivery, s. */
  seconds: number
  perSecond: number
  publishSeconds: number
  /** Receiver process CPU per message, µs (for the forwarder: the forwarder process only). */
  cpuUsPerMessage: number
  appCpuUsPerMessage?: number
  /** TCP connections the forwarder opened to the app during the run. */
  appConnections?: number
  /** Most requests open at the app at once. */
  appMaxConcurrent?: number
  /** Bulk runs: the app's bulk requests during the run. */
  bulk?: BulkStats
  latencies: number[]
  rss: { t: number; rss: number; heapUsed: number }[]
  /** The receiver's memory once ready, before the stream started. */
  before: { rss: number; heapUsed: number }
  receiverReady: number
  duplicates: number
  /** Times the receiver's MQTT connection was lost during the run (and why, when known). */
  reconnects: number
  keepaliveTimeouts: number
}

type Kind = 'plain' | 'forwarder' | 'forwarder-raw' | 'forwarder-bulk' | 'relay' | 'relay-alo'
const LABELS: Record<Kind, string> = {
  plain: 'MQTT.js subscriber (default handleMessage)',
  forwarder: 'mqtt-fn forwarder -> HTTP app (204)',
  'forwarder-raw': 'mqtt-fn forwarder, rawPayload -> app',
  'forwarder-bulk': `mqtt-fn forwarder, bulk ${BULK_MAX_COUNT}/${BULK_AWAIT_MS} ms -> app`,
  relay: 'reference relay (acks on receipt) -> app',
  'relay-alo': 'reference relay (PUBACK after 2xx) -> app',
}
type Mode = { kind: 'flood' } | { kind: 'backlog' } | { kind: 'paced'; rate: number }

interface Bench {
  broker: MosquittoBroker
  app: Child
  appUrl: string
}

/** Publishes `n` messages at QoS 1: a window of WINDOW unacknowledged publishes, or paced. */
async function publish(url: string, n: number, mode: Mode, stamp: boolean): Promise<{ t0: number; seconds: number }> {
  const client = await mqtt.connectAsync(url, { clientId: newClientId('pub'), reconnectPeriod: 0, ...(MQTT5 ? { protocolVersion: 5 as const } : {}) })
  const options = { qos: 1 } as const
  const fixed = stamp ? [] : Array.from({ length: n }, (_, i) => payload(i, 0))
  const t0 = nowMs()
  if (mode.kind === 'paced') {
    const pending: Promise<unknown>[] = []
    const intervalMs = 1000 / mode.rate
    for (let i = 0; i < n; i++) {
      const due = t0 + i * intervalMs
      const wait = due - nowMs()
      if (wait > 1) await new Promise((r) => setTimeout(r, wait))
      pending.push(client.publishAsync(TOPIC, payload(i, nowMs()), options))
    }
    await Promise.all(pending)
  } else {
    let next = 0
    const worker = async () => {
      while (next < n) {
        const i = next++
        await client.publishAsync(TOPIC, stamp ? payload(i, nowMs()) : fixed[i]!, options)
      }
    }
    await Promise.all(Array.from({ length: Math.min(WINDOW, n) }, worker))
  }
  const seconds = (nowMs() - t0) / 1000
  await client.endAsync()
  return { t0, seconds }
}

async function oneRun(b: Bench, kind: Kind, n: number, mode: Mode, opts: { delayMs?: number; latency?: boolean; settle?: boolean } = {}): Promise<Run> {
  const latency = opts.latency ?? false
  const clientId = newClientId(kind)
  // Persistent sessions, as the forwarder should run: a reconnect redelivers, it does not lose.
  const clean = false
  if (mode.kind === 'backlog') {
    // The persistent session the backlog is queued for.
    const session = await mqtt.connectAsync(b.broker.url, { ...sessionOptions(clientId, false), reconnectPeriod: 0 })
    await session.subscribeAsync(TOPIC, { qos: 1 })
    await session.endAsync()
  }
  const env = {
    BENCH_URL: b.broker.url,
    BENCH_CLIENT_ID: clientId,
    BENCH_CLEAN: String(clean),
    BENCH_APP_URL: b.appUrl,
    BENCH_N: String(n),
    BENCH_LATENCY: String(latency),
    BENCH_WAIT_GO: String(mode.kind === 'backlog'),
  }
  let published = { t0: 0, seconds: 0 }
  if (mode.kind === 'backlog') published = await publish(b.broker.url, n, mode, latency)
  const waitSeconds = 60 + n / 200 + ((opts.delayMs ?? 0) * n) / 1000 / 10
  let done: Promise<Done>
  const appBefore = await b.app.stats()
  if (kind !== 'plain') {
    const appDone = b.app.next('done', waitSeconds * 1000)
    b.app.command({ cmd: 'expect', n, delayMs: opts.delayMs ?? 0, latency })
    done = appDone
  }
  const spawnedAt = nowMs()
  const forwarder = kind === 'forwarder' || kind === 'forwarder-raw' || kind === 'forwarder-bulk'
  const childEnv = { ...env, BENCH_FWD_RAW: String(kind === 'forwarder-raw'), BENCH_FWD_BULK: String(kind === 'forwarder-bulk') }
  const child: Child | CliChild = forwarder && !IN_PROCESS ? await CliChild.start(childEnv, FORWARDER_NODE_FLAGS) : new Child(kind, childEnv, forwarder ? FORWARDER_NODE_FLAGS : kind === 'plain' ? [] : RELAY_NODE_FLAGS)
  if (kind === 'plain' && child instanceof Child) done = child.next('done', waitSeconds * 1000)
  try {
    let before: Extract<FromChild, { kind: 'stats' }>
    if (mode.kind === 'backlog') {
      await child.next('loaded', 30_000)
      before = await child.stats()
      child.command({ cmd: 'go' })
    } else {
      await child.next('ready', 30_000)
      before = await child.stats()
    }
    const receiverReady = nowMs() - spawnedAt
    if (mode.kind !== 'backlog') published = await publish(b.broker.url, n, mode, latency)
    const result = await withStallWatch(done!, kind === 'plain' && child instanceof Child ? child : b.app, child, n)
    const after = await child.stats()
    const appAfter = await b.app.stats()
    // A last RSS sample after the stream.
    if (opts.settle) await new Promise((r) => setTimeout(r, 1100))
    const seconds = mode.kind === 'backlog' ? (result.lastMs - result.firstMs) / 1000 : (result.lastMs - published.t0) / 1000
    const counted = mode.kind === 'backlog' ? n - 1 : n
    const run: Run = {
      label: LABELS[kind],
      messages: n,
      seconds,
      perSecond: counted / seconds,
      publishSeconds: published.seconds,
      cpuUsPerMessage: (after.cpuUs - before.cpuUs) / n,
      latencies: result.latencies,
      rss: child.rss,
      before: { rss: before.rss, heapUsed: before.heapUsed },
      receiverReady,
      duplicates: result.duplicates,
      reconnects: 0,
      keepaliveTimeouts: 0,
    }
    const output = child.output()
    run.reconnects = output.split('"connection lost"').length - 1
    run.keepaliveTimeouts = output.split('Keepalive timeout').length - 1
    if (kind !== 'plain') {
      run.appCpuUsPerMessage = (appAfter.cpuUs - appBefore.cpuUs) / n
      run.appConnections = appAfter.connections - appBefore.connections
      run.appMaxConcurrent = appAfter.maxConcurrent
    }
    if (kind === 'forwarder-bulk' && appAfter.bulk) run.bulk = appAfter.bulk
    return run
  } finally {
    await child.stop()
  }
}

/**
 * Waits for `done`, but fails early with a report when the count of deliveries stops moving
 * for STALL_SECONDS (a message lost or left un-acked would otherwise hang the run).
 */
async function withStallWatch(done: Promise<Done>, counting: Child, receiver: Child | CliChild, n: number): Promise<Done> {
  let last = -1
  let since = nowMs()
  let timer: NodeJS.Timeout | undefined
  const stalled = new Promise<never>((_, reject) => {
    const check = async () => {
      try {
        const { count } = await counting.stats()
        if (count !== last) {
          last = count
          since = nowMs()
        } else if (nowMs() - since > STALL_SECONDS * 1000) {
          reject(new Error(`bench: stalled at ${count}/${n} deliveries for ${STALL_SECONDS} s; receiver output:\n${receiver.output().slice(-4000)}`))
          return
        }
      } catch (error) {
        reject(error as Error)
        return
      }
      timer = setTimeout(() => void check(), 2000)
    }
    timer = setTimeout(() => void check(), 2000)
  })
  try {
    return await Promise.race([done, stalled])
  } finally {
    clearTimeout(timer)
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`

/** `; 2 reconnects (2 keepalive timeouts), 980 redelivered` or nothing. */
function churn(r: Run): string {
  if (r.reconnects === 0 && r.duplicates === 0) return ''
  return `; ${r.reconnects} reconnects (${r.keepaliveTimeouts} keepalive timeouts), ${r.duplicates} redelivered`
}

function row(r: Run): string {
  const app = r.appCpuUsPerMessage === undefined ? '' : ` (+ app ${r.appCpuUsPerMessage.toFixed(1)}, ${r.appConnections} connections)`
  return `  ${r.label.padEnd(44)} ${r.perSecond.toFixed(0).padStart(7)} msg/s   ${r.seconds.toFixed(2)} s   receiver CPU ${r.cpuUsPerMessage.toFixed(1)} µs/msg${app}   publisher done in ${r.publishSeconds.toFixed(2)} s${churn(r)}`
}

/** The contenders of a throughput round, in their first round's order (rotated after). */
const THROUGHPUT_KINDS: Kind[] = (process.env.BENCH_FWD_KINDS ?? 'plain,forwarder,forwarder-raw,relay-alo,relay').split(',').map((k) => k.trim() as Kind)

async function throughput(b: Bench, mode: Mode, title: string): Promise<string[]> {
  const runs = new Map<Kind, Run[]>(THROUGHPUT_KINDS.map((k) => [k, []]))
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate who goes first so drift in the machine's load hits every side alike.
    for (let k = 0; k < THROUGHPUT_KINDS.length; k++) {
      const kind = THROUGHPUT_KINDS[(k + r) % THROUGHPUT_KINDS.length]!
      runs.get(kind)!.push(await oneRun(b, kind, MESSAGES, mode))
    }
  }
  const lines = [title]
  for (const list of runs.values()) for (const run of list) lines.push(row(run))
  const of = (kind: Kind) => runs.get(kind) ?? []
  const fmt = (xs: number[]) => `${xs.map((x) => x.toFixed(3)).join(', ')} (median ${median(xs).toFixed(3)}x)`
  /** Per-round ratios a/b of throughput and of CPU per message (same round, same machine load). */
  const compare = (a: Kind, b: Kind) => {
    const as = of(a)
    const bs = of(b)
    const n = Math.min(as.length, bs.length)
    const rate = Array.from({ length: n }, (_, i) => as[i]!.perSecond / bs[i]!.perSecond)
    const cpu = Array.from({ length: n }, (_, i) => as[i]!.cpuUsPerMessage / bs[i]!.cpuUsPerMessage)
    return { n, rate, cpu }
  }
  for (const kind of ['forwarder', 'forwarder-raw', 'relay-alo', 'relay'] as Kind[]) {
    const c = compare(kind, 'plain')
    if (c.n > 0) lines.push(`  ${kind}/plain msg/s: ${fmt(c.rate)}`)
  }
  for (const kind of ['forwarder', 'forwarder-raw'] as Kind[]) {
    const c = compare(kind, 'relay-alo')
    if (c.n === 0) continue
    const rateMet = median(c.rate) >= 1.0 ? 'met' : 'MISSED'
    const cpuMet = median(c.cpu) <= 1.1 ? 'met' : 'MISSED'
    lines.push(`  ${kind}/at-least-once relay: msg/s ${fmt(c.rate)} goal >= 1.0x ${rateMet}; CPU/msg ${fmt(c.cpu)} goal <= 1.1x ${cpuMet}`)
  }
  const rss = [...of('forwarder'), ...of('forwarder-raw')].flatMap((f) => f.rss.map((x) => x.rss))
  if (rss.length > 0) lines.push(`  forwarder RSS peak over these runs ${mb(Math.max(...rss))}`)
  return lines
}

async function slowApp(b: Bench, label: string): Promise<string> {
  const run = await oneRun(b, 'forwarder', SLOW_MESSAGES, { kind: 'flood' }, { delayMs: SLOW_DELAY_MS })
  return (
    `  ${label.padEnd(44)} ${run.perSecond.toFixed(0).padStart(7)} msg/s   ${run.seconds.toFixed(2)} s ` +
    `(goal >= 500 msg/s: ${run.perSecond >= 500 ? 'met' : 'MISSED'}); at most ${run.appMaxConcurrent} requests open at the app at once${churn(run)}`
  )
}

async function latencyRuns(b: Bench): Promise<string[]> {
  // The first second is warm-up (new HTTP connections, JIT) and is not counted.
  const warm = Math.round(RATE)
  const n = warm + Math.round(RATE * LATENCY_SECONDS)
  const mode: Mode = { kind: 'paced', rate: RATE }
  const plain = await oneRun(b, 'plain', n, mode, { latency: true })
  const fwd = await oneRun(b, 'forwarder', n, mode, { latency: true })
  const stats = (r: Run) => {
    const s = r.latencies.slice(warm).sort((x, y) => x - y)
    return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN }
  }
  const p = stats(plain)
  const f = stats(fwd)
  const line = (label: string, s: typeof p, r: Run) =>
    `  ${label.padEnd(44)} p50 ${s.p50.toFixed(3)} ms   p90 ${s.p90.toFixed(3)} ms   p99 ${s.p99.toFixed(3)} ms   max ${s.max.toFixed(1)} ms   (n ${s.n}, achieved ${r.perSecond.toFixed(0)} msg/s${churn(r)})`
  return [
    `delivery latency at ${RATE} msg/s for ${LATENCY_SECONDS} s after 1 s warm-up (publish stamp in the payload -> subscriber 'message' / app request end):`,
    line('MQTT.js subscriber', p, plain),
    line('mqtt-fn forwarder -> HTTP app (204)', f, fwd),
    `  delta forwarder - plain: p50 ${signed(f.p50 - p.p50)} ms, p99 ${signed(f.p99 - p.p99)} ms`,
  ]
}

// ---------------------------------------------------------------- bulk (#14 goal 3)

/** `, 200 requests of 100.0 entries on average (at most 100)` for a bulk run. */
function batches(r: Run): string {
  const b = r.bulk
  if (!b || b.requests === 0) return ''
  return `; ${b.requests} bulk requests, ${(b.entries / b.requests).toFixed(1)} entries on average (at most ${b.maxEntries})`
}

/**
 * Rounds of the plain subscriber, the bulk forwarder and the single-delivery forwarder, the
 * order rotated per round; each bulk round must deliver every published message (the app
 * counts distinct sequence numbers over the entries; a lost one stalls the run, which fails).
 */
async function bulkThroughput(b: Bench): Promise<string[]> {
  const kinds: Kind[] = ['plain', 'forwarder-bulk', 'forwarder']
  const runs = new Map<Kind, Run[]>(kinds.map((k) => [k, []]))
  const loads: string[] = []
  for (let r = 0; r < BULK_ROUNDS; r++) {
    loads.push(readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '))
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(k + r) % kinds.length]!
      runs.get(kind)!.push(await oneRun(b, kind, BULK_MESSAGES, { kind: 'flood' }))
    }
  }
  const lines = [
    `bulk subscribe (maxMessagesCount ${BULK_MAX_COUNT}, maxAwaitDurationMs ${BULK_AWAIT_MS}), QoS 1, ${PAYLOAD_BYTES} B, ${BULK_MESSAGES} msgs published at full speed (window ${WINDOW}), ` +
      `app answering {statuses:[SUCCESS...]} at once; ${BULK_ROUNDS} rounds, order rotated; load average at each round's start: ${loads.join(' | ')}`,
  ]
  for (const list of runs.values()) for (const run of list) lines.push(row(run) + batches(run))
  const plain = runs.get('plain')!
  const ratio = (kind: Kind) => runs.get(kind)!.map((run, i) => run.perSecond / plain[i]!.perSecond)
  const fmt = (xs: number[]) => `${xs.map((x) => x.toFixed(3)).join(', ')} (median ${median(xs).toFixed(3)}x)`
  const bulk = ratio('forwarder-bulk')
  // A round ends only at the n-th distinct sequence number (a loss stalls it and fails the section);
  // the app's entry count less the redelivered ones says the same from the other side.
  const lost = runs.get('forwarder-bulk')!.filter((run) => (run.bulk?.entries ?? 0) - run.duplicates !== BULK_MESSAGES).length
  lines.push(`  bulk/plain msg/s per round: ${fmt(bulk)} goal >= 0.9x ${median(bulk) >= 0.9 ? 'met' : 'MISSED'}`)
  lines.push(`  single/plain msg/s per round: ${fmt(ratio('forwarder'))}; bulk/single: ${fmt(runs.get('forwarder-bulk')!.map((run, i) => run.perSecond / runs.get('forwarder')![i]!.perSecond))}`)
  lines.push(`  delivered = published in every bulk round: ${lost === 0 ? 'yes' : `NO (${lost} rounds)`} (${BULK_MESSAGES} distinct sequence numbers each; redelivered ${runs.get('forwarder-bulk')!.map((run) => run.duplicates).join(', ')})`)
  return lines
}

/**
 * Acked only after its status: the app holds every bulk answer for `BULK_HOLD_MS`; mid-stream
 * the forwarder is killed (SIGKILL: no drain, no last acks) while requests are open, and a new
 * one resumes the same persistent session. Every entry the app had received but not answered
 * must come back (a forwarder that acked on receipt would lose them), and all `n` arrive.
 */
async function bulkKillRun(b: Bench): Promise<string[]> {
  const n = Number(process.env.BENCH_FWD_BULK_KILL_MESSAGES ?? 5_000)
  const holdMs = Number(process.env.BENCH_FWD_BULK_HOLD_MS ?? 100)
  const clientId = newClientId('bulk-kill')
  const env = { BENCH_URL: b.broker.url, BENCH_CLIENT_ID: clientId, BENCH_CLEAN: 'false', BENCH_APP_URL: b.appUrl, BENCH_FWD_BULK: 'true', BENCH_FWD_RAW: 'false' }
  const done = b.app.next('done', 120_000)
  b.app.command({ cmd: 'expect', n, delayMs: holdMs, latency: false })
  let first: CliChild | undefined = await CliChild.start(env, FORWARDER_NODE_FLAGS)
  let second: CliChild | undefined
  try {
    await first.next('ready', 30_000)
    const publishing = publish(b.broker.url, n, { kind: 'paced', rate: Number(process.env.BENCH_FWD_BULK_KILL_RATE ?? 1_000) }, false)
    // Kill once a third has arrived, at a moment when entries wait for their statuses.
    let atKill: Extract<FromChild, { kind: 'stats' }> | undefined
    for (const deadline = nowMs() + 60_000; nowMs() < deadline; ) {
      const s = await b.app.stats()
      if (s.count >= n / 3 && (s.bulk?.openEntries ?? 0) > 0) {
        first.proc.kill('SIGKILL')
        atKill = s
        break
      }
      await new Promise((r) => setTimeout(r, 5))
    }
    if (!atKill) throw new Error('bench: no moment with open bulk requests to kill the forwarder at')
    await first.exited
    await first.stop()
    first = undefined
    second = await CliChild.start(env, FORWARDER_NODE_FLAGS)
    await second.next('ready', 30_000)
    await publishing
    const result = await withStallWatch(done, b.app, second, n)
    const after = await b.app.stats()
    const open = atKill.bulk?.openEntries ?? 0
    const ok = result.count === n && result.duplicates >= open
    return [
      `acked only after its status: app holding each bulk answer ${holdMs} ms, ${n} msgs paced, forwarder SIGKILLed at ${atKill.count} delivered with ${open} entries received and not yet answered, a new forwarder on the same session:`,
      `  delivered ${result.count}/${n} distinct, ${result.duplicates} redelivered (>= the ${open} unanswered: ${result.duplicates >= open ? 'yes' : 'NO'}); ${after.bulk?.requests ?? 0} bulk requests, at most ${after.bulk?.maxEntries ?? 0} entries in one ` +
        `(every unanswered entry came back: none was acked before its status): ${ok ? 'confirmed' : 'NOT confirmed'}`,
    ]
  } finally {
    await first?.stop()
    await second?.stop()
  }
}

/** p50/p99 at RATE msg/s: the cost of maxAwaitDurationMs (a batch waits for it unless it fills). */
async function bulkLatency(b: Bench): Promise<string[]> {
  const warm = Math.round(RATE)
  const n = warm + Math.round(RATE * LATENCY_SECONDS)
  const mode: Mode = { kind: 'paced', rate: RATE }
  const single = await oneRun(b, 'forwarder', n, mode, { latency: true })
  const bulk = await oneRun(b, 'forwarder-bulk', n, mode, { latency: true })
  const stats = (r: Run) => {
    const s = r.latencies.slice(warm).sort((x, y) => x - y)
    return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s[s.length - 1] ?? NaN }
  }
  const s = stats(single)
  const k = stats(bulk)
  const line = (label: string, x: typeof s, r: Run) =>
    `  ${label.padEnd(44)} p50 ${x.p50.toFixed(3)} ms   p90 ${x.p90.toFixed(3)} ms   p99 ${x.p99.toFixed(3)} ms   max ${x.max.toFixed(1)} ms   (n ${x.n}, achieved ${r.perSecond.toFixed(0)} msg/s${churn(r)}${batches(r)})`
  return [
    `bulk delivery latency at ${RATE} msg/s for ${LATENCY_SECONDS} s after 1 s warm-up (publish stamp -> app request end; a bulk entry counts when its request arrives):`,
    line(LABELS.forwarder, s, single),
    line(LABELS['forwarder-bulk'], k, bulk),
    `  cost of maxAwaitDurationMs ${BULK_AWAIT_MS}: p50 ${signed(k.p50 - s.p50)} ms, p99 ${signed(k.p99 - s.p99)} ms`,
  ]
}

/** About ten evenly spaced samples, `rss/heapUsed` in MB. */
function trajectory(samples: { rss: number; heapUsed: number }[]): string {
  const step = Math.max(1, Math.floor(samples.length / 10))
  const picked = samples.filter((_, i) => i % step === 0 || i === samples.length - 1)
  return picked.map((s) => `${(s.rss / 1e6).toFixed(0)}/${(s.heapUsed / 1e6).toFixed(0)}`).join(' ')
}

async function rssRun(b: Bench): Promise<string[]> {
  const run = await oneRun(b, 'forwarder', RSS_MESSAGES, { kind: 'flood' }, { settle: true })
  const samples = run.rss
  const last = samples[samples.length - 1]
  if (!last) return [`forwarder RSS over ${RSS_MESSAGES} messages: no samples`]
  const peakAt = samples.reduce((best, s, i) => (s.rss > (samples[best]?.rss ?? 0) ? i : best), 0)
  const peak = samples[peakAt] ?? last
  const heapPeak = Math.max(...samples.map((s) => s.heapUsed))
  const tenth = Math.max(1, Math.ceil(samples.length / 10))
  const avg = (xs: typeof samples) => xs.reduce((a, s) => a + s.rss, 0) / xs.length
  return [
    `forwarder RSS over ${RSS_MESSAGES} messages (flood, app 204; sampled every 1 s, ${samples.length} samples; plain node, bundled child):`,
    `  ready (idle) ${mb(run.before.rss)}   peak ${mb(peak.rss)} (sample ${peakAt + 1})   end ${mb(last.rss)}   heapUsed idle ${mb(run.before.heapUsed)}, peak ${mb(heapPeak)}` +
      `   first-tenth avg ${mb(avg(samples.slice(0, tenth)))} -> last-tenth avg ${mb(avg(samples.slice(-tenth)))}   (goal < 150 MB: ${peak.rss < 150e6 ? 'met' : 'MISSED'})`,
    `  RSS / heapUsed MB over time: ${trajectory(samples)}`,
    `  throughput during it: ${run.perSecond.toFixed(0)} msg/s (${run.seconds.toFixed(1)} s)${churn(run)}`,
  ]
}

/** A section's lines, or one line saying why it failed (a stall, a child that died), so the rest still runs. */
async function section(name: string, run: () => Promise<string[]>): Promise<string[]> {
  try {
    return await run()
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error)
    return [`${name}: FAILED: ${text.split('\n').slice(0, 6).join('\n          ')}`]
  }
}

export async function benchForwarder(): Promise<string[]> {
  const lines: string[] = []
  // The forwarder runs as shipped: the CLI bundle, built from these sources.
  if (!IN_PROCESS) execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--quiet'], { cwd: ROOT, stdio: 'inherit' })
  await esbuild.build({
    entryPoints: [SELF],
    outfile: CHILD_BUNDLE,
    bundle: true,
    packages: 'external',
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
  })
  // The backlog and flood runs queue up to RSS_MESSAGES for one client.
  const config = [`max_queued_messages ${Math.max(1_000_000, RSS_MESSAGES * 2)}`]
  const broker = await startMosquitto({ extraConfig: config })
  const app = new Child('app', {})
  try {
    const { port } = await app.next('ready', 30_000)
    const b: Bench = { broker, app, appUrl: `http://127.0.0.1:${port}` }
    lines.push(
      `Mosquitto: set_tcp_nodelay true, ${config.join(', ')}, max_inflight_messages default (20); MQTT 3.1.1, persistent sessions ` +
        `(cleanSession false, a fresh client id per run); forwarder defaults (concurrency 32); publisher (this process), app, ` +
        `forwarder and plain subscriber each in their own process (plain node).`,
    )
    const flood = `throughput, QoS 1, ${PAYLOAD_BYTES} B, ${MESSAGES} msgs published at full speed (window ${WINDOW}) while received; first publish -> last delivery:`
    if (SECTIONS.has('flood')) lines.push(...(await section('throughput (flood)', () => throughput(b, { kind: 'flood' }, flood))))
    const backlog = `throughput, QoS 1, ${PAYLOAD_BYTES} B, backlog of ${MESSAGES} msgs queued on a persistent session, drained on connect; first -> last delivery (receiver CPU includes its start-up: connect, subscribe, metrics registry):`
    if (SECTIONS.has('backlog')) lines.push(...(await section('throughput (backlog)', () => throughput(b, { kind: 'backlog' }, backlog))))
    if (SECTIONS.has('slow')) {
      lines.push(`app answering after ${SLOW_DELAY_MS} ms, ${SLOW_MESSAGES} msgs published at full speed:`)
      lines.push(...(await section('  slow app', async () => [await slowApp(b, 'mqtt-fn forwarder (concurrency 32)')])))
    }
    if (SECTIONS.has('latency')) lines.push(...(await section('delivery latency', () => latencyRuns(b))))
    if (SECTIONS.has('rss')) lines.push(...(await section('forwarder RSS', () => rssRun(b))))
    if (SECTIONS.has('bulk')) {
      lines.push(...(await section('bulk throughput', () => bulkThroughput(b))))
      lines.push(...(await section('bulk acks', () => bulkKillRun(b))))
      lines.push(...(await section('bulk latency', () => bulkLatency(b))))
    }
  } finally {
    await app.stop()
    await broker.stop()
  }
  return lines
}

// ---------------------------------------------------------------- entry of a child

const role = process.env.BENCH_FWD_ROLE
if (role && process.argv[1] && path.resolve(process.argv[1]) === SELF) {
  if (role === 'app') await childApp()
  else if (role === 'plain') await childPlain()
  else if (role === 'forwarder' || role === 'forwarder-raw' || role === 'forwarder-bulk') await childForwarder()
  else if (role === 'relay') await childRelay()
  else if (role === 'relay-alo') await childRelayAtLeastOnce()
  else throw new Error(`unknown BENCH_FWD_ROLE ${role}`)
}
