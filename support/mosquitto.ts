import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { startWithPortRetry, type PrivateBroker } from './private-broker.js'
import { getFreePort, waitForPort } from './ports.js'

const run = promisify(execFile)

export const MOSQUITTO_BIN = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto'].find((p) =>
  existsSync(p),
)

export interface MosquittoTls {
  /** Server certificate and key (PEM files). */
  certfile: string
  keyfile: string
  /** CA that client certificates must chain to (needed with `requireCertificate`). */
  cafile?: string
  /** Mutual TLS: the broker refuses clients without a certificate signed by `cafile`. */
  requireCertificate?: boolean
}

export interface MosquittoOptions {
  /** Default: a free port. */
  port?: number
  /** The listener speaks TLS only. */
  tls?: MosquittoTls
  /**
   * Keep sessions and queued messages on disk (in the broker's temp dir) across `restart()`.
   * After `kill()` only what the autosave already wrote survives.
   */
  persistence?: boolean
  /**
   * When persistence saves. 'every-change' (default): on the loop pass after any change, so a
   * kill() loses next to nothing. But every save writes the whole database: with a backlog of
   * thousands queued the broker crawls (measured here: 16,000 queued QoS 1 messages took 195 s
   * to publish and 19 s to drain, against 0.8 s and 0.3 s). A number: Mosquitto's
   * autosave_interval in seconds, as brokers run in production.
   */
  autosave?: 'every-change' | number
  /** Lines appended to the config (e.g. `max_inflight_messages 5`, `acl_file ...`). */
  extraConfig?: string[]
  /** Require these users (password file); anonymous clients are refused. */
  users?: { username: string; password: string }[]
  /** Lines of an acl_file (e.g. `topic readwrite open/#`), written into the broker's temp dir. */
  acl?: string[]
}

/** Mosquitto's data dir also holds the password file; stop() saves persistence first. */
export type MosquittoBroker = PrivateBroker

/**
 * Starts a private Mosquitto for one test file: its own port on 127.0.0.1, its own temp
 * config. Never the shared broker on 1883. `set_tcp_nodelay true` (Nagle adds ~40 ms per
 * PUBACK window) and a high `max_queued_messages` (the default silently drops past 1000).
 */
export async function startMosquitto(opts: MosquittoOptions = {}): Promise<MosquittoBroker> {
  return startWithPortRetry(() => startOnce(opts), opts.port === undefined)
}

async function startOnce(opts: MosquittoOptions): Promise<MosquittoBroker> {
  if (!MOSQUITTO_BIN) throw new Error('mosquitto is not installed (apt-get install -y mosquitto mosquitto-clients)')
  const host = '127.0.0.1'
  const port = opts.port ?? (await getFreePort(host))
  const dir = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-mosquitto-'))
  const configPath = path.join(dir, 'mosquitto.conf')

  const lines = [
    `listener ${port} ${host}`,
    'set_tcp_nodelay true',
    'max_queued_messages 100000',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    'log_type information',
    'connection_messages true',
  ]
  // As root, mosquitto switches to user `mosquitto`, which cannot read files in our temp dir.
  if (process.getuid?.() === 0) lines.push(`user ${userInfo().username}`)
  if (opts.users?.length) {
    const passwordFile = path.join(dir, 'passwords')
    let first = true
    for (const u of opts.users) {
      await run('mosquitto_passwd', [...(first ? ['-c'] : []), '-b', passwordFile, u.username, u.password])
      first = false
    }
    lines.push('allow_anonymous false', `password_file ${passwordFile}`)
  } else {
    lines.push('allow_anonymous true')
  }
  if (opts.acl) {
    const aclFile = path.join(dir, 'acl')
    await writeFile(aclFile, opts.acl.join('\n') + '\n')
    lines.push(`acl_file ${aclFile}`)
  }
  if (opts.tls) {
    lines.push(`certfile ${opts.tls.certfile}`, `keyfile ${opts.tls.keyfile}`)
    if (opts.tls.cafile) lines.push(`cafile ${opts.tls.cafile}`)
    if (opts.tls.requireCertificate) lines.push('require_certificate true')
  }
  if (opts.persistence) {
    const data = path.join(dir, 'data')
    await mkdir(data)
    // 'every-change': on Mosquitto's next loop pass, so a SIGKILL right after a change can
    // still lose it. stop()/restart() (SIGTERM) always save.
    const autosave = opts.autosave ?? 'every-change'
    const when = autosave === 'every-change' ? ['autosave_interval 1', 'autosave_on_changes true'] : [`autosave_interval ${autosave}`, 'autosave_on_changes false']
    lines.push('persistence true', `persistence_location ${data}/`, ...when)
  }
  lines.push(...(opts.extraConfig ?? []))
  await writeFile(configPath, lines.join('\n') + '\n')

  let child: ChildProcess | undefined
  let log = ''
  let exited: Promise<void> = Promise.resolve()

  const start = async () => {
    const proc = spawn(MOSQUITTO_BIN, ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] })
    child = proc
    proc.stderr?.setEncoding('utf8')
    proc.stderr?.on('data', (chunk: string) => {
      log += chunk
    })
    exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    let exitedEarly = false
    void exited.then(() => {
      exitedEarly = true
    })
    // "running" is logged once every listener is bound; the port check alone could be
    // answered by another process that holds the port.
    const from = log.length
    const running = async () => {
      const deadline = Date.now() + 5000
      while (!log.slice(from).includes(' running')) {
        if (Date.now() > deadline) throw new Error(`mosquitto did not report running within 5 s:\n${log}`)
        await new Promise((r) => setTimeout(r, 10))
      }
      await waitForPort(port, host, 5000)
    }
    try {
      await Promise.race([
        running(),
        exited.then(() => {
          throw new Error(`mosquitto exited at start (config ${configPath}):\n${log}`)
        }),
      ])
    } catch (err) {
      if (!exitedEarly) proc.kill('SIGKILL')
      throw err
    }
  }

  const signal = async (sig: NodeJS.Signals, graceMs: number) => {
    const proc = child
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    proc.kill(sig)
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
    child = undefined
  }

  try {
    await start()
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  return {
    port,
    host,
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://${host}:${port}`,
    configPath,
    dir,
    logs: () => log,
    async stop() {
      await signal('SIGTERM', 3000)
      await rm(dir, { recursive: true, force: true })
    },
    kill: () => signal('SIGKILL', 1000),
    async restart() {
      await signal('SIGTERM', 3000)
      await start()
    },
  }
}
