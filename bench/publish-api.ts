/**
 * The publish API under load (issue 14, goal 6): `mqtt-fn serve` against a minimal
 * `node:http` -> MQTT.js `publishAsync` bridge, both driven by autocannon over loopback in the
 * same run. Goal: mqtt-fn reaches at least 0.9x the bridge's requests/s; p99 reported.
 *
 * Processes: this one starts a private Mosquitto (support/, set_tcp_nodelay true, never the
 * shared 1883) and runs autocannon in-process as the load generator. `mqtt-fn serve` runs as a
 * user runs it: the CLI bundle (scripts/build-cli.mjs, built into node_modules/.cache so that
 * dist/ is left alone) under plain node, with a resources folder holding one pubsub.mqtt
 * Component (QoS 1). The bridge is the script in BRIDGE_SOURCE below, under plain node. Both
 * stay up for the whole run, connected to the same broker; rounds alternate which goes first.
 *
 * Each run: POST /v1.0/publish/pubsub/bench, a 256-byte JSON body, CONNECTIONS keep-alive
 * connections, no pipelining, SECONDS long. Latency is each response's time as autocannon
 * measures it (fractional ms, from its 'response' events; its own histogram keeps whole ms).
 * CPU/req: the child's utime + stime from /proc/PID/stat over the run (10 ms ticks), per 2xx.
 * mqtt-fn sends the request as a Dapr CloudEvent (its contract); the bridge sends the body as is.
 *
 * Knobs: BENCH_API_SECONDS (10), BENCH_API_ROUNDS (3), BENCH_API_CONNECTIONS (64),
 * BENCH_API_WARMUP_SECONDS (2), BENCH_API_NODE_FLAGS (node flags of the serve child, e.g.
 * `--cpu-prof --cpu-prof-dir=DIR`), BENCH_API_BRIDGE_NODE_FLAGS (the same for the bridge),
 * BENCH_API_RAW=false (skip the informational third run per round: `mqtt-fn serve` with
 * `?metadata.rawPayload=true`, which publishes the body as is, as the bridge does), BENCH_VERBOSE=1
 * prints every round.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { loadavg, tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildCli } from '../scripts/build-cli.mjs'
import { pubsubYaml } from '../support/component-yaml.js'
import { startMosquitto } from '../support/mosquitto.js'
import { getFreePort } from '../support/ports.js'
import { median, nowMs, percentile, signed } from './stats.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
/** Under node_modules so that the bundle's and the bridge's package imports resolve. */
const CACHE = path.join(ROOT, 'node_modules/.cache/mqtt-fn-bench')
const CLI_MAIN = path.join(CACHE, 'publish-api-cli/main.js')
const BRIDGE = path.join(CACHE, 'publish-api-bridge.mjs')

const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 10)
const ROUNDS = Number(process.env.BENCH_API_ROUNDS ?? 3)
const CONNECTIONS = Number(process.env.BENCH_API_CONNECTIONS ?? 64)
const WARMUP_SECONDS = Number(process.env.BENCH_API_WARMUP_SECONDS ?? 2)
/** Also drive `mqtt-fn serve` with `?metadata.rawPayload=true` (no CloudEvent: the bridge's payload), for information. */
const RAW = process.env.BENCH_API_RAW !== 'false'
const RAW_QUERY = '?metadata.rawPayload=true'
const RAW_LABEL = 'mqtt-fn serve, rawPayload'
const SERVE_NODE_FLAGS = (process.env.BENCH_API_NODE_FLAGS ?? '').split(' ').filter(Boolean)
const BRIDGE_NODE_FLAGS = (process.env.BENCH_API_BRIDGE_NODE_FLAGS ?? '').split(' ').filter(Boolean)
const PUBSUB = 'pubsub'
const TOPIC = 'bench'
const PATH = `/v1.0/publish/${PUBSUB}/${TOPIC}`
const BODY_BYTES = 256
/** Clock ticks per second of /proc/PID/stat's utime and stime (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100

/** A 256-byte JSON object, as a client of the publish API would send. */
const BODY = (() => {
  const head = '{"orderId":42,"status":"created","pad":"'
  const tail = '"}'
  return head + 'x'.repeat(BODY_BYTES - head.length - tail.length) + tail
})()

/**
 * The baseline: what a hand-written HTTP -> MQTT bridge is at its smallest. One MQTT.js client
 * (3.1.1, clean session, keepalive 30: what mqtt-fn's publisher connects with), QoS 1,
 * 204 once the PUBACK is in, 500 when the publish fails.
 */
const BRIDGE_SOURCE = `// Written by bench/publish-api.ts: the minimal node:http -> publishAsync bridge.
import http from 'node:http'
import mqtt from 'mqtt'

const client = await mqtt.connectAsync(process.env.BRIDGE_MQTT_URL, { protocolVersion: 4, clean: true, keepalive: 30 })
const prefix = '/v1.0/publish/'
const qos1 = { qos: 1 }
const server = http.createServer((req, res) => {
  const url = req.url ?? ''
  const slash = url.indexOf('/', prefix.length)
  if (req.method !== 'POST' || !url.startsWith(prefix) || slash < 0) {
    res.statusCode = 404
    res.end()
    return
  }
  const query = url.indexOf('?')
  const topic = decodeURIComponent(url.slice(slash + 1, query < 0 ? undefined : query))
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    client.publishAsync(topic, Buffer.concat(chunks), qos1).then(
      () => {
        res.statusCode = 204
        res.end()
      },
      (error) => {
        res.statusCode = 500
        res.end(String(error))
      },
    )
  })
})
server.keepAliveTimeout = 65_000
server.listen(0, '127.0.0.1', () => console.log('bridge on http://127.0.0.1:' + server.address().port))
process.once('SIGTERM', () => {
  server.close()
  server.closeAllConnections()
  client.endAsync().then(() => process.exit(0))
})
`

// ---------------------------------------------------------------- autocannon (no bundled types)

interface AutocannonOptions {
  url: string
  connections: number
  duration: number
  method: 'POST'
  headers: Record<string, string>
  body: string
}

/** The fields of autocannon's result that this bench reads. */
interface AutocannonResult {
  duration: number
  errors: number
  timeouts: number
  non2xx: number
  resets: number
  mismatches: number
  '2xx': number
  requests: { sent: number }
}

/** autocannon's run: an EventEmitter that is also a promise of the result. */
type AutocannonRun = EventEmitter & PromiseLike<AutocannonResult>
type Autocannon = (options: AutocannonOptions) => AutocannonRun

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon

// ---------------------------------------------------------------- the two servers

/** utime + stime of a process, µs. */
function procCpuUs(pid: number | undefined): number {
  try {
    // The command name (field 2) may hold spaces; the fields after it are space-separated.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1e6
  } catch {
    return NaN
  }
}

/** A server under test in a child process: ready once it printed its URL on stdout. */
class Contender {
  readonly exited: Promise<void>
  #output = ''

  private constructor(
    readonly label: string,
    readonly proc: ChildProcess,
    readonly url: string,
    exited: Promise<void>,
    output: string,
  ) {
    this.exited = exited
    this.#output = output
    proc.stdout?.on('data', (c: string) => (this.#output += c))
    proc.stderr?.on('data', (c: string) => (this.#output += c))
  }

  /** Spawns `node ARGS` and resolves when a stdout line matches `ready` (its first group is the URL). */
  static start(label: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp, timeoutMs = 30_000): Promise<Contender> {
    const proc = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    proc.stdout?.setEncoding('utf8')
    proc.stderr?.setEncoding('utf8')
    return new Promise<Contender>((resolve, reject) => {
      let output = ''
      const done = (error?: Error, url?: string) => {
        clearTimeout(timer)
        proc.stdout?.off('data', onData)
        proc.stderr?.off('data', onData)
        proc.off('exit', onExit)
        if (error || url === undefined) {
          proc.kill('SIGKILL')
          reject(error ?? new Error(`${label}: no URL`))
        } else {
          resolve(new Contender(label, proc, url, exited, output))
        }
      }
      const onData = (chunk: string) => {
        output += chunk
        const match = ready.exec(output)
        if (match) done(undefined, match[1])
      }
      const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
        done(new Error(`${label} exited at start (${signal ?? code}):\n${output.slice(-4000)}`))
      // A guard against a child that hangs at start, not a wait for something that has an event.
      const timer = setTimeout(() => done(new Error(`${label} not ready within ${timeoutMs} ms:\n${output.slice(-4000)}`)), timeoutMs)
      proc.stdout?.on('data', onData)
      proc.stderr?.on('data', onData)
      proc.once('exit', onExit)
    })
  }

  cpuUs(): number {
    return procCpuUs(this.proc.pid)
  }

  alive(): void {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
      throw new Error(`${this.label} exited (${this.proc.signalCode ?? this.proc.exitCode}):\n${this.#output.slice(-4000)}`)
    }
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return
    this.proc.kill('SIGTERM')
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000)
    await this.exited
    clearTimeout(timer)
  }
}

// ---------------------------------------------------------------- one run

interface Run {
  label: string
  /** 2xx answers per second over the run. */
  perSecond: number
  ok: number
  p50Ms: number
  p99Ms: number
  /** autocannon's errors + timeouts + resets + mismatches, and its non-2xx answers. */
  errors: number
  non2xx: number
  /** The server process's CPU per 2xx answer, µs. */
  cpuUsPerRequest: number
  /** This process's (autocannon's) CPU per 2xx answer, µs. */
  loadCpuUsPerRequest: number
}

/** `query`: appended to the path (`?metadata.rawPayload=true`); `label`: the run's name when not the contender's. */
async function drive(c: Contender, seconds: number, query = '', label = c.label): Promise<Run> {
  c.alive()
  const latencies: number[] = []
  const run = autocannon({
    url: c.url + PATH + query,
    connections: CONNECTIONS,
    duration: seconds,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY,
  })
  run.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTimeMs)
  })
  const cpu0 = c.cpuUs()
  const own0 = process.cpuUsage()
  const t0 = nowMs()
  const result = await run
  const wallSeconds = (nowMs() - t0) / 1000
  const own = process.cpuUsage(own0)
  const cpu = c.cpuUs() - cpu0
  c.alive()
  const ok = result['2xx']
  latencies.sort((a, b) => a - b)
  return {
    label,
    perSecond: ok / wallSeconds,
    ok,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors: result.errors + result.timeouts + result.resets + result.mismatches,
    non2xx: result.non2xx,
    cpuUsPerRequest: cpu / Math.max(1, ok),
    loadCpuUsPerRequest: (own.user + own.system) / Math.max(1, ok),
  }
}

function row(r: Run): string {
  return (
    `${r.label.padEnd(30)} ${r.perSecond.toFixed(0).padStart(7)} req/s   p50 ${r.p50Ms.toFixed(2)} ms   p99 ${r.p99Ms.toFixed(2)} ms   ` +
    `errors ${r.errors}, non-2xx ${r.non2xx}   server CPU ${r.cpuUsPerRequest.toFixed(1)} µs/req (autocannon ${r.loadCpuUsPerRequest.toFixed(1)})`
  )
}

/** The median of each figure over the rounds (errors: the sum). */
function medianOf(runs: readonly Run[]): Run {
  const m = (f: (r: Run) => number) => median(runs.map(f))
  const sum = (f: (r: Run) => number) => runs.reduce((s, r) => s + f(r), 0)
  return {
    label: `${runs[0]?.label ?? '?'}`,
    perSecond: m((r) => r.perSecond),
    ok: sum((r) => r.ok),
    p50Ms: m((r) => r.p50Ms),
    p99Ms: m((r) => r.p99Ms),
    errors: sum((r) => r.errors),
    non2xx: sum((r) => r.non2xx),
    cpuUsPerRequest: m((r) => r.cpuUsPerRequest),
    loadCpuUsPerRequest: m((r) => r.loadCpuUsPerRequest),
  }
}

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ')

// ---------------------------------------------------------------- the suite

export async function benchPublishApi(): Promise<string[]> {
  const lines: string[] = []
  await mkdir(CACHE, { recursive: true })
  await buildCli({ outfile: CLI_MAIN })
  await writeFile(BRIDGE, BRIDGE_SOURCE)
  const broker = await startMosquitto()
  const resources = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-bench-api-'))
  const contenders: Contender[] = []
  try {
    await writeFile(path.join(resources, 'pubsub.yaml'), pubsubYaml({ name: PUBSUB, url: broker.url, metadata: { qos: '1' } }))
    const port = await getFreePort('127.0.0.1')
    const serveArgs = [...SERVE_NODE_FLAGS, CLI_MAIN, 'serve', '--resources-path', resources, '--port', String(port)]
    const serve = await Contender.start('mqtt-fn serve', serveArgs, process.env, /Dapr publish API on (http:\/\/\S+)/)
    contenders.push(serve)
    const bridge = await Contender.start('node:http -> publishAsync', [...BRIDGE_NODE_FLAGS, BRIDGE], { ...process.env, BRIDGE_MQTT_URL: broker.url }, /bridge on (http:\/\/\S+)/)
    contenders.push(bridge)

    const loadBefore = load()
    // Warm-up: connections, the JIT, mqtt-fn's lazily connected publisher.
    await drive(bridge, WARMUP_SECONDS)
    await drive(serve, WARMUP_SECONDS)
    const serveRuns: Run[] = []
    const bridgeRuns: Run[] = []
    const rawRuns: Run[] = []
    for (let r = 0; r < ROUNDS; r++) {
      // Alternate who goes first so drift in the machine's load hits both sides alike.
      if (r % 2 === 0) {
        bridgeRuns.push(await drive(bridge, SECONDS))
        serveRuns.push(await drive(serve, SECONDS))
      } else {
        serveRuns.push(await drive(serve, SECONDS))
        bridgeRuns.push(await drive(bridge, SECONDS))
      }
      // After the pair, so the goal's pairs stay next to each other.
      if (RAW) rawRuns.push(await drive(serve, SECONDS, RAW_QUERY, RAW_LABEL))
      if (process.env.BENCH_VERBOSE) {
        lines.push(`  round ${r}: ${row(bridgeRuns[r]!)}`, `  round ${r}: ${row(serveRuns[r]!)}`)
        if (RAW) lines.push(`  round ${r}: ${row(rawRuns[r]!)}`)
      }
    }
    const loadAfter = load()

    const s = medianOf(serveRuns)
    const b = medianOf(bridgeRuns)
    const paired = median(serveRuns.map((run, i) => run.perSecond / bridgeRuns[i]!.perSecond))
    const raw = RAW ? medianOf(rawRuns) : undefined
    const clean = [s, b, ...(raw ? [raw] : [])].every((x) => x.errors + x.non2xx === 0)
    lines.push(
      `POST ${PATH}, ${BODY_BYTES} B JSON, ${CONNECTIONS} connections, ${ROUNDS} rounds x ${SECONDS} s each side (alternating), ` +
        `Mosquitto set_tcp_nodelay true, QoS 1; both as child processes under plain node ${process.version}; medians of rounds:`,
      row(b),
      row(s),
      `  ratio mqtt-fn/bridge (median of ${ROUNDS} paired rounds): ${paired.toFixed(3)}x req/s (medians ${(s.perSecond / b.perSecond).toFixed(3)}x), ` +
        `p50 ${signed(s.p50Ms - b.p50Ms, 2)} ms, p99 ${signed(s.p99Ms - b.p99Ms, 2)} ms, CPU/req ${(s.cpuUsPerRequest / b.cpuUsPerRequest).toFixed(2)}x ` +
        `(goal >= 0.9x req/s: ${paired >= 0.9 ? 'met' : 'MISSED'}; errors and non-2xx: ${clean ? 'none' : 'SOME, see above'})`,
      `  load average (1/5/15 min) before ${loadBefore}, after ${loadAfter}`,
    )
    if (raw) {
      lines.push(
        `for information (not the goal), the same body published as is (${RAW_QUERY}; each round after the pair):`,
        row(raw),
        `  ratio rawPayload/bridge (medians): ${(raw.perSecond / b.perSecond).toFixed(3)}x req/s, p99 ${signed(raw.p99Ms - b.p99Ms, 2)} ms, CPU/req ${(raw.cpuUsPerRequest / b.cpuUsPerRequest).toFixed(2)}x`,
      )
    }
  } finally {
    for (const c of contenders) await c.stop()
    await broker.stop()
    await rm(resources, { recursive: true, force: true })
  }
  return lines
}
