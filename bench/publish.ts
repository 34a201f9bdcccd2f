/**
 * Core publish path vs plain MQTT.js `publishAsync`, QoS 1, same Mosquitto (set_tcp_nodelay
 * true), same run, alternating rounds. Goal (issue 2): the core costs at most 5 % over MQTT.js.
 * Both sides: same topic, same payload Buffer, same protocol version / session / keepalive.
 * The ratio line is the median over rounds of each core run against its neighbouring plain
 * run; CPU/msg is process CPU time per message. BENCH_ROUNDS, BENCH_MESSAGES (per round and
 * side), BENCH_VERBOSE=1 prints every round.
 */
import mqtt from 'mqtt'
import { PubsubClient } from '../src/core/pubsub/index.js'
import { parseMqttMetadata } from '../src/core/resources/index.js'
import { startMosquitto } from '../support/mosquitto.js'
import { formatRow, median, medianRun, nowMs, signed, summarize, type RunStats } from './stats.js'

// Many short rounds rather than a few long ones: see the pairing below.
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 5_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10)
const WINDOW = 100
const payload = Buffer.alloc(256, 'x')

type Publish = (topic: string, body: Buffer) => Promise<unknown>

async function sequential(label: string, publish: Publish): Promise<RunStats> {
  const latencies: number[] = []
  const cpu = process.cpuUsage()
  const start = nowMs()
  for (let i = 0; i < MESSAGES; i++) {
    const t0 = nowMs()
    await publish('bench/seq', payload)
    latencies.push(nowMs() - t0)
  }
  return summarize(label, latencies, (nowMs() - start) / 1000, process.cpuUsage(cpu))
}

async function windowed(label: string, publish: Publish): Promise<RunStats> {
  const latencies: number[] = []
  const cpu = process.cpuUsage()
  const start = nowMs()
  for (let i = 0; i < MESSAGES; i += WINDOW) {
    const batch: Promise<void>[] = []
    for (let j = 0; j < WINDOW && i + j < MESSAGES; j++) {
      const t0 = nowMs()
      batch.push(publish('bench/win', payload).then(() => void latencies.push(nowMs() - t0)))
    }
    await Promise.all(batch)
  }
  return summarize(label, latencies, (nowMs() - start) / 1000, process.cpuUsage(cpu))
}

export async function benchPublish(): Promise<string[]> {
  const broker = await startMosquitto()
  const lines: string[] = []
  try {
    // maxInflight = WINDOW: each windowed batch is awaited as a whole, so the core never
    // waits for a slot; the cap costs a counter here, as it does in production.
    const { metadata } = parseMqttMetadata({ url: broker.url, qos: '1', maxInflight: String(WINDOW) })
    // The plain client speaks the same protocol version, session and keepalive as the core's.
    const plain = await mqtt.connectAsync(broker.url, {
      protocolVersion: metadata.protocolVersion,
      clean: metadata.cleanSession,
      keepalive: metadata.keepAlive,
    })
    const core = new PubsubClient({ name: 'bench', metadata })
    await core.connect()
    const plainOptions = { qos: 1 } as const
    const plainPublish: Publish = (t, b) => plain.publishAsync(t, b, plainOptions)
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
      if (process.env.BENCH_VERBOSE) {
        for (let i = 0; i < ROUNDS; i++) lines.push(`  round ${i}: ${formatRow(plainRuns[i]!)} | ${formatRow(coreRuns[i]!).slice(34)}`)
      }
      lines.push(formatRow(medianRun(plainRuns)), formatRow(medianRun(coreRuns)))
      // Paired: each round's core run against the plain run right next to it, then the median
      // over rounds. The box drifts between fast and slow phases (other load, CPU placement)
      // over seconds; comparing neighbours keeps a phase change from landing on one side only.
      const paired = (f: (c: RunStats, p: RunStats) => number): number =>
        median(coreRuns.map((c, i) => f(c, plainRuns[i]!)))
      lines.push(
        `  ratio core/plain ${mode} (median of ${ROUNDS} paired rounds): throughput ${paired((c, p) => c.perSecond / p.perSecond).toFixed(3)}x, ` +
          `p50 ${signed(paired((c, p) => c.p50Ms - p.p50Ms))} ms, p99 ${signed(paired((c, p) => c.p99Ms - p.p99Ms))} ms, ` +
          `CPU/msg ${paired((c, p) => c.cpuUsPerMessage / p.cpuUsPerMessage).toFixed(3)}x`,
      )
    }
    await plain.endAsync()
    await core.close()
  } finally {
    await broker.stop()
  }
  return lines
}
