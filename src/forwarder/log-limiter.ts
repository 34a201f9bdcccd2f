/**
 * A warning that a message can cause on every delivery (a poison payload, a route expression
 * that fails on it) is written at most once per key and interval, with the count of the lines
 * left out since: one bad publisher must not fill the disk (seen: 47 MB in two minutes).
 */
export class LogLimiter {
  readonly #last = new Map<string, { at: number; suppressed: number }>()

  constructor(private readonly intervalMs = 10_000) {}

  /** Undefined: stay quiet. A number: log now, and say that many lines were left out. */
  take(key: string, now = Date.now()): number | undefined {
    const seen = this.#last.get(key)
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed++
      return undefined
    }
    const suppressed = seen?.suppressed ?? 0
    this.#last.set(key, { at: now, suppressed: 0 })
    return suppressed
  }
}
