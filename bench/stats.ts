/** Latency and throughput figures for one measured run. */
export interface RunStats {
  label: string
  messages: number
  seconds: number
  perSecond: number
  p50Ms: number
  p99Ms: number
  /** Process CPU time (user + system) per message: steadier than wall time on a busy box. */
  cpuUsPerMessage: number
}

export function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return NaN
  const index = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1))
  return sortedMs[index] ?? NaN
}

/** `cpu`: `process.cpuUsage(start)` over the run; without it CPU/msg is NaN. */
export function summarize(label: string, latenciesMs: number[], seconds: number, cpu?: NodeJS.CpuUsage): RunStats {
  const sorted = [...latenciesMs].sort((a, b) => a - b)
  return {
    label,
    messages: latenciesMs.length,
    seconds,
    perSecond: latenciesMs.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    cpuUsPerMessage: cpu ? (cpu.user + cpu.system) / Math.max(1, latenciesMs.length) : NaN,
  }
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2
}

/** The run with the median throughput, so one lucky or unlucky round does not decide. */
export function medianRun(runs: readonly RunStats[]): RunStats {
  const sorted = [...runs].sort((a, b) => a.perSecond - b.perSecond)
  const mid = sorted[Math.floor(sorted.length / 2)]
  if (!mid) throw new Error('no runs')
  return mid
}

export function formatRow(s: RunStats): string {
  return `${s.label.padEnd(34)} ${s.perSecond.toFixed(0).padStart(8)} msg/s   p50 ${s.p50Ms.toFixed(3)} ms   p99 ${s.p99Ms.toFixed(3)} ms   CPU ${s.cpuUsPerMessage.toFixed(1)} µs/msg`
}

/** `+0.012` / `-0.004`: a core faster than MQTT.js must not read as "+-0.004". */
export function signed(v: number, digits = 3): string {
  return `${v >= 0 ? '+' : ''}${v.toFixed(digits)}`
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
}
