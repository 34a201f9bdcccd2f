/**
 * `npm run soak`: the chaos soak (issue #16 §1), 100,000 QoS 1 messages through the forwarder
 * while a seeded fault schedule runs (see soak/engine.ts). Prints the report as a table and as
 * JSON; exits 1 when a message was lost or acked before the app accepted it (or the run stalled).
 *
 * Knobs (environment or --name=value): SOAK_MESSAGES (100000), SOAK_RATE (500 msg/s),
 * SOAK_SEED (random, printed), SOAK_KILLS (3), SOAK_BROKER_RESTARTS (2), SOAK_BLACKHOLES (1),
 * SOAK_REFUSALS (1), SOAK_CUT_MS (5000), SOAK_APP_FAULT_RATE (0.02), SOAK_CLI (the CLI entry,
 * e.g. dist/cli/main.js after `npm run build`), SOAK_TRACE=true (each message's history; the
 * report then shows a few duplicates' histories), SOAK_LOG_DIR (each forwarder's log and
 * Mosquitto's are written there; with SOAK_TRACE Mosquitto logs at debug level).
 */
import path from 'node:path'
import { runSoak } from './soak/engine.js'
import { formatReport, soakFailed } from './soak/report.js'

function knob(name: string, fallback: number): number {
  const flag = `--${name.toLowerCase().replace(/^soak_/, '').replace(/_/g, '-')}=`
  const raw = process.argv.find((a) => a.startsWith(flag))?.slice(flag.length) ?? process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}: expected a non-negative number, got ${JSON.stringify(raw)}`)
  return value
}

const seed = knob('SOAK_SEED', Math.floor(Math.random() * 2 ** 31))
const cli = process.env.SOAK_CLI
const report = await runSoak({
  messages: knob('SOAK_MESSAGES', 100_000),
  rate: knob('SOAK_RATE', 500),
  seed,
  kills: knob('SOAK_KILLS', 3),
  brokerRestarts: knob('SOAK_BROKER_RESTARTS', 2),
  blackholes: knob('SOAK_BLACKHOLES', 1),
  refusals: knob('SOAK_REFUSALS', 1),
  cutMs: knob('SOAK_CUT_MS', 5000),
  appFaultRate: knob('SOAK_APP_FAULT_RATE', 0.02),
  ...(cli ? { cli: path.resolve(cli) } : {}),
  progress: (line) => console.error(`soak: ${line}`),
  trace: process.env.SOAK_TRACE === 'true',
  ...(process.env.SOAK_LOG_DIR ? { logDir: path.resolve(process.env.SOAK_LOG_DIR) } : {}),
})
const { logTail, ...json } = report
console.log(`\n## chaos soak\n${formatReport(report)}\n\n${JSON.stringify(json, null, 2)}`)
if (soakFailed(report)) {
  if (logTail) console.error(`\nforwarder log (tail):\n${logTail}`)
  process.exit(1)
}
process.exit(0)
