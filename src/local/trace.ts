/**
 * The dev log: one line per hop of a message — published -> broker -> forwarder -> function ->
 * acknowledged — keyed by the CloudEvent id, each with the time since the message was first
 * seen. Pretty for a person, or one JSON object per line (`--log-format json`). The
 * forwarder's own pino lines and its delivery events are written here too, so that every line
 * of `mqtt-fn dev` comes out of this file.
 */
import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'
import type { DeliveryEvent } from '../forwarder/index.js'
import { REDACT_PATHS } from '../forwarder/logger.js'

export type LogFormat = 'pretty' | 'json'

export type Hop = 'published' | 'broker' | 'forwarder' | 'function' | 'acknowledged' | 'dead-letter'

export interface HopFields {
  id?: string
  topic?: string
  detail: string
  /** Duration of this hop itself (HTTP publish, function run), ms. */
  ms?: number
  ok?: boolean
}

const COLORS: Record<Hop, string> = {
  published: '\x1b[36m',
  broker: '\x1b[34m',
  forwarder: '\x1b[35m',
  function: '\x1b[33m',
  acknowledged: '\x1b[32m',
  'dead-letter': '\x1b[31m',
}
const RESET = '\x1b[0m'
const FIRST_SEEN_LIMIT = 10_000

export class DevTrace {
  readonly #format: LogFormat
  readonly #write: (line: string) => void
  readonly #color: boolean
  /** CloudEvent id -> when the first hop was seen (bounded: oldest forgotten first). */
  readonly #firstSeen = new Map<string, number>()

  constructor(format: LogFormat, write: (line: string) => void = (l) => process.stdout.write(l + '\n'), color = process.stdout.isTTY === true) {
    this.#format = format
    this.#write = write
    this.#color = color
  }

  hop(hop: Hop, fields: HopFields): void {
    const now = performance.now()
    let since: number | undefined
    if (fields.id) {
      const first = this.#firstSeen.get(fields.id)
      if (first === undefined) {
        this.#firstSeen.set(fields.id, now)
        if (this.#firstSeen.size > FIRST_SEEN_LIMIT) this.#firstSeen.delete(this.#firstSeen.keys().next().value as string)
        since = 0
      } else {
        since = now - first
      }
    }
    if (this.#format === 'json') {
      this.#write(JSON.stringify({ time: new Date().toISOString(), hop, ...fields, ...(since === undefined ? {} : { sinceMs: round(since) }), ...(fields.ms === undefined ? {} : { ms: round(fields.ms) }) }))
      return
    }
    const clock = new Date().toISOString().slice(11, 23)
    const offset = since === undefined ? '' : `+${since.toFixed(1)} ms`
    const name = this.#color ? `${COLORS[hop]}${hop.padEnd(12)}${RESET}` : hop.padEnd(12)
    const took = fields.ms === undefined ? '' : ` (${fields.ms.toFixed(1)} ms)`
    const id = fields.id ? `  [${fields.id.slice(0, 8)}]` : ''
    this.#write(`${clock} ${offset.padStart(11)}  ${name} ${fields.topic ? `${fields.topic}  ` : ''}${fields.detail}${took}${id}`)
  }

  /**
   * A line from another part of dev (the forwarder's pino logger). In JSON its fields are fields
   * of the line, beside time, level, source and msg (which win over a field of the same name).
   */
  log(entry: { source: string; level: string; msg: string; time?: Date; fields?: Record<string, unknown> }): void {
    const { source, level, msg } = entry
    if (this.#format === 'json') {
      const time = (entry.time ?? new Date()).toISOString()
      this.#write(JSON.stringify(Object.assign({ time, level, source, msg }, entry.fields, { time, level, source, msg })))
    } else {
      this.#write(`${source} ${level}: ${msg}`)
    }
  }

  /** Messages that are not about one event (start, reload, errors). */
  info(message: string): void {
    if (this.#format === 'json') this.#write(JSON.stringify({ time: new Date().toISOString(), msg: message }))
    else this.#write(message)
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}

/** The CloudEvent id of an MQTT payload, when it is one. */
export function cloudEventId(payload: Uint8Array | string): string | undefined {
  // Cheap pre-check: only JSON objects can be CloudEvents.
  const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8')
  if (!text.startsWith('{')) return undefined
  try {
    const parsed = JSON.parse(text) as { id?: unknown }
    return typeof parsed.id === 'string' ? parsed.id : undefined
  } catch {
    return undefined
  }
}

/** Pino's level numbers in words; the dev log prints the same words for its own lines. */
function levelName(level: unknown): string {
  if (typeof level !== 'number') return 'info'
  return level >= 60 ? 'fatal' : level >= 50 ? 'error' : level >= 40 ? 'warn' : level >= 30 ? 'info' : level >= 20 ? 'debug' : 'trace'
}

/**
 * A pino logger for the forwarder whose lines fit the dev log: each pino line is parsed and
 * printed by the trace, so that in JSON it is one flat object (the forwarder's fields beside
 * `msg`), never a JSON line quoted inside another line's `msg`.
 */
export function forwarderLogger(trace: DevTrace): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue
        let entry: unknown
        try {
          entry = JSON.parse(line)
        } catch {
          entry = undefined
        }
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
          trace.info(line)
          continue
        }
        // pid, hostname and name say nothing in a one-process dev log; source says forwarder.
        const { level, time, msg, pid: _pid, hostname: _host, name: _name, ...fields } = entry as Record<string, unknown>
        trace.log({
          source: 'forwarder',
          level: levelName(level),
          msg: typeof msg === 'string' ? msg : '',
          ...(typeof time === 'number' ? { time: new Date(time) } : {}),
          fields,
        })
      }
      done()
    },
  })
  return pino({ name: 'mqtt-fn-forward', level: 'warn', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, stream)
}

/** The forwarder's hops of a message: where it was routed and how it was settled. */
export function deliveryHop(trace: DevTrace, e: DeliveryEvent): void {
  const id = e.id === undefined ? {} : { id: e.id }
  if (e.kind === 'routed') {
    trace.hop('forwarder', { ...id, topic: e.topic, detail: `subscription ${e.subscription} -> ${e.target} (${e.rule === 'default' ? 'default route' : `rule ${e.rule}`})` })
  } else if (!e.acked) {
    trace.hop('forwarder', { ...id, topic: e.topic, detail: `left unacknowledged (${e.how}): the broker redelivers it`, ms: e.ms, ok: false })
  } else if (e.how === 'deadlettered') {
    trace.hop('dead-letter', { ...id, topic: e.topic, detail: `published to the dead-letter topic`, ms: e.ms })
  } else if (e.how === 'dropped') {
    trace.hop('forwarder', { ...id, topic: e.topic, detail: 'dropped (DROP, 404, expired or no route)', ms: e.ms })
  }
}
