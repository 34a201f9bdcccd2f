import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startWithPortRetry, type PrivateBroker } from './private-broker.js'
import { getFreePort, isPortFree, waitForPort } from './ports.js'

/** The server script itself, not /usr/sbin's wrapper (which switches to the rabbitmq user). */
export const RABBITMQ_SERVER_BIN = ['/usr/lib/rabbitmq/bin/rabbitmq-server', '/usr/local/lib/rabbitmq/bin/rabbitmq-server'].find((p) =>
  existsSync(p),
)

export interface RabbitMqOptions {
  /** Lines appended to rabbitmq.conf (e.g. `mqtt.prefetch = 20`). */
  extraConfig?: string[]
  /** Bound on start-up (the MQTT plugin alone waits 3–6 s before its Raft election). Default 60 s. */
  startTimeoutMs?: number
}

/**
 * A private RabbitMQ node: its data dir holds HOME with the node's own Erlang cookie, mnesia
 * (sessions, queues) and logs; kill() reaches the whole process group; restart() takes ~5 s.
 */
export interface RabbitMqBroker extends PrivateBroker {
  /** The AMQP port (RabbitMQ needs one; the tests do not use it). */
  amqpPort: number
  nodeName: string
}

/**
 * Starts a private RabbitMQ node with the MQTT plugin for one test file (~10 s: start it once
 * per file): its own node name, ports on 127.0.0.1 (never the machine's 5672/1883), config,
 * plugins file, data and log dirs, and a HOME holding a fresh Erlang cookie, so it neither
 * reads nor joins the machine's node. It runs in the foreground as its own process group, so
 * kill() reaches the Erlang VM behind the start script. It registers with the machine's epmd
 * (starting one if none runs), as every Erlang node does.
 */
export async function startRabbitMq(opts: RabbitMqOptions = {}): Promise<RabbitMqBroker> {
  return startWithPortRetry(() => startOnce(opts))
}

async function startOnce(opts: RabbitMqOptions): Promise<RabbitMqBroker> {
  if (!RABBITMQ_SERVER_BIN) throw new Error('rabbitmq-server is not installed (apt-get install -y rabbitmq-server)')
  const host = '127.0.0.1'
  const port = await getFreePort(host)
  const amqpPort = await getFreePort(host)
  const distPort = await getFreePort(host)
  const dir = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-rabbitmq-'))
  const nodeName = `mqttfn-${randomBytes(4).toString('hex')}@localhost`
  const home = path.join(dir, 'home')
  await mkdir(home)
  // Our own cookie: rabbitmq-server and anything run with this HOME share it; the machine's
  // node keeps its own.
  const cookie = path.join(home, '.erlang.cookie')
  await writeFile(cookie, randomBytes(16).toString('hex').toUpperCase())
  await chmod(cookie, 0o400)
  const configPath = path.join(dir, 'rabbitmq.conf')
  const config = [
    `listeners.tcp.default = ${host}:${amqpPort}`,
    `mqtt.listeners.tcp.default = ${host}:${port}`,
    'mqtt.allow_anonymous = true',
    'loopback_users = none',
    // A test machine's disk may be under the default 50 MB limit, which blocks every publisher.
    'disk_free_limit.absolute = 1MB',
    ...(opts.extraConfig ?? []),
  ]
  await writeFile(configPath, config.join('\n') + '\n')
  const pluginsPath = path.join(dir, 'enabled_plugins')
  await writeFile(pluginsPath, '[rabbitmq_mqtt].\n')
  // An empty env file: otherwise /etc/rabbitmq/rabbitmq-env.conf sets NODENAME=rabbit@localhost.
  const envFile = path.join(dir, 'rabbitmq-env.conf')
  await writeFile(envFile, '')
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: host,
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONFIG_FILE: configPath,
    RABBITMQ_ENABLED_PLUGINS_FILE: pluginsPath,
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_PID_FILE: path.join(dir, 'rabbitmq.pid'),
    RABBITMQ_CONF_ENV_FILE: envFile,
    // The log to stdout, where start() reads "Server startup complete".
    RABBITMQ_LOGS: '-',
    // The distribution port on loopback only.
    ERL_FLAGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  }

  let child: ChildProcess | undefined
  let log = ''
  let exited: Promise<void> = Promise.resolve()

  const start = async () => {
    // detached: its own process group, so that a signal to -pid reaches the VM as well as the script.
    const proc = spawn(RABBITMQ_SERVER_BIN, [], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    child = proc
    for (const stream of [proc.stdout, proc.stderr]) {
      stream?.setEncoding('utf8')
      stream?.on('data', (chunk: string) => {
        log += chunk
      })
    }
    exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    let exitedEarly = false
    void exited.then(() => {
      exitedEarly = true
    })
    const from = log.length
    const timeoutMs = opts.startTimeoutMs ?? 60_000
    const ready = async () => {
      const deadline = Date.now() + timeoutMs
      while (!log.slice(from).includes('Server startup complete')) {
        if (Date.now() > deadline) throw new Error(`rabbitmq did not report startup complete within ${timeoutMs} ms:\n${log.slice(-4000)}`)
        await new Promise((r) => setTimeout(r, 25))
      }
      await waitForPort(port, host, 5000)
    }
    try {
      await Promise.race([
        ready(),
        exited.then(() => {
          throw new Error(`rabbitmq exited at start (config ${configPath}):\n${log.slice(-4000)}`)
        }),
      ])
    } catch (err) {
      if (!exitedEarly) killGroup(proc, 'SIGKILL')
      throw err
    }
  }

  const signal = async (sig: NodeJS.Signals, graceMs: number) => {
    const proc = child
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    // SIGTERM to the script: it stops the VM cleanly and waits for it. SIGKILL to the group.
    if (sig === 'SIGKILL') killGroup(proc, 'SIGKILL')
    else proc.kill(sig)
    const timer = setTimeout(() => killGroup(proc, 'SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
    child = undefined
    // The script can exit a moment before the VM lets go of its listeners.
    const deadline = Date.now() + 10_000
    for (const p of [port, amqpPort, distPort]) {
      while (!(await isPortFree(p, host)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
    }
  }

  try {
    await start()
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  return {
    port,
    amqpPort,
    host,
    url: `mqtt://${host}:${port}`,
    nodeName,
    configPath,
    dir,
    logs: () => log,
    async stop() {
      await signal('SIGTERM', 15_000)
      await rm(dir, { recursive: true, force: true })
    },
    kill: () => signal('SIGKILL', 2000),
    async restart() {
      await signal('SIGTERM', 15_000)
      await start()
    },
  }
}

function killGroup(proc: ChildProcess, sig: NodeJS.Signals): void {
  if (proc.pid === undefined) return
  try {
    process.kill(-proc.pid, sig)
  } catch {
    // The group is gone already.
  }
}
