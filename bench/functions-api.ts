/**
 * The functions API (`mqtt-fn/functions`, issue 11) against plain MQTT.js, same Mosquitto, same run:
 * - warm `context.pubsub.publish` through the middy middleware (in this process) vs
 *   `publishAsync` of the same CloudEvent bytes, QoS 1, sequential, alternating rounds.
 *   Goal: p50 at most +0.1 ms.
 * - bundle size of examples/functions/checkout.ts (a user function using the middleware, built
 *   by scripts/build.mjs) vs MQTT.js alone bundled by esbuild. Goal: at most 1.1x.
 * - cold start: a fresh `node` that loads that bundle and runs one invocation (load, connect,
 *   first QoS 1 publish) vs the MQTT.js-alone script doing the same; spawn to exit. Goal: at most 1.2x.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import middy from '@middy/core'
import type { Context } from 'aws-lambda'
import { closeAllPubsubClients } from '../src/core/pubsub/index.js'
import { pubsubMiddleware, type PubsubContext } from '../src/exports/functions.js'
import { httpEventV2, lambdaContext } from '../support/aws-events.js'
import { pubsubYaml } from '../support/component-yaml.js'
import { startMosquitto } from '../support/mosquitto.js'
import { buildMqttDriver, capture, ensureBuild, plainClient, timeNode } from './functions.js'
import { median, nowMs, percentile, signed } from './stats.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const MESSAGES = Number(process.env.BENCH_FN_MESSAGES ?? 5_000)
const ROUNDS = Number(process.env.BENCH_FN_ROUNDS ?? 10)
const COLD_RUNS = Number(process.env.BENCH_FN_COLD_RUNS ?? 15)
const TOPIC = 'orders/new'
const ORDER = { orderId: 'ord-000123', customer: 'c-42', items: [{ sku: 'widget-7', qty: 3, price: 9.99 }], note: 'x'.repeat(60) }

export async function benchFunctionsApi(): Promise<string[]> {
  const broker = await startMosquitto()
  const dir = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-bench-fnapi-'))
  try {
    await writeFile(path.join(dir, 'pubsub.yaml'), pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }))
    const lines = await warmPublish(broker.url, dir)
    await closeAllPubsubClients()
    lines.push(...(await sizeAndColdStart(broker.url, dir)))
    return lines
  } finally {
    await closeAllPubsubClients()
    await broker.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

async function warmPublish(url: string, resources: string): Promise<string[]> {
  let failures = 0
  const handler = middy<unknown, void, Error, Context>()
    .use(pubsubMiddleware({ resourcesPath: resources, appId: 'bench' }))
    .handler(async (_event, context) => {
      const { error } = await context.pubsub.publish('pubsub', TOPIC, ORDER)
      if (error) failures++
    })
  const invoke = async (): Promise<number> => {
    const context = lambdaContext() as PubsubContext
    const t0 = nowMs()
    await handler({}, context)
    return nowMs() - t0
  }
  const [cloudEvent] = await capture(url, TOPIC, 1, invoke)
  if (!cloudEvent) throw new Error('bench: no CloudEvent captured')
  const plain = await plainClient(url)
  const publish = async (): Promise<number> => {
    const t0 = nowMs()
    await plain.publishAsync(TOPIC, cloudEvent, { qos: 1 })
    return nowMs() - t0
  }
  const run = async (f: () => Promise<number>, n: number): Promise<number[]> => {
    const out: number[] = []
    for (let i = 0; i < n; i++) out.push(await f())
    return out
  }
  await run(publish, 1000)
  await run(invoke, 1000)
  failures = 0
  const perRound = Math.max(1, Math.round(MESSAGES / ROUNDS))
  const all = { plain: [] as number[], fn: [] as number[] }
  const deltas: number[] = []
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
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
    all.plain.push(...p)
    all.fn.push(...f)
    deltas.push(percentile(sorted(f), 50) - percentile(sorted(p), 50))
  }
  await plain.endAsync()
  const sp = sorted(all.plain)
  const sf = sorted(all.fn)
  const d50 = percentile(sf, 50) - percentile(sp, 50)
  const row = (label: string, s: number[]) => `${label.padEnd(60)} p50 ${percentile(s, 50).toFixed(3)} ms   p99 ${percentile(s, 99).toFixed(3)} ms   (n ${s.length})`
  return [
    `warm publish, QoS 1, sequential, ${ROUNDS} alternating rounds, CloudEvent ${cloudEvent.length} B:`,
    row('  MQTT.js publishAsync (same CloudEvent bytes)', sp),
    row('  middy handler: context.pubsub.publish(pubsub, topic, obj)', sf),
    `  delta - MQTT.js: p50 ${signed(d50)} ms (goal <= +0.1: ${d50 <= 0.1 ? 'met' : 'MISSED'}), p99 ${signed(percentile(sf, 99) - percentile(sp, 99))} ms; ` +
      `median of per-round p50 deltas ${signed(median(deltas))} ms` +
      (failures > 0 ? `; ${failures} publishes returned an error` : ''),
  ]
}

async function sizeAndColdStart(url: string, resources: string): Promise<string[]> {
  await ensureBuild()
  const sizes = JSON.parse(await readFile(path.join(ROOT, 'dist/functions/sizes.json'), 'utf8')) as {
    mqttAlone: number
    examples: Record<string, { bundle: number }>
  }
  const kb = (b: number) => `${(b / 1000).toFixed(1)} kB`
  const lines = ['bundle size (scripts/build.mjs: esbuild, ESM, minified), user functions of examples/functions/:']
  for (const [name, s] of Object.entries(sizes.examples)) {
    const r = s.bundle / sizes.mqttAlone
    const goal = name === 'checkout' ? ` (goal <= 1.1x: ${r <= 1.1 ? 'met' : 'MISSED'})` : ''
    lines.push(`  ${`examples/${name}/index.mjs`.padEnd(40)} ${kb(s.bundle)}  ${r.toFixed(3)}x MQTT.js alone (${kb(sizes.mqttAlone)})${goal}`)
  }

  const bundle = path.join(ROOT, 'dist/functions/examples/checkout/index.mjs')
  const fnDriver = path.join(resources, 'fn-driver.mjs')
  const event = httpEventV2({ url: '/checkout', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ORDER) })
  await writeFile(
    fnDriver,
    [
      `const { handler } = await import(${JSON.stringify(pathToFileURL(bundle).href)})`,
      `const deadline = Date.now() + 30000`,
      `const res = await handler(${JSON.stringify(event)}, { awsRequestId: 'cold', functionName: 'checkout', getRemainingTimeInMillis: () => deadline - Date.now() })`,
      `if (res.statusCode !== 202) { console.log(JSON.stringify(res)); process.exit(1) }`,
      `console.log('ok')`,
      `process.exit(0)`,
    ].join('\n'),
  )
  const fnEnv = { MQTTFN_RESOURCES_PATH: resources, APP_ID: 'bench' }
  const [cloudEvent] = await capture(url, TOPIC, 1, () => timeNode(fnDriver, fnEnv))
  if (!cloudEvent) throw new Error('bench: no CloudEvent from the bundle')
  const mqttDriver = await buildMqttDriver(resources, cloudEvent, TOPIC)
  const mqttEnv = { BENCH_URL: url }
  await timeNode(fnDriver, fnEnv)
  await timeNode(mqttDriver, mqttEnv)
  const fn: number[] = []
  const plain: number[] = []
  for (let i = 0; i < COLD_RUNS; i++) {
    if (i % 2 === 0) {
      fn.push(await timeNode(fnDriver, fnEnv))
      plain.push(await timeNode(mqttDriver, mqttEnv))
    } else {
      plain.push(await timeNode(mqttDriver, mqttEnv))
      fn.push(await timeNode(fnDriver, fnEnv))
    }
  }
  const ratio = median(fn) / median(plain)
  lines.push(
    `cold start (fresh node: load, connect, first QoS 1 publish; spawn to exit), ${COLD_RUNS} runs each, median:`,
    `  ${'MQTT.js alone bundle: connect + publish'.padEnd(52)} ${median(plain).toFixed(1)} ms`,
    `  ${'examples/checkout bundle: handler(event) once'.padEnd(52)} ${median(fn).toFixed(1)} ms`,
    `  ratio checkout / MQTT.js ${ratio.toFixed(3)}x (goal <= 1.2x: ${ratio <= 1.2 ? 'met' : 'MISSED'})`,
  )
  return lines
}
