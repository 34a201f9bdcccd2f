/**
 * The soak's seeded fault schedule: what the app answers to each message's attempts, and the
 * order and stream positions of the process and network faults. One seed reproduces both
 * (timing on a busy machine still varies: the schedule says when a fault starts, not how the
 * system is interleaved with it).
 */

/** mulberry32: small, fast and good enough to spread faults; not for anything secret. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** What the app does with one failing attempt: answers RETRY, answers 500, hangs up, or never answers. */
export type AppFailure = 'retry' | 'http500' | 'hangup' | 'silent'
export const APP_FAILURES: readonly AppFailure[] = ['retry', 'http500', 'hangup', 'silent']

export interface AppPlan {
  /** The first attempts of the message fail these ways, one per attempt. */
  failures: AppFailure[]
  /** The succeeding attempt answers after this long (0: at once). */
  slowMs: number
}

const FAST: AppPlan = Object.freeze({ failures: [], slowMs: 0 }) as AppPlan

/**
 * The app's plan for stream message `seq`: a pure function of (seed, seq), so a message
 * redelivered after a crash continues its plan where the attempts left off. At most two
 * failures: the forwarder's default policy retries ten times, so every message is meant to
 * succeed well within one delivery (a message left un-acked would be a finding, not noise).
 */
export function appPlan(seed: number, seq: number, rate: number): AppPlan {
  const random = mulberry32((seed ^ Math.imul(seq + 1, 0x9e3779b1)) >>> 0)
  const failing = random() < rate
  const slow = random() < rate
  if (!failing && !slow) return FAST
  const failures: AppFailure[] = []
  if (failing) {
    const n = random() < 0.7 ? 1 : 2
    for (let i = 0; i < n; i++) failures.push(APP_FAILURES[Math.floor(random() * APP_FAILURES.length)] ?? 'retry')
  }
  return { failures, slowMs: slow ? 200 + Math.floor(random() * 1300) : 0 }
}

/** The faults that hit the forwarder's process, the broker or the network between them. */
export type FaultKind = 'forwarder-kill' | 'broker-restart' | 'blackhole' | 'refuse' | 'drain'

export interface FaultCounts {
  kills: number
  brokerRestarts: number
  blackholes: number
  refusals: number
}

export interface FaultStep {
  kind: FaultKind
  /** Starts once this fraction of the stream has been published (and the previous fault recovered). */
  at: number
}

/**
 * The faults in a seeded order, spread over 10%..85% of the stream with seeded jitter; the
 * SIGTERM drain always comes last, near the end, while messages still flow.
 */
export function faultSchedule(seed: number, counts: FaultCounts): FaultStep[] {
  const random = mulberry32(seed)
  const kinds: FaultKind[] = [
    ...Array<FaultKind>(counts.kills).fill('forwarder-kill'),
    ...Array<FaultKind>(counts.brokerRestarts).fill('broker-restart'),
    ...Array<FaultKind>(counts.blackholes).fill('blackhole'),
    ...Array<FaultKind>(counts.refusals).fill('refuse'),
  ]
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const k = kinds[i] as FaultKind
    kinds[i] = kinds[j] as FaultKind
    kinds[j] = k
  }
  const from = 0.1
  const to = 0.85
  const gap = kinds.length > 1 ? (to - from) / (kinds.length - 1) : 0
  const steps = kinds.map((kind, i) => ({ kind, at: from + gap * i + (random() - 0.5) * gap * 0.4 }))
  steps.push({ kind: 'drain', at: 0.93 })
  return steps
}
