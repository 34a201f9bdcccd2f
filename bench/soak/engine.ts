/**
 * The chaos soak (issue #16 §1): a steady QoS 1 stream through the forwarder, run as shipped
 * (the CLI, a persistent session: cleanSession false, a fixed consumerID), while a seeded
 * schedule of faults runs: the app answers RETRY / 500 / slowly / not at all to some
 * attempts; the forwarder is SIGKILLed and restarted; Mosquitto (persistence on) restarts; the
 * connection is black-holed and refused through the proxy; a SIGTERM drain comes last.
 *
 *   publisher --> Mosquitto <-- proxy (faults, MQTT decode) <-- forwarder (child) --> app
 *
 * Faults run one at a time: each starts at its point of the stream and once the previous one
 * has recovered (a marker published when it ended was delivered). Waits are on counters and
 * events; a run in which nothing is delivered for `stallMs` ends early and says so.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { pubsubYaml } from '../../support/component-yaml.js'
import { startMosquitto, type MosquittoBroker } from '../../support/mosquitto.js'
import { startSoakApp, type SoakReply } from './app.js'
import { Books, type Answer, type BooksSummary, type FaultWindow } from './books.js'
import { ForwarderRunner, type ForwarderRun } from './runner.js'
import { startSoakProxy, type SoakProxy } from './proxy.js'
import { startStreamPublisher, type StreamPublisher } from './publisher.js'
import { appPlan, faultSchedule, type FaultCounts, type FaultKind } from './schedule.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const TOPIC = 'soak/orders'
const PAYLOAD_BYTES = 256

export interface SoakOptions extends FaultCounts {
  messages: number
  /** Messages per second. */
  rate: number
  seed: number
  /** How long a black hole or a refusal lasts, ms. Default 5000. */
  cutMs?: number
  /** Share of messages whose first attempts fail, and (independently) whose success is slow. Default 0.02. */
  appFaultRate?: number
  /** The forwarder's --request-timeout: a silent app costs this much per attempt. Default 2500. */
  requestTimeoutMs?: number
  /** No SUCCESS answer for this long (while one is awaited) ends the run as a stall. Default 60000. */
  stallMs?: number
  /** The CLI entry point. Default bin/mqtt-fn.mjs (src/ through tsx in a checkout). */
  cli?: string
  /** NODE_OPTIONS of the forwarder. Default the image's: --max-old-space-size=128. */
  nodeOptions?: string
  /** Progress lines, every few seconds. */
  progress?: (line: string) => void
  /** Keep every message's history and put the first duplicates' in the report (costs memory). */
  trace?: boolean
  /** Write each forwarder's log (forwarder-N.log) and Mosquitto's (mosquitto.log) here. */
  logDir?: string
}

export interface FaultReport {
  kind: FaultKind
  n: number
  /** When it started, seconds into the run. */
  atS: number
  /** From start to removal (process back, broker up, proxy forwarding), ms. */
  downMs: number
  /** From removal until a message published then was delivered, ms. */
  resumedMs?: number
  /** From removal until every stream message published before it was delivered, ms. */
  caughtUpMs?: number
}

export interface SoakReport extends BooksSummary {
  seed: number
  messages: number
  rate: number
  durationS: number
  faults: FaultReport[]
  forwarders: ForwarderRun[]
  /** The highest VmHWM of any forwarder process, MB. */
  peakRssMb: number
  /** The SIGTERM drain mid-stream: exit code and the forwarder's own drain count. */
  drain?: { exit: number | string; finished?: number; abandoned?: number }
  /** The last forwarder, stopped with SIGTERM once everything was delivered. */
  finalExit?: number | string
  /** Forwarder exits nobody asked for (each restarted). */
  unexpectedExits: number
  /** Set when the run ended early because nothing was delivered for `stallMs`. */
  stall?: string
  proxyParseErrors: number
  /** The last forwarder's log tail, when something went wrong. */
  logTail?: string
  /** With `trace`: the history of a few duplicated and early-acked messages. */
  traces?: Record<string, string[]>
  /** With `trace`: Mosquitto's warnings and errors. */
  brokerWarnings?: string[]
}

class Stall extends Error {
  override name = 'Stall'
}

type Reply = SoakReply & { answer?: Answer }

const streamId = (seq: number) => `m-${seq}`
const seqOf = (id: string) => (id.startsWith('m-') ? Number(id.slice(2)) : -1)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A Dapr CloudEvent of PAYLOAD_BYTES carrying its id. */
function payloadOf(id: string, seq: number): Buffer {
  const head = `{"data":{"seq":${seq},"pad":"`
  const tail = `"},"datacontenttype":"application/json","id":"${id}","pubsubname":"soak","source":"soak","specversion":"1.0","topic":"${TOPIC}","type":"com.dapr.event.sent"}`
  return Buffer.from(head + 'x'.repeat(Math.max(0, PAYLOAD_BYTES - head.length - tail.length)) + tail)
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  return new Soak(o).run()
}

class Soak {
  readonly o: Required<Omit<SoakOptions, 'progress'>> & Pick<SoakOptions, 'progress'>
  readonly books: Books
  readonly faults: FaultWindow[] = []
  readonly t0 = performance.now()
  readonly cleanups: (() => Promise<unknown>)[] = []
  broker!: MosquittoBroker
  proxy!: SoakProxy
  publisher!: StreamPublisher
  runner!: ForwarderRunner
  drain: SoakReport['drain']
  finalExit: number | string | undefined
  stall: string | undefined
  /** Progress watch: the SUCCESS count and when it last moved. */
  lastCount = -1
  lastMove = performance.now()

  constructor(o: SoakOptions) {
    this.o = {
      cutMs: 5000,
      appFaultRate: 0.02,
      requestTimeoutMs: 2500,
      stallMs: 60_000,
      cli: path.join(ROOT, 'bin/mqtt-fn.mjs'),
      nodeOptions: '--max-old-space-size=128',
      trace: false,
      logDir: '',
      ...o,
    }
    this.books = new Books(TOPIC, this.o.trace)
  }

  async run(): Promise<SoakReport> {
    const ticker = setInterval(() => this.o.progress?.(this.status()), 5000)
    try {
      await this.setUp()
      await this.stream()
    } catch (error) {
      if (!(error instanceof Stall)) throw error
      this.stall = error.message
    } finally {
      clearInterval(ticker)
      try {
        if (this.runner && this.finalExit === undefined) this.finalExit = await this.runner.term().then((r) => r.exit)
      } finally {
        for (const cleanup of this.cleanups.reverse()) await cleanup().catch(() => {})
      }
    }
    return this.report()
  }

  async setUp(): Promise<void> {
    // Saved once a second, as a broker in production: saving after every change writes the whole
    // database each time, which with a backlog of thousands made the broker itself the
    // bottleneck (the 2026-12-04 run's 307 s catch-up after the drain). Restarts are SIGTERM,
    // which saves first, so nothing the broker acked is lost either way.
    this.broker = await startMosquitto({ persistence: true, autosave: 1, ...(this.o.logDir && this.o.trace ? { extraConfig: ['log_type debug'] } : {}) })
    this.cleanups.push(async () => {
      if (this.o.logDir) await writeFile(path.join(this.o.logDir, 'mosquitto.log'), this.broker.logs())
      await this.broker.stop()
    })
    this.proxy = await startSoakProxy(this.broker.port, this.books)
    this.cleanups.push(() => this.proxy.close())
    const app = await startSoakApp<Reply>(
      (p, event) => this.decide(p, event),
      (event, reply, heard) => {
        if (reply.answer) this.books.answered(idOf(event), reply.answer, heard)
      },
    )
    this.cleanups.push(() => app.close())
    const dir = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-soak-'))
    this.cleanups.push(() => rm(dir, { recursive: true, force: true }))
    await writeFile(
      path.join(dir, 'pubsub.yaml'),
      pubsubYaml({
        name: 'soak',
        url: `mqtt://127.0.0.1:${this.proxy.port}`,
        // keepAlive 5 (as the crash tests): a black-holed connection is noticed within the cut.
        metadata: { consumerID: 'soak-forwarder', qos: '1', cleanSession: 'false', keepAlive: '5', connectTimeout: '3000' },
      }),
    )
    await writeFile(
      path.join(dir, 'subscription.yaml'),
      ['apiVersion: dapr.io/v2alpha1', 'kind: Subscription', 'metadata:', '  name: orders', 'spec:', '  pubsubname: soak', `  topic: ${TOPIC}`, '  routes:', '    default: /orders', ''].join('\n'),
    )
    const args = ['--resources-path', dir, '--app-url', app.url, '--port', '0', '--host', '127.0.0.1']
    // The drain bound outlasts the longest planned retry chain (two silent attempts and their backoff).
    args.push('--request-timeout', String(this.o.requestTimeoutMs), '--drain-timeout', '30000', '--log-level', 'info')
    this.runner = new ForwarderRunner(this.o.cli, args, { ...process.env, NODE_OPTIONS: this.o.nodeOptions }, this.o.logDir || undefined)
    const first = this.runner.start()
    await this.until(() => first.ready, 'the first forwarder ready')
    this.publisher = await startStreamPublisher({
      url: this.broker.url,
      topic: TOPIC,
      count: this.o.messages,
      rate: this.o.rate,
      books: this.books,
      idOf: streamId,
      payloadOf,
    })
    this.cleanups.push(() => this.publisher.close())
  }

  /** The app's answer to one request, from the seeded plan of the message and its attempt number. */
  decide(p: string, event: unknown): Reply {
    if (p !== '/orders') return { status: 404 }
    const id = idOf(event)
    if (id === undefined) return { status: 400, answer: 'http500' }
    const attempt = this.books.attempt(id)
    const seq = seqOf(id)
    // Markers measure recovery: the app never delays them.
    const plan = seq >= 0 ? appPlan(this.o.seed, seq, this.o.appFaultRate) : { failures: [], slowMs: 0 }
    switch (plan.failures[attempt - 1]) {
      case 'retry':
        return { status: 200, body: '{"status":"RETRY"}', answer: 'retry' }
      case 'http500':
        return { status: 500, body: '{"error":"soak"}', answer: 'http500' }
      case 'hangup':
        return { status: 0, hangUp: true, answer: 'hangup' }
      case 'silent':
        // Past the forwarder's request timeout: it gives up first.
        return { status: 0, hangUp: true, delayMs: this.o.requestTimeoutMs + 1000, answer: 'silent' }
      case undefined:
        break
    }
    return plan.slowMs > 0
      ? { status: 200, body: '{"status":"SUCCESS"}', delayMs: plan.slowMs, answer: 'slow-success' }
      : { status: 200, body: '{"status":"SUCCESS"}', answer: 'success' }
  }

  async stream(): Promise<void> {
    const steps = faultSchedule(this.o.seed, this.o)
    const counts = new Map<FaultKind, number>()
    for (const step of steps) {
      await this.until(() => this.publisher.issued() >= Math.floor(step.at * this.o.messages) || this.publisher.issued() >= this.o.messages, `stream at ${Math.round(step.at * 100)}%`)
      const n = (counts.get(step.kind) ?? 0) + 1
      counts.set(step.kind, n)
      const window = await this.fault(step.kind, n)
      await this.until(() => window.resumedAt !== undefined, `recovery after ${step.kind} #${n}`)
    }
    await this.until(() => this.publisher.done, 'the publisher done')
    await this.until(() => this.books.whenStreamDelivered(this.o.messages), 'every stream message delivered')
    await this.until(() => this.books.allConfirmedDelivered(), 'every marker delivered')
    this.finalExit = (await this.runner.term()).exit
  }

  /** Runs one fault; resolves when it has been removed (its recovery is tracked on the window). */
  async fault(kind: FaultKind, n: number): Promise<FaultWindow> {
    const window: FaultWindow = { kind, n, startedAt: performance.now() }
    this.faults.push(window)
    this.o.progress?.(`fault ${kind} #${n} at ${this.seconds(window.startedAt)} s`)
    switch (kind) {
      case 'forwarder-kill':
        await this.runner.kill()
        break
      case 'drain':
        this.drain = await this.runner.term()
        break
      case 'broker-restart':
        await this.broker.restart()
        break
      case 'blackhole':
        this.proxy.blackhole()
        // The schedule's length of the cut, not a wait for something to happen.
        await sleep(this.o.cutMs)
        await this.proxy.restore()
        break
      case 'refuse':
        await this.proxy.refuse()
        await sleep(this.o.cutMs)
        await this.proxy.restore()
        break
    }
    window.endedAt = performance.now()
    const restarted = kind === 'forwarder-kill' || kind === 'drain' ? this.runner.start() : undefined
    const marker = `marker-${kind}-${n}`
    void this.publisher.publishOne(marker, payloadOf(marker, -1))
    void this.books.whenDelivered(marker).then((t) => (window.resumedAt = t))
    void this.books.whenStreamDelivered(this.publisher.issued()).then((t) => (window.caughtUpAt = t))
    if (restarted) await this.until(() => restarted.ready, `forwarder ready after ${kind} #${n}`)
    return window
  }

  /**
   * Waits for `condition` (polled) or a promise it returns; throws a Stall when, meanwhile, no
   * SUCCESS answer came for `stallMs` (the stream position is time-driven and always moves).
   */
  async until(condition: () => boolean | Promise<unknown>, what: string): Promise<void> {
    let settled = false
    let failure: unknown
    const first = condition()
    if (typeof first !== 'boolean') {
      first.then(
        () => (settled = true),
        (error: unknown) => ((failure = error), (settled = true)),
      )
    } else settled = first
    for (;;) {
      if (failure !== undefined) throw failure
      if (settled) return
      const count = this.books.successCount
      if (count !== this.lastCount) {
        this.lastCount = count
        this.lastMove = performance.now()
      } else if (performance.now() - this.lastMove > this.o.stallMs) {
        throw new Stall(`nothing delivered for ${this.o.stallMs} ms while waiting for ${what}`)
      }
      await sleep(25)
      if (typeof first === 'boolean') settled = condition() === true
    }
  }

  seconds(t: number): number {
    return Math.round((t - this.t0) / 100) / 10
  }

  status(): string {
    const b = this.books
    return `t=${this.seconds(performance.now())}s issued=${b.issuedCount} delivered-in-order=${b.deliveredStream} successes=${b.successCount}`
  }

  report(): SoakReport {
    const summary = this.books.summary(this.faults)
    const ms = (from: number | undefined, to: number | undefined) => (from === undefined || to === undefined ? undefined : Math.round(to - from))
    const forwarders = this.runner?.runs() ?? []
    const failed = this.stall !== undefined || summary.lost > 0 || summary.earlyAcks > 0 || this.finalExit !== 0 || (this.runner?.unexpectedExits ?? 0) > 0
    return {
      seed: this.o.seed,
      messages: this.o.messages,
      rate: this.o.rate,
      durationS: this.seconds(performance.now()),
      ...summary,
      faults: this.faults.map((f) => ({
        kind: f.kind,
        n: f.n,
        atS: this.seconds(f.startedAt),
        downMs: ms(f.startedAt, f.endedAt) ?? -1,
        ...(f.resumedAt === undefined ? {} : { resumedMs: ms(f.endedAt, f.resumedAt) }),
        ...(f.caughtUpAt === undefined ? {} : { caughtUpMs: ms(f.endedAt, f.caughtUpAt) }),
      })),
      forwarders,
      peakRssMb: Math.max(0, ...forwarders.map((f) => f.peakRssMb).filter(Number.isFinite)),
      ...(this.drain ? { drain: this.drain } : {}),
      ...(this.finalExit === undefined ? {} : { finalExit: this.finalExit }),
      unexpectedExits: this.runner?.unexpectedExits ?? 0,
      ...(this.stall ? { stall: this.stall } : {}),
      proxyParseErrors: this.proxy?.parseErrors ?? 0,
      ...(failed && this.runner ? { logTail: this.runner.logTail() } : {}),
      ...(this.o.trace
        ? {
            brokerWarnings: (this.broker?.logs() ?? '').split('\n').filter((l) => /warn|error|unknown|protocol/i.test(l)).slice(0, 50),
            traces: Object.fromEntries(
              [...Object.values(summary.duplicateSamples).flat(), ...summary.earlyAckSamples.slice(0, 5).map((e) => e.id)].map((id) => [id, this.books.traceOf(id)]),
            ),
          }
        : {}),
    }
  }
}

function idOf(event: unknown): string | undefined {
  const id = (event as { id?: unknown } | undefined)?.id
  return typeof id === 'string' ? id : undefined
}
