/** Latency and throughput figures for one measured run. */
export interface RunStats {
  label: string
  messages: number
  seconds: number
  perSecond: number
  p50Ms: number
  p99Ms: number
}

export function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return NaN
  const index = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1))
  return sortedMs[index] ?? NaN
}

export function summarize(label: string, latenciesMs: number[], seconds: number): RunStats {
  const sorted = [...latenciesMs].sort((a, b) => a - b)
  return {
    label,
    messages: latenciesMs.length,
    seconds,
    perSecond: latenciesMs.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
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
  return `${s.label.padEnd(34)} ${s.perSecond.toFixed(0).padStart(8)} msg/s   p50 ${s.p50Ms.toFixed(3)} ms   p99 ${s.p99Ms.toFixed(3)} ms`
}

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
}
