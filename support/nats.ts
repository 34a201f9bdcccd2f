import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startWithPortRetry, type PrivateBroker } from './private-broker.js'
import { getFreePort, isPortFree, waitForPort } from './ports.js'

export const NATS_BIN = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p))

export interface NatsOptions {
  /**
   * The MQTT gateway's `ack_wait`: how long NATS waits for a PUBACK before it sends a QoS 1
   * message again, on the same live connection too. NATS' default is 30 s; tests set it short
   * so that a redelivery after a crash needs no 30 s wait.
   */
  ackWait?: string
  /** `max_ack_pending` of the MQTT gateway (NATS default 1024). */
  maxAckPending?: number
  /** Lines appended inside the `mqtt { }` block. */
  extraMqttConfig?: string[]
}

/** A private nats-server: its data dir is the JetStream store, where MQTT sessions live. */
export interface NatsBroker extends PrivateBroker {
  /** The NATS client port (not used by the tests; NATS needs one). */
  natsPort: number
}

/**
 * Starts a private nats-server with its MQTT gateway for one test file: its own ports on
 * 127.0.0.1 (never the machine's 4222), its own config and JetStream store dir. MQTT in NATS
 * needs JetStream and a `server_name`; sessions, queued and retained messages are JetStream
 * streams in the store, so a restart keeps them and stop() wipes them.
 */
export async function startNats(opts: NatsOptions = {}): Promise<NatsBroker> {
  return startWithPortRetry(() => startOnce(opts))
}

async function startOnce(opts: NatsOptions): Promise<NatsBroker> {
  if (!NATS_BIN) throw new Error('nats-server is not installed (apt-get install -y nats-server)')
  const host = '127.0.0.1'
  const port = await getFreePort(host)
  const natsPort = await getFreePort(host)
  const dir = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-nats-'))
  const configPath = path.join(dir, 'nats.conf')
  const name = `mqttfn_${path.basename(dir).replace(/[^A-Za-z0-9]/g, '_')}`
  const mqtt = [
    `  listen: "${host}:${port}"`,
    ...(opts.ackWait ? [`  ack_wait: "${opts.ackWait}"`] : []),
    ...(opts.maxAckPending !== undefined ? [`  max_ack_pending: ${opts.maxAckPending}`] : []),
    ...(opts.extraMqttConfig ?? []).map((l) => `  ${l}`),
  ]
  const lines = [
    `server_name: ${name}`,
    `listen: "${host}:${natsPort}"`,
    // Bounded: JetStream would otherwise reserve a share of the machine's memory and disk.
    `jetstream { store_dir: ${JSON.stringify(path.join(dir, 'js'))}, max_memory_store: 64MB, max_file_store: 1GB }`,
    'mqtt {',
    ...mqtt,
    '}',
  ]
  await writeFile(configPath, lines.join('\n') + '\n')

  let child: ChildProcess | undefined
  let log = ''
  let exited: Promise<void> = Promise.resolve()

  const start = async () => {
    const proc = spawn(NATS_BIN, ['-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] })
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
    // "Server is ready" comes after every listener (MQTT included) is bound; the port check
    // alone could be answered by another process holding the port.
    const from = log.length
    const ready = async () => {
      const deadline = Date.now() + 10_000
      while (!log.slice(from).includes('Server is ready')) {
        if (Date.now() > deadline) throw new Error(`nats-server did not report ready within 10 s:\n${log}`)
        await new Promise((r) => setTimeout(r, 10))
      }
      await waitForPort(port, host, 5000)
    }
    try {
      await Promise.race([
        ready(),
        exited.then(() => {
          throw new Error(`nats-server exited at start (config ${configPath}):\n${log}`)
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
    // The ports are released with the process; a restart binds them again at once.
    const deadline = Date.now() + 5000
    while (!(await isPortFree(port, host)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  }

  try {
    await start()
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  return {
    port,
    natsPort,
    host,
    url: `mqtt://${host}:${port}`,
    configPath,
    dir,
    logs: () => log,
    async stop() {
      await signal('SIGTERM', 5000)
      await rm(dir, { recursive: true, force: true })
    },
    kill: () => signal('SIGKILL', 1000),
    async restart() {
      await signal('SIGTERM', 5000)
      await start()
    },
  }
}
