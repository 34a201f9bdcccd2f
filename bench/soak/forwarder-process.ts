/**
 * The forwarder as a user runs it: `node bin/mqtt-fn.mjs forward ...` (in a checkout that runs
 * src/ through tsx; `cli` may point at dist/cli/main.js instead), its JSON log kept (the tail,
 * so a long soak does not grow this process) and its peak RSS read from the kernel
 * (/proc/PID/status VmHWM, the high-water mark, so no sample can miss the peak).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'

export interface ForwarderProcess {
  proc: ChildProcess
  /** Resolves with the exit code, or the signal's name. */
  exited: Promise<number | string>
  /** The log's tail (at most the last ~1 MB). */
  output(): string
  /** Resolves on the "forwarder ready" log line; rejects if the process exits first. */
  ready: Promise<void>
  /** Peak resident set size so far, bytes (NaN where /proc is not there). */
  peakRss(): number
  /** Sends `sig`, reading the high-water mark first (after SIGKILL it is gone). */
  signal(sig: NodeJS.Signals): void
}

const MAX_LOG = 1 << 20

export function spawnForwarderProcess(cli: string, args: string[], env: NodeJS.ProcessEnv): ForwarderProcess {
  const proc = spawn(process.execPath, [cli, 'forward', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let peak = NaN
  const sample = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))
      if (m) peak = Math.max(Number.isNaN(peak) ? 0 : peak, Number(m[1]) * 1024)
    } catch {
      // gone already, or no /proc: keep what was read
    }
  }
  const sampler = setInterval(sample, 250)
  let markReady!: () => void
  const ready = new Promise<void>((resolve) => (markReady = resolve))
  let isReady = false
  const onData = (chunk: string) => {
    out += chunk
    if (out.length > MAX_LOG) out = out.slice(out.length - MAX_LOG / 2)
    if (!isReady && out.includes('"forwarder ready"')) {
      isReady = true
      markReady()
    }
  }
  proc.stdout?.setEncoding('utf8').on('data', onData)
  proc.stderr?.setEncoding('utf8').on('data', onData)
  const exited = new Promise<number | string>((resolve) =>
    proc.once('exit', (code, signal) => {
      clearInterval(sampler)
      resolve(code ?? signal ?? -1)
    }),
  )
  const readyOrExited = Promise.race([
    ready,
    exited.then((code) => {
      throw new Error(`forwarder exited (${code}) before it was ready:\n${out.slice(-4000)}`)
    }),
  ])
  // Awaited by whoever needs it; a process stopped before that must not be an unhandled rejection.
  readyOrExited.catch(() => {})
  return {
    proc,
    exited,
    output: () => out,
    ready: readyOrExited,
    peakRss: () => {
      sample()
      return peak
    },
    signal(sig) {
      sample()
      proc.kill(sig)
    },
  }
}
