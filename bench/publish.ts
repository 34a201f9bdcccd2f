/**
 * Core publish path vs plain MQTT.js `publishAsync`, QoS 1, same Mosquitto (set_tcp_nodelay
 * true), same run, alternating rounds. Goal (issue 2): the core costs at most 5 % over MQTT.js.
 */
import mqtt from 'mqtt'
import { PubsubClient } from '../src/core/pubsub/index.js'
import { parseMqttMetadata } from '../src/core/resources/index.js'
import { startMosquitto } from '../test/helpers/mosquitto.js'
import { formatRow, medianRun, nowMs, summarize, type RunStats } from './stats.js'

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const WINDOW = 100
const payload = Buffer.alloc(256, 'x')

type Publish = (topic: string, body: Buffer) => Promise<unknown>

async function sequential(label: string, publish: Publish): Promise<RunStats> {
  const latencies: number[] = []
  const start = nowMs()
  for (let i = 0; i < MESSAGES; i++) {
    const t0 = nowMs()
    await publish('bench/seq', payload)
    latencies.push(nowMs() - t0)
  }
  return summarize(label, latencies, (nowMs() - start) / 1000)
}

async function windowed(label: string, publish: Publish): Promise<RunStats> {
  const latencies: number[] = []
  const start = nowMs()
  for (let i = 0; i < MESSAGES; i += WINDOW) {
    const batch: Promise<void>[] = []
    for (let j = 0; j < WINDOW && i + j < MESSAGES; j++) {
      const t0 = nowMs()
      batch.push(publish('bench/win', payload).then(() => void latencies.push(nowMs() - t0)))
    }
    await Promise.all(batch)
  }
  return summarize(label, latencies, (nowMs() - start) / 1000)
}

export async function benchPublish(): Promise<string[]> {
  const broker = await startMosquitto()
  const lines: string[] = []
  try {
    const plain = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clean: true })
    const { metadata } = parseMqttMetadata({ url: broker.url, qos: '1', maxInflight: String(WINDOW) })
    const core = new PubsubClient({ name: 'bench', metadata })
    await core.connect()
    const plainPublish: Publish = (t, b) => plain.publishAsync(t, b, { qos: 1 })
    const corePublish: Publish = (t, b) => core.publish(t, b)

    for (const [mode, run] of [['sequential', sequential], [`window ${WINDOW}`, windowed]] as const) {
      await run('warm-up', plainPublish)
      await run('warm-up', corePublish)
      const plainRuns: RunStats[] = []
      const coreRuns: RunStats[] = []
      for (let r = 0; r < ROUNDS; r++) {
        // Alternate who goes first so drift in the machine's load hits both sides alike.
        if (r % 2 === 0) {
          plainRuns.push(await run(`MQTT.js publishAsync, ${mode}`, plainPublish))
          coreRuns.push(await run(`mqtt-fn core publish, ${mode}`, corePublish))
        } else {
          coreRuns.push(await run(`mqtt-fn core publish, ${mode}`, corePublish))
          plainRuns.push(await run(`MQTT.js publishAsync, ${mode}`, plainPublish))
        }
      }
      const p = medianRun(plainRuns)
      const c = medianRun(coreRuns)
      lines.push(formatRow(p), formatRow(c))
      lines.push(
        `  ratio core/plain ${mode}: throughput ${(c.perSecond / p.perSecond).toFixed(3)}x, p50 +${(c.p50Ms - p.p50Ms).toFixed(3)} ms, p99 +${(c.p99Ms - p.p99Ms).toFixed(3)} ms`,
      )
    }
    await plain.endAsync()
    await core.close()
  } finally {
    await broker.stop()
  }
  return lines
}
