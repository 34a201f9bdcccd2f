/**
 * The short chaos soak (issue #16 §1; `npm run soak` is the long one): 10,000 QoS 1 messages
 * through the forwarder CLI on a persistent session while every fault kind runs once — app
 * RETRY / 500 / slow / hang-up / silence, SIGKILL and restart, Mosquitto restart (persistence
 * on), a 5 s black hole and 5 s of refused connections through the proxy, a SIGTERM drain.
 * Nothing may be lost and no PUBACK may reach the broker before the app answered SUCCESS
 * (observed by decoding the MQTT traffic the proxy passes). Waits are on counters and events;
 * the 5 s cuts are the schedule, not assertions; no wall-clock upper bound is asserted.
 */
import { describe, expect, it } from 'vitest'
import { runSoak } from '../../bench/soak/engine.js'
import { formatReport } from '../../bench/soak/report.js'
import type { FaultKind } from '../../bench/soak/schedule.js'

const KINDS: FaultKind[] = ['forwarder-kill', 'broker-restart', 'blackhole', 'refuse', 'drain']

describe('chaos soak (short)', () => {
  it('10,000 messages through every fault kind: nothing lost, nothing acked before the app accepted it', async () => {
    const report = await runSoak({
      messages: 10_000,
      rate: 250,
      seed: Number(process.env.SOAK_SEED ?? 16),
      kills: 1,
      brokerRestarts: 1,
      blackholes: 1,
      refusals: 1,
    })
    const { logTail, ...rest } = report
    console.log(`${formatReport(report)}\n${JSON.stringify({ faults: rest.faults, duplicateCauses: rest.duplicateCauses, earlyAckSamples: rest.earlyAckSamples })}`)
    if (logTail && (report.lost > 0 || report.earlyAcks > 0)) console.log(`forwarder log (tail):\n${logTail}`)

    expect(report.stall).toBeUndefined()
    expect(report.unexpectedExits).toBe(0)
    expect(report.lost).toBe(0)
    expect(report.earlyAcks).toBe(0)
    expect(report.unconfirmed).toBe(0)
    expect(report.delivered).toBe(report.published)
    expect(report.published).toBe(10_000 + KINDS.length)
    // Every duplicate has a cause: a fault, a forwarder reconnect, or a publisher resend.
    expect(report.unexplainedDuplicates).toBe(0)
    expect(report.drain).toMatchObject({ exit: 0, abandoned: 0 })
    expect(report.finalExit).toBe(0)
    expect(report.proxyParseErrors).toBe(0)
    // The app's fault kinds all happened (the seeded plan puts each on some message).
    for (const answer of ['retry', 'http500', 'hangup', 'silent', 'slow-success'] as const) expect(report.answers[answer]).toBeGreaterThan(0)
    for (const kind of KINDS) {
      const fault = report.faults.find((f) => f.kind === kind)
      expect(fault, kind).toBeDefined()
      // Recovered: a message published when the fault ended got through, and so did the backlog.
      expect(fault?.resumedMs, `${kind} resumed`).toBeTypeOf('number')
      expect(fault?.caughtUpMs, `${kind} caught up`).toBeTypeOf('number')
    }
  }, 600_000)
})
