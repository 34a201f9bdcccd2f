/** The soak report as a table for people; the JSON beside it is the same object. */
import type { SoakReport } from './engine.js'

const n = (v: number) => v.toLocaleString('en-US')
const pad = (s: string, w: number) => s.padEnd(w)

/** Lost or acked early: the two numbers that must be 0. */
export function soakFailed(r: SoakReport): boolean {
  return r.lost > 0 || r.earlyAcks > 0 || r.stall !== undefined
}

export function formatReport(r: SoakReport): string {
  const causes = Object.entries(r.duplicateCauses)
    .sort(([, a], [, b]) => b - a)
    .map(([cause, count]) => `${cause} ${n(count)}`)
    .join(', ')
  const answers = Object.entries(r.answers)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${kind} ${n(count)}`)
    .join(', ')
  const rows: [string, string][] = [
    ['seed / rate', `${r.seed} / ${n(r.rate)} msg/s, ${n(r.messages)} stream messages, ${r.durationS} s`],
    ['published', `${n(r.published)} (PUBACKed by the broker; ${n(r.published - r.messages)} recovery markers)${r.unconfirmed ? `, ${n(r.unconfirmed)} never confirmed` : ''}`],
    ['delivered', `${n(r.delivered)} distinct ids answered SUCCESS`],
    ['lost', `${n(r.lost)}${r.lost ? `  e.g. ${r.lostSample.slice(0, 5).join(', ')}` : ''}`],
    ['duplicates', `${n(r.duplicates)}${causes ? `  (${causes})` : ''}`],
    ['acked early', `${n(r.earlyAcks)}  (PUBACKs that reached the broker before the app's SUCCESS)`],
    ['stale acks', `${n(r.staleAcks)}  (a redelivery acked on an earlier SUCCESS); unknown PUBACKs ${n(r.unknownAcks)}`],
    ['redeliveries', `${n(r.redeliveries)} PUBLISHes the broker sent again; ${n(r.packetIdReuses)} under a packet id still in flight for another message`],
    ['app answers', answers],
    ['peak RSS', `${r.peakRssMb} MB (forwarder VmHWM, highest of ${r.forwarders.length} processes)`],
    ['drain', r.drain ? `exit ${r.drain.exit}, finished ${r.drain.finished ?? '?'}, abandoned ${r.drain.abandoned ?? '?'}` : 'not reached'],
    ['final stop', `SIGTERM, exit ${r.finalExit ?? '?'}; unexpected exits ${r.unexpectedExits}`],
  ]
  if (r.stall) rows.push(['STALL', r.stall])
  const width = Math.max(...rows.map(([k]) => k.length)) + 2
  const lines = rows.map(([k, v]) => `${pad(k, width)}${v}`)
  lines.push('', `${pad('fault', 18)}${pad('at s', 8)}${pad('down ms', 10)}${pad('resumed ms', 12)}caught up ms`)
  for (const f of r.faults) {
    lines.push(`${pad(`${f.kind} #${f.n}`, 18)}${pad(String(f.atS), 8)}${pad(String(f.downMs), 10)}${pad(String(f.resumedMs ?? '-'), 12)}${f.caughtUpMs ?? '-'}`)
  }
  lines.push('', 'resumed: a message published when the fault ended was delivered; caught up: every message published before then was.')
  return lines.join('\n')
}
