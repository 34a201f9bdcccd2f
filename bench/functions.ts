/**
 * The AWS functions (issue 3) against plain MQTT.js, same Mosquitto (set_tcp_nodelay true),
 * same run:
 * - warm HTTP publish handler (functions/aws/http-publish.ts, in this process) vs
 *   `publishAsync` of the same CloudEvent bytes, QoS 1, sequential, alternating rounds.
 *   Goal: p50 at most +0.15 ms, p99 at most +0.5 ms.
 * - bundle size (dist/functions/sizes.json) vs MQTT.js alone bundled by esbuild. Goal (#14
 *   goal 5): at most 0.8x.
 * - cold start: a fresh `node` that loads the http-publish bundle and runs one invocation
 *   (connect + first QoS 1 publish) vs one that loads an esbuild bundle of MQTT.js alone,
 *   connects and publishes once; spawn to exit. The bundle is built for the run by
 *   scripts/build.mjs with the bench's resources compiled in, as one is deployed. Goal (#14
 *   goal 5): at most 1.0x. For reference, the same bundle given the resources through
 *   MQTTFN_RESOURCES_PATH (YAML read at cold start, the parser loaded from its chunk).
 * - SQS relay: a batch of 10 records through functions/aws/sqs-relay.ts (concurrent publishes)
 *   vs the same 10 payloads published one by one, awaited, with MQTT.js.
 */
import { spawn } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { APIGatewayProxyStructuredResultV2, SQSBatchResponse } from 'aws-lambda'
import * as esbuild from 'esbuild'
import mqtt from 'mqtt'
import { closeAllPubsubClients } from '../src/core/pubsub/index.js'
import { parseMqttMetadata } from '../src/core/resources/index.js'
import { httpEventV2, lambdaContext, sqsEvent, type RecordInit } from '../support/aws-events.js'
import { pubsubYaml } from '../support/component-yaml.js'
import { startMosquitto } from '../support/mosquitto.js'
import { median, nowMs, percentile, signed } from './stats.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Sequential publishes per side, split over ROUNDS alternating rounds (after a warm-up). */
const MESSAGES = Number(process.env.BENCH_FN_MESSAGES ?? 5_000)
const ROUNDS = Number(process.env.BENCH_FN_ROUNDS ?? 10)
const COLD_RUNS = Number(process.env.BENCH_FN_COLD_RUNS ?? 15)
const SQS_BATCHES = Number(process.env.BENCH_FN_SQS_BATCHES ?? 300)
const SQS_BATCH_SIZE = 10

const TOPIC = 'bench/t'
const RELAY_TOPIC = 'bench/relay'
const PUBLISH_PATH = `/v1.0/publish/pubsub/${TOPIC}`
/** A JSON body of ~160 bytes; the handler wraps it into a Dapr CloudEvent (~450 bytes). */
const BODY = JSON.stringify({ orderId: 'ord-000123', customer: 'c-42', items: [{ sku: 'widget-7', qty: 3, price: 9.99 }], note: 'x'.repeat(60) })

const ENV_KEYS = ['MQTTFN_RESOURCES_PATH', 'APP_ID', 'MQTTFN_TOPIC', 'MQTTFN_PUBSUB'] as const

interface Sides {
  plain: number[]
  fn: number[]
  /** Per round: [plain, fn] latencies, for paired deltas. */
  rounds: [number[], number[]][]
}

export async function benchFunctions(): Promise<string[]> {
  const lines: string[] = []
  const broker = await startMosquitto()
  const dir = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-bench-fn-'))
  const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]))
  try {
    const resources = path.join(dir, 'resources')
    await mkdir(resources)
    await writeFile(path.join(resources, 'pubsub.yaml'), pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }))
    // The function modules read their settings from the environment when they are imported,
    // and keep their resources for the life of the process (as a warm instance does): call
    // benchFunctions once per process.
    process.env.MQTTFN_RESOURCES_PATH = resources
    process.env.APP_ID = 'bench'
    process.env.MQTTFN_TOPIC = RELAY_TOPIC
    delete process.env.MQTTFN_PUBSUB

    lines.push(...(await warmHttp(broker.url)))
    lines.push(...(await sqsRelay(broker.url)))
    await closeAllPubsubClients()
    lines.push(...(await bundleSizes()))
    lines.push(...(await coldStart(broker.url, resources, dir)))
  } finally {
    for (const k of ENV_KEYS) {
      if (savedEnv[k] === undefined) delete process.env[k]
      else process.env[k] = savedEnv[k]
    }
    await closeAllPubsubClients()
    await broker.stop()
    await rm(dir, { recursive: true, force: true })
  }
  return lines
}

// ---------------------------------------------------------------- warm HTTP publish

type HttpHandler = (event: ReturnType<typeof httpEventV2>, context: ReturnType<typeof lambdaContext>) => Promise<unknown>

function httpEvent(): ReturnType<typeof httpEventV2> {
  return httpEventV2({ url: PUBLISH_PATH, headers: { 'content-type': 'application/json' }, body: BODY })
}

/** The plain client speaks what the function's client speaks (protocol, session, keepalive). */
export async function plainClient(url: string): Promise<mqtt.MqttClient> {
  const { metadata } = parseMqttMetadata({ url, qos: '1' })
  return mqtt.connectAsync(url, { protocolVersion: metadata.protocolVersion, clean: true, keepalive: metadata.keepAlive })
}

/** The payloads the functions publish, as a subscriber on the wire sees them. */
export async function capture(url: string, topic: string, count: number, trigger: () => Promise<unknown>): Promise<Buffer[]> {
  const sub = await mqtt.connectAsync(url)
  const got: Buffer[] = []
  const done = new Promise<void>((resolve) =>
    sub.on('message', (_t, payload) => {
      got.push(payload)
      if (got.length === count) resolve()
    }),
  )
  await sub.subscribeAsync(topic, { qos: 1 })
  await trigger()
  await Promise.race([done, new Promise((r) => setTimeout(r, 5000))])
  await sub.endAsync()
  if (got.length < count) throw new Error(`bench: captured ${got.length}/${count} messages on ${topic}`)
  return got
}

async function warmHttp(url: string): Promise<string[]> {
  const { handler } = (await import('../functions/aws/http-publish.js')) as { handler: HttpHandler }
  let failures = 0
  const invoke = async (): Promise<number> => {
    const event = httpEvent()
    const context = lambdaContext()
    const t0 = nowMs()
    const res = (await handler(event, context)) as APIGatewayProxyStructuredResultV2
    const ms = nowMs() - t0
    if (res.statusCode !== 204) failures++
    return ms
  }
  // First invocation: loads the resources and connects (the warm path starts after it).
  const [cloudEvent] = await capture(url, TOPIC, 1, invoke)
  if (!cloudEvent) throw new Error('bench: no CloudEvent captured')
  const plain = await plainClient(url)
  const options = { qos: 1 } as const
  const publish = async (): Promise<number> => {
    const t0 = nowMs()
    await plain.publishAsync(TOPIC, cloudEvent, options)
    return nowMs() - t0
  }

  const perRound = Math.max(1, Math.round(MESSAGES / ROUNDS))
  const run = async (f: () => Promise<number>, n: number): Promise<number[]> => {
    const out: number[] = []
    for (let i = 0; i < n; i++) out.push(await f())
    return out
  }
  await run(publish, 1000)
  await run(invoke, 1000)
  failures = 0
  const sides: Sides = { plain: [], fn: [], rounds: [] }
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate who goes first so drift in the machine's load hits both sides alike.
    let p: number[]
    let f: number[]
    if (r % 2 === 0) {
      p = await run(publish, perRound)
      f = await run(invoke, perRound)
    } else {
      f = await run(invoke, perRound)
      p = await run(publish, perRound)
    }
    sides.plain.push(...p)
    sides.fn.push(...f)
    sides.rounds.push([p, f])
  }
  await plain.endAsync()

  const sp = [...sides.plain].sort((a, b) => a - b)
  const sf = [...sides.fn].sort((a, b) => a - b)
  const p50 = (s: number[]) => percentile(s, 50)
  const p99 = (s: number[]) => percentile(s, 99)
  const sortedRound = (xs: number[]) => [...xs].sort((a, b) => a - b)
  const pairedP50 = median(sides.rounds.map(([p, f]) => p50(sortedRound(f)) - p50(sortedRound(p))))
  const pairedP99 = median(sides.rounds.map(([p, f]) => p99(sortedRound(f)) - p99(sortedRound(p))))
  const d50 = p50(sf) - p50(sp)
  const d99 = p99(sf) - p99(sp)
  const row = (label: string, s: number[]) =>
    `${label.padEnd(44)} p50 ${p50(s).toFixed(3)} ms   p99 ${p99(s).toFixed(3)} ms   mean ${(s.reduce((a, b) => a + b, 0) / s.length).toFixed(3)} ms   (n ${s.length})`
  return [
    `warm HTTP publish, QoS 1, sequential, ${ROUNDS} alternating rounds, CloudEvent ${cloudEvent.length} B:`,
    row('  MQTT.js publishAsync (same CloudEvent bytes)', sp),
    row('  AWS http-publish handler (Function URL event)', sf),
    `  delta handler - MQTT.js: p50 ${signed(d50)} ms (goal <= +0.15: ${d50 <= 0.15 ? 'met' : 'MISSED'}), ` +
      `p99 ${signed(d99)} ms (goal <= +0.5: ${d99 <= 0.5 ? 'met' : 'MISSED'}); ` +
      `median of per-round deltas p50 ${signed(pairedP50)} ms, p99 ${signed(pairedP99)} ms` +
      (failures > 0 ? `; ${failures} invocations did not answer 204` : ''),
  ]
}

// ---------------------------------------------------------------- SQS relay

async function sqsRelay(url: string): Promise<string[]> {
  const { handler } = (await import('../functions/aws/sqs-relay.js')) as {
    handler: (event: ReturnType<typeof sqsEvent>, context: ReturnType<typeof lambdaContext>) => Promise<SQSBatchResponse>
  }
  const records: RecordInit[] = Array.from({ length: SQS_BATCH_SIZE }, (_, i) => ({
    body: JSON.stringify({ orderId: `ord-${i}`, qty: i + 1, note: 'y'.repeat(100) }),
  }))
  let failed = 0
  const relay = async (): Promise<number> => {
    const event = sqsEvent(records)
    const context = lambdaContext()
    const t0 = nowMs()
    const res = await handler(event, context)
    const ms = nowMs() - t0
    failed += res.batchItemFailures.length
    return ms
  }
  const payloads = await capture(url, RELAY_TOPIC, SQS_BATCH_SIZE, relay)
  const plain = await plainClient(url)
  const options = { qos: 1 } as const
  const sequential = async (): Promise<number> => {
    const t0 = nowMs()
    for (const p of payloads) await plain.publishAsync(RELAY_TOPIC, p, options)
    return nowMs() - t0
  }
  const concurrent = async (): Promise<number> => {
    const t0 = nowMs()
    await Promise.all(payloads.map((p) => plain.publishAsync(RELAY_TOPIC, p, options)))
    return nowMs() - t0
  }
  const runs = { relay: [] as number[], sequential: [] as number[], concurrent: [] as number[] }
  for (let i = 0; i < 50; i++) {
    await relay()
    await sequential()
    await concurrent()
  }
  failed = 0
  const order = [
    ['relay', relay],
    ['sequential', sequential],
    ['concurrent', concurrent],
  ] as const
  for (let i = 0; i < SQS_BATCHES; i++) {
    // Rotate the order so no side always follows the same one.
    for (let k = 0; k < order.length; k++) {
      const [name, f] = order[(i + k) % order.length]!
      runs[name].push(await f())
    }
  }
  await plain.endAsync()
  const m = (xs: number[]) => median(xs)
  const p99 = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 99)
  const ratio = m(runs.relay) / m(runs.sequential)
  return [
    `SQS relay, batch of ${SQS_BATCH_SIZE} records (standard queue), QoS 1, ${SQS_BATCHES} batches each, per-batch time:`,
    `  MQTT.js, 10 publishes one by one (awaited)     median ${m(runs.sequential).toFixed(3)} ms   p99 ${p99(runs.sequential).toFixed(3)} ms`,
    `  MQTT.js, 10 publishes at once (Promise.all)    median ${m(runs.concurrent).toFixed(3)} ms   p99 ${p99(runs.concurrent).toFixed(3)} ms`,
    `  AWS sqs-relay handler                          median ${m(runs.relay).toFixed(3)} ms   p99 ${p99(runs.relay).toFixed(3)} ms`,
    `  ratio relay / one-by-one ${ratio.toFixed(3)}x (${ratio < 1 ? 'faster: records publish concurrently' : 'NOT faster'}); ` +
      `relay / MQTT.js at once ${(m(runs.relay) / m(runs.concurrent)).toFixed(3)}x` +
      (failed > 0 ? `; ${failed} records failed` : ''),
  ]
}

// ---------------------------------------------------------------- bundle size

const BANNER = "import { createRequire as __mqttfnCreateRequire } from 'node:module'; const require = __mqttfnCreateRequire(import.meta.url);"

/** Runs the project build when a function bundle is missing or older than the sources. */
export async function ensureBuild(): Promise<void> {
  const bundle = path.join(ROOT, 'dist/functions/aws/http-publish/index.mjs')
  const sizes = path.join(ROOT, 'dist/functions/sizes.json')
  const builtAt = existsSync(bundle) && existsSync(sizes) ? Math.min(statSync(bundle).mtimeMs, statSync(sizes).mtimeMs) : 0
  const newest = Math.max(
    await newestMtime(path.join(ROOT, 'src')),
    await newestMtime(path.join(ROOT, 'functions')),
    await newestMtime(path.join(ROOT, 'examples')),
    statSync(path.join(ROOT, 'scripts/build.mjs')).mtimeMs,
    statSync(path.join(ROOT, 'package-lock.json')).mtimeMs,
  )
  if (builtAt > newest) return
  await new Promise<void>((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--quiet'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
    p.once('error', reject)
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`scripts/build.mjs exited with ${code}`))))
  })
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    newest = Math.max(newest, (await stat(path.join(entry.parentPath, entry.name))).mtimeMs)
  }
  return newest
}

interface Sizes {
  mqttAlone: number
  aws: Record<string, { bundle: number; zip: number }>
  azure: { bundle: number }
}

async function bundleSizes(): Promise<string[]> {
  await ensureBuild()
  const sizes = JSON.parse(await readFile(path.join(ROOT, 'dist/functions/sizes.json'), 'utf8')) as Sizes
  const kb = (b: number) => `${(b / 1000).toFixed(1)} kB`
  const lines = [`bundle size (esbuild, node20, ESM, minified; scripts/build.mjs):`, `  ${"MQTT.js alone (`export * from 'mqtt'`, no trims)".padEnd(46)} ${kb(sizes.mqttAlone)}`]
  for (const [name, s] of Object.entries(sizes.aws)) {
    const r = s.bundle / sizes.mqttAlone
    lines.push(`  ${`aws/${name}/index.mjs`.padEnd(46)} ${kb(s.bundle)}  ${r.toFixed(3)}x (goal <= 0.8x: ${r <= 0.8 ? 'met' : 'MISSED'}), zip ${kb(s.zip)}`)
  }
  const az = sizes.azure.bundle / sizes.mqttAlone
  lines.push(`  ${'azure/index.mjs (for reference)'.padEnd(46)} ${kb(sizes.azure.bundle)}  ${az.toFixed(3)}x`)
  return lines
}

// ---------------------------------------------------------------- cold start

/** Spawn to exit of `node FILE`, ms; rejects when it does not print `ok`. */
export async function timeNode(file: string, env: Record<string, string>): Promise<number> {
  return (await runNode(file, env)).wallMs
}

/** The line a driver prints before `ok`: the CPU time of its whole process, which the other jobs on shared cores disturb less than the wall time. */
const CPU_LINE = "{ const u = process.cpuUsage(); console.log('cpu', (u.user + u.system) / 1000) }"

/** Spawn to exit of `node FILE` (wall ms) and the CPU ms the driver printed (CPU_LINE); rejects when it does not print `ok`. */
export function runNode(file: string, env: Record<string, string>): Promise<{ wallMs: number; cpuMs: number | undefined }> {
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }
    const t0 = nowMs()
    const p = spawn(process.execPath, [file], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    p.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
    p.stderr.setEncoding('utf8').on('data', (c: string) => (out += c))
    p.once('error', reject)
    p.once('exit', (code) => {
      const ms = nowMs() - t0
      const cpu = /^cpu ([\d.]+)$/m.exec(out)?.[1]
      if (code === 0 && out.trim().endsWith('ok')) resolve({ wallMs: ms, cpuMs: cpu === undefined ? undefined : Number(cpu) })
      else reject(new Error(`cold start driver ${path.basename(file)} failed (exit ${code}):\n${out}`))
    })
  })
}

/** scripts/build.mjs of the http-publish function alone, `resources` compiled in, into `out`; returns the bundle's path. */
function buildCompiled(resources: string, out: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const args = [path.join(ROOT, 'scripts/build.mjs'), '--quiet', '--strict', '--resources', resources, '--out', out, '--only', 'http-publish']
    const p = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
    p.once('error', reject)
    p.once('exit', (code) => (code === 0 ? resolve(path.join(out, 'aws/http-publish/index.mjs')) : reject(new Error(`scripts/build.mjs exited with ${code}`))))
  })
}

async function coldStart(url: string, resources: string, dir: string): Promise<string[]> {
  const bundle = await buildCompiled(resources, path.join(dir, 'dist'))
  const event = httpEvent()
  // (a) the deployed bundle, invoked once as Lambda's runtime would: import, then handler(event, context).
  const fnDriver = path.join(dir, 'fn-driver.mjs')
  await writeFile(
    fnDriver,
    [
      `const { handler } = await import(${JSON.stringify(pathToFileURL(bundle).href)})`,
      `const event = ${JSON.stringify(event)}`,
      `const deadline = Date.now() + 30000`,
      `const context = { awsRequestId: 'cold', functionName: 'bench', getRemainingTimeInMillis: () => deadline - Date.now() }`,
      `const res = await handler(event, context)`,
      `if (res.statusCode !== 204) { console.log(JSON.stringify(res)); process.exit(1) }`,
      CPU_LINE,
      `console.log('ok')`,
      `process.exit(0)`,
    ].join('\n'),
  )
  // (b) MQTT.js alone: connect, one QoS 1 publish of the same CloudEvent bytes, bundled the way
  // sizes.json measures MQTT.js alone (plain esbuild, no trims), plus the build's require banner.
  const [cloudEvent] = await capture(url, TOPIC, 1, () => timeNode(fnDriver, { APP_ID: 'bench' }))
  if (!cloudEvent) throw new Error('bench: no CloudEvent from the bundle')
  const mqttDriver = await buildMqttDriver(dir, cloudEvent)
  const empty = path.join(dir, 'empty.mjs')
  await writeFile(empty, `console.log('ok')\n`)

  const fnEnv = { APP_ID: 'bench' }
  const yamlEnv = { MQTTFN_RESOURCES_PATH: resources, APP_ID: 'bench' }
  const mqttEnv = { BENCH_URL: url }
  // Warm the page cache once.
  await timeNode(fnDriver, fnEnv)
  await timeNode(fnDriver, yamlEnv)
  await timeNode(mqttDriver, mqttEnv)
  const fn: number[] = []
  const yaml: number[] = []
  const plain: number[] = []
  const base: number[] = []
  const fnCpu: number[] = []
  const plainCpu: number[] = []
  const side = async (file: string, env: Record<string, string>, wall: number[], cpu: number[]) => {
    const r = await runNode(file, env)
    wall.push(r.wallMs)
    if (r.cpuMs !== undefined) cpu.push(r.cpuMs)
  }
  for (let i = 0; i < COLD_RUNS; i++) {
    if (i % 2 === 0) {
      await side(fnDriver, fnEnv, fn, fnCpu)
      await side(mqttDriver, mqttEnv, plain, plainCpu)
    } else {
      await side(mqttDriver, mqttEnv, plain, plainCpu)
      await side(fnDriver, fnEnv, fn, fnCpu)
    }
    yaml.push(await timeNode(fnDriver, yamlEnv))
    base.push(await timeNode(empty, {}))
  }
  const cpuRatio = median(fnCpu) / median(plainCpu)
  const mf = median(fn)
  const my = median(yaml)
  const mp = median(plain)
  const mb = median(base)
  const ratio = mf / mp
  const size = (await stat(mqttDriver)).size
  return [
    `cold start (fresh node: load, connect, first QoS 1 publish; spawn to exit), ${COLD_RUNS} runs each, median:`,
    `  ${'node, empty script'.padEnd(52)} ${mb.toFixed(1)} ms`,
    `  ${`MQTT.js alone bundle (${(size / 1000).toFixed(1)} kB): connect + publish`.padEnd(52)} ${mp.toFixed(1)} ms   (min ${Math.min(...plain).toFixed(1)}, max ${Math.max(...plain).toFixed(1)})`,
    `  ${'aws/http-publish bundle: handler(event) once'.padEnd(52)} ${mf.toFixed(1)} ms   (min ${Math.min(...fn).toFixed(1)}, max ${Math.max(...fn).toFixed(1)})`,
    `  ${'  the same, MQTTFN_RESOURCES_PATH (YAML at cold start)'.padEnd(52)} ${my.toFixed(1)} ms   (${(my / mp).toFixed(3)}x MQTT.js)`,
    `  ratio http-publish / MQTT.js ${ratio.toFixed(3)}x (goal <= 1.0x: ${ratio <= 1.0 ? 'met' : 'MISSED'}); ` +
      `above empty node: ${(mf - mb).toFixed(1)} ms vs ${(mp - mb).toFixed(1)} ms = ${((mf - mb) / (mp - mb)).toFixed(2)}x`,
    `  CPU time of the process (user + system), median: http-publish ${median(fnCpu).toFixed(1)} ms, MQTT.js ${median(plainCpu).toFixed(1)} ms = ${cpuRatio.toFixed(3)}x`,
  ]
}

/**
 * MQTT.js alone: connect, one QoS 1 publish of `cloudEvent`, bundled the way sizes.json measures
 * MQTT.js alone (plain esbuild, no trims), plus the build's require banner. Reads BENCH_URL.
 */
export async function buildMqttDriver(dir: string, cloudEvent: Buffer, topic = TOPIC): Promise<string> {
  const mqttSource = path.join(dir, 'mqtt-driver-src.mjs')
  await writeFile(
    mqttSource,
    [
      `import { connectAsync } from 'mqtt'`,
      `const client = await connectAsync(process.env.BENCH_URL, { reconnectPeriod: 0 })`,
      `await client.publishAsync(${JSON.stringify(topic)}, Buffer.from(${JSON.stringify(cloudEvent.toString('base64'))}, 'base64'), { qos: 1 })`,
      CPU_LINE,
      `console.log('ok')`,
      `process.exit(0)`,
    ].join('\n'),
  )
  const mqttDriver = path.join(dir, 'mqtt-driver.mjs')
  await esbuild.build({
    entryPoints: [mqttSource],
    outfile: mqttDriver,
    nodePaths: [path.join(ROOT, 'node_modules')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    banner: { js: BANNER },
    logLevel: 'silent',
  })
  return mqttDriver
}
