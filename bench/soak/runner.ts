/**
 * The soak's succession of forwarder processes, one at a time on the same persistent session:
 * start, SIGKILL, SIGTERM drain. An exit nobody asked for is counted and the forwarder
 * restarted, so the run goes on and the report shows it.
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { spawnForwarderProcess, type ForwarderProcess } from './forwarder-process.js'

export interface ForwarderRun {
  instance: number
  /** How it ended: 'SIGKILL', 'SIGTERM', 'unexpected', or 'running'. */
  ended: string
  exit?: number | string
  peakRssMb: number
}

interface Instance {
  process: ForwarderProcess
  ended: string
  exit?: number | string
}

export interface DrainResult {
  exit: number | string
  /** The forwarder's own count of deliveries that were running at the signal and finished. */
  finished?: number
  abandoned?: number
}

export class ForwarderRunner {
  readonly #cli: string
  readonly #args: string[]
  readonly #env: NodeJS.ProcessEnv
  readonly #instances: Instance[] = []
  #unexpected = 0

  readonly #logDir: string | undefined

  /** `logDir`: each forwarder's log (its tail) is written there as forwarder-N.log when it exits. */
  constructor(cli: string, args: string[], env: NodeJS.ProcessEnv, logDir?: string) {
    this.#cli = cli
    this.#args = args
    this.#env = env
    this.#logDir = logDir
  }

  get unexpectedExits(): number {
    return this.#unexpected
  }

  get #current(): Instance | undefined {
    const last = this.#instances.at(-1)
    return last?.ended === 'running' ? last : undefined
  }

  /** Starts the next forwarder; the previous one must have exited (the broker would take the session over). */
  start(): ForwarderProcess {
    if (this.#current) throw new Error('ForwarderRunner: a forwarder is still running')
    const instance: Instance = { process: spawnForwarderProcess(this.#cli, this.#args, this.#env), ended: 'running' }
    this.#instances.push(instance)
    const number = this.#instances.length
    void instance.process.exited.then((exit) => {
      instance.exit = exit
      if (this.#logDir) writeFileSync(path.join(this.#logDir, `forwarder-${number}.log`), instance.process.output())
      if (instance.ended !== 'running') return
      instance.ended = 'unexpected'
      this.#unexpected++
      console.error(`soak: forwarder #${number} exited (${exit}) unasked:\n${instance.process.output().slice(-4000)}`)
      this.start()
    })
    return instance.process
  }

  async kill(): Promise<void> {
    const instance = this.#current
    if (!instance) return
    instance.ended = 'SIGKILL'
    instance.process.signal('SIGKILL')
    await instance.process.exited
  }

  /** SIGTERM and wait: the forwarder drains what it is delivering and exits (0 when nothing was abandoned). */
  async term(): Promise<DrainResult> {
    const instance = this.#current
    if (!instance) return { exit: this.#instances.at(-1)?.exit ?? -1 }
    instance.ended = 'SIGTERM'
    instance.process.signal('SIGTERM')
    const exit = await instance.process.exited
    const m = /"finished":(\d+),"abandoned":(\d+)/.exec(instance.process.output())
    return { exit, ...(m ? { finished: Number(m[1]), abandoned: Number(m[2]) } : {}) }
  }

  runs(): ForwarderRun[] {
    return this.#instances.map((instance, i) => ({
      instance: i + 1,
      ended: instance.ended,
      ...(instance.exit === undefined ? {} : { exit: instance.exit }),
      peakRssMb: Math.round((instance.process.peakRss() / 2 ** 20) * 10) / 10,
    }))
  }

  logTail(): string {
    return this.#instances.at(-1)?.process.output().slice(-8000) ?? ''
  }
}
