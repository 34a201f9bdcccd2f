/**
 * `mqtt-fn dev` (= `npm start`): the whole pipeline in one process — embedded broker, the HTTP
 * publish function, the forwarder with the resources' subscriptions, and the functions in
 * `functions/aws/` run as Lambda runs them — with one line per hop of every message.
 */
import { watch, type FSWatcher } from 'node:fs'
import path from 'node:path'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { parseArgs } from 'node:util'
import { untilSignal } from '../cli/signals.js'
import { MqttFnError, ResourceError } from '../core/errors.js'
import { loadResources, parseBrokerUrl } from '../core/resources/index.js'
import type { LoadedResources, PubsubComponent } from '../core/resources/types.js'
import { startForwarder, type Forwarder } from '../forwarder/index.js'
import { REDACT_PATHS } from '../forwarder/logger.js'
import { createPublishApi } from '../http/index.js'
import { startHttpServer } from '../http/node-server.js'
import type { ApiHandler } from '../http/types.js'
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js'
import { startFunctionHost, type FunctionHost } from './function-host.js'
import { findFreePort, isPortFree } from './ports.js'
import { PublishClients } from './publish-clients.js'
import { cloudEventId, DevTrace, type LogFormat } from './trace.js'

const options = {
  'resources-path': { type: 'string', default: './resources' },
  'functions-path': { type: 'string', default: './functions/aws' },
  'app-id': { type: 'string', default: process.env.APP_ID ?? 'mqtt-fn' },
  port: { type: 'string' },
  'broker-port': { type: 'string' },
  broker: { type: 'string' },
  'log-format': { type: 'string', default: 'pretty' },
  help: { type: 'boolean', short: 'h', default: false },
} as const

const HELP = `usage: mqtt-fn dev [--resources-path DIR] [--functions-path DIR] [--port N] [--broker-port N]
                   [--broker mqtt://host:port] [--log-format pretty|json] [--app-id ID]

Runs the embedded broker (1883 or the next free port), the HTTP publish API (3500 or the next
free port), the forwarder with the Subscriptions in the resources folder, and the Lambda
handlers in the functions folder (Invoke API for lambda:NAME routes, Function URL for HTTP
routes). --port / --broker-port fix a port (0 = any free port). --broker uses an external broker
instead of the embedded one. Files changed under the resources or functions folder are
reloaded without a restart. Ctrl-C stops everything.`

export interface DevOptions {
  resourcesPath: string
  functionsPath: string
  appId: string
  /** undefined: 3500 or the next free port; 0: any; N: exactly N. */
  port?: number
  brokerPort?: number
  broker?: string
  logFormat: LogFormat
  write?: (line: string) => void
}

export interface DevRuntime {
  brokerUrl: string
  publishUrl: string
  functionsUrl: string
  metricsUrl: string | undefined
  stop(): Promise<void>
}

function portArg(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new MqttFnError('ERR_USAGE', `--${flag}: not a port number: ${JSON.stringify(value)}`)
  return port
}

/** The port to listen on: exactly the one asked for, or the default / the next free one. */
async function choosePort(asked: number | undefined, preferred: number, flag: string): Promise<number> {
  if (asked === undefined) return findFreePort(preferred)
  if (asked === 0) return 0
  if (!(await isPortFree(asked))) throw new MqttFnError('ERR_PORT_IN_USE', `--${flag} ${asked}: the port is in use (omit --${flag} to take the next free port)`)
  return asked
}

/** Every pubsub component pointed at the dev broker; TLS material dropped (the embedded broker speaks plain MQTT). */
export function pointAt(resources: LoadedResources, brokerUrl: string): LoadedResources {
  const parsed = parseBrokerUrl(brokerUrl)
  if (!parsed.ok) throw new MqttFnError('ERR_USAGE', `--broker: ${parsed.problem}`)
  const pubsubs = resources.pubsubs.map((p): PubsubComponent => {
    const { caCert: _ca, clientCert: _cert, clientKey: _key, ...rest } = p.metadata
    return { ...p, metadata: { ...rest, url: parsed.url } }
  })
  return { ...resources, pubsubs }
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
function forwarderLogger(trace: DevTrace) {
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

export async function startDev(opts: DevOptions): Promise<DevRuntime> {
  const trace = new DevTrace(opts.logFormat, opts.write)
  const resourcesPath = path.resolve(opts.resourcesPath)
  const functionsPath = path.resolve(opts.functionsPath)
  const load = () => loadResources(resourcesPath, { appId: opts.appId })

  // Bad resources stop here, before anything listens.
  const initial = await load()
  for (const warning of initial.warnings) trace.info(`warning: ${warning}`)

  let broker: EmbeddedBroker | undefined
  let brokerUrl: string
  if (opts.broker) {
    brokerUrl = opts.broker
  } else {
    broker = await startEmbeddedBroker({
      port: await choosePort(opts.brokerPort, 1883, 'broker-port'),
      aedes: {
        // Seen here, before the broker routes it on, so the hops print in the order they happen.
        authorizePublish: (client, packet, callback) => {
          if (packet.topic.startsWith('$SYS/')) return callback(new Error('$SYS/ topic is reserved'))
          const id = cloudEventId(packet.payload)
          trace.hop('broker', { ...(id ? { id } : {}), topic: packet.topic, detail: `received from ${client?.id ?? 'broker'} (qos ${packet.qos}${packet.retain ? ', retained' : ''})` })
          callback(null)
        },
      },
    })
    brokerUrl = broker.url
    broker.aedes.on('ack', (packet, client) => {
      if (packet.cmd !== 'publish') return
      const id = cloudEventId(packet.payload)
      trace.hop('acknowledged', { ...(id ? { id } : {}), topic: packet.topic, detail: `PUBACK from ${client.id}: the broker forgets it` })
    })
  }

  const functions: FunctionHost = await startFunctionHost({
    dir: functionsPath,
    onInvocation: (r) =>
      trace.hop('function', {
        ...(r.eventId ? { id: r.eventId } : {}),
        detail: `${r.name} (${r.via === 'invoke' ? 'Lambda Invoke' : 'Function URL'}) -> ${r.result}${r.error ? `: ${r.error}` : ''}`,
        ms: r.ms,
        ok: r.ok,
      }),
  })
  // lambda:NAME routes reach the local handlers through the same Invoke API the cloud uses.
  process.env.AWS_ENDPOINT_URL_LAMBDA = functions.url
  // Local only: the SDK's notice about Node 20 support says nothing about this machine's setup.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  process.env.AWS_REGION ??= 'us-east-1'
  process.env.AWS_ACCESS_KEY_ID ??= 'local'
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local'

  let resources = pointAt(initial, brokerUrl)
  const makeApi = (r: LoadedResources): { handler: ApiHandler; clients: PublishClients } => {
    // The dev log's first hop: the publish as the HTTP function makes it.
    const clients = new PublishClients((component, topic, payload) => {
      const id = cloudEventId(payload)
      trace.hop('published', { ...(id ? { id } : {}), topic, detail: `HTTP publish API -> ${component.name}` })
    })
    return { handler: createPublishApi({ resources: r, appId: opts.appId, getClient: (component) => clients.get(component) }), clients }
  }
  let current = makeApi(resources)
  const publishServer = await startHttpServer((req) => current.handler(req), { port: await choosePort(opts.port, 3500, 'port'), host: '127.0.0.1' })

  const logger = forwarderLogger(trace)
  const startFw = (r: LoadedResources) =>
    startForwarder({
      resources: r,
      appId: opts.appId,
      appUrl: functions.url,
      port: 0,
      host: '127.0.0.1',
      logger,
      processMetrics: false,
      onDelivery: (e) => {
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
      },
    })
  let forwarder: Forwarder = await startFw(resources)
  await forwarder.ready


  // Reload on change: a bad edit keeps the running setup and says what is wrong.
  let reloading: Promise<void> = Promise.resolve()
  let timer: NodeJS.Timeout | undefined
  const reloadResources = () => {
    reloading = reloading.then(async () => {
      let next: LoadedResources
      try {
        next = pointAt(await load(), brokerUrl)
      } catch (error) {
        if (error instanceof ResourceError) trace.info(`resources changed but are invalid; keeping the running ones:\n${error.message}`)
        else trace.info(`resources changed but could not be loaded: ${(error as Error).message}`)
        return
      }
      await forwarder.stop()
      try {
        forwarder = await startFw(next)
      } catch (error) {
        trace.info(`reload failed: ${(error as Error).message}; restarting with the previous resources`)
        forwarder = await startFw(resources)
        return
      }
      resources = next
      // New requests take the new resources now; publishes still in flight finish first.
      const retired = current
      current = makeApi(next)
      await retired.clients.retire()
      await forwarder.ready
      trace.info(`resources reloaded: ${forwarder.subscriptions.map((s) => `${s.pubsubname}:${s.topic}`).join(', ') || 'no subscriptions'}`)
    }).catch((error: unknown) => {
      // Even the fallback failed: say so, and keep the chain usable for the next edit and for Ctrl-C.
      trace.info(`reload failed and the previous resources could not be restarted: ${(error as Error).message}; fix the resources and save again`)
    })
  }
  const watchers: FSWatcher[] = []
  const onResourceChange = () => {
    clearTimeout(timer)
    timer = setTimeout(reloadResources, 150)
  }
  try {
    watchers.push(watch(resourcesPath, onResourceChange))
  } catch {
    trace.info(`warning: cannot watch ${resourcesPath}; restart to pick up changes`)
  }
  try {
    watchers.push(
      watch(functionsPath, (_event, file) => {
        if (file) trace.info(`functions: ${String(file)} changed; the next call runs the new code`)
      }),
    )
  } catch {
    // No functions folder: nothing to reload.
  }

  // Last: when the banner is out, everything (watchers included) is in place.
  const fnNames = await functions.list()
  const lines = [
    '',
    'mqtt-fn dev — the whole pipeline on this machine',
    `  broker      ${brokerUrl}${broker ? ' (embedded aedes, MQTT 3.1.1)' : ' (external)'}`,
    `  publish     http://127.0.0.1:${publishServer.port}  (Dapr publish API: POST /v1.0/publish/{pubsub}/{topic})`,
    `  functions   ${functions.url}  (${path.relative(process.cwd(), functionsPath) || '.'}: ${fnNames.join(', ') || 'none'}; Lambda Invoke API and Function URLs)`,
    `  forwarder   ${forwarder.subscriptions.map((s) => `${s.pubsubname}:${s.topic}`).join(', ') || 'no subscriptions'}  (metrics http://127.0.0.1:${String(forwarder.healthPort)}/metrics)`,
    `  resources   ${path.relative(process.cwd(), resourcesPath) || '.'}  (pubsubs: ${resources.pubsubs.map((p) => p.name).join(', ')})`,
    '',
    'try:',
    `  curl -X POST http://127.0.0.1:${publishServer.port}/v1.0/publish/${resources.pubsubs[0]?.name ?? 'pubsub'}/orders/new -H 'content-type: application/json' -d '{"orderId": 42}'`,
    '',
    'Ctrl-C stops everything.',
    '',
  ]
  for (const line of lines) trace.info(line)

  return {
    brokerUrl,
    publishUrl: `http://127.0.0.1:${publishServer.port}`,
    functionsUrl: functions.url,
    metricsUrl: forwarder.healthPort ? `http://127.0.0.1:${forwarder.healthPort}/metrics` : undefined,
    async stop() {
      clearTimeout(timer)
      for (const w of watchers) w.close()
      await reloading.catch(() => {})
      // Intake first, then drain: nothing is acked that did not finish.
      const report = await forwarder.stop()
      await publishServer.close()
      await current.clients.retire()
      await functions.close()
      await broker?.close()
      trace.info(`stopped (${report.finished} in-flight deliveries finished, ${report.abandoned} left unacknowledged for redelivery)`)
    },
  }
}

/** The CLI command. */
export async function dev(argv: string[]): Promise<number> {
  let values
  try {
    values = parseArgs({ args: argv, options, strict: true }).values
  } catch (error) {
    throw new MqttFnError('ERR_USAGE', (error as Error).message)
  }
  if (values.help) {
    console.log(HELP)
    return 0
  }
  const format = values['log-format']
  if (format !== 'pretty' && format !== 'json') throw new MqttFnError('ERR_USAGE', `--log-format: pretty or json, not ${JSON.stringify(format)}`)
  // Listening before anything starts: a Ctrl-C during start-up still stops cleanly.
  const signalled = untilSignal()
  let runtime: DevRuntime
  let started = false
  // Ctrl-C while still starting (say, waiting for an unreachable --broker): leave at once; the
  // OS closes whatever was already listening.
  void signalled.then(() => {
    if (!started) {
      console.error('mqtt-fn dev: interrupted during start-up')
      process.exit(130)
    }
  })
  try {
    runtime = await startDev({
      resourcesPath: values['resources-path'],
      functionsPath: values['functions-path'],
      appId: values['app-id'],
      ...(values.port !== undefined ? { port: portArg(values.port, 'port') } : {}),
      ...(values['broker-port'] !== undefined ? { brokerPort: portArg(values['broker-port'], 'broker-port') } : {}),
      ...(values.broker ? { broker: values.broker } : {}),
      logFormat: format,
    })
  } catch (error) {
    if (error instanceof ResourceError) {
      for (const line of error.message.split('\n')) console.error(line)
      return 1
    }
    throw error
  }
  started = true
  await signalled
  await runtime.stop()
  return 0
}
