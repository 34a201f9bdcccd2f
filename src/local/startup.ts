/**
 * The start-up pieces of `mqtt-fn dev`, each traced into the dev log: the port rule, the
 * embedded broker that reports what it receives and acknowledges, the function host that reports
 * each invocation, and the resources pointed at the dev broker.
 */
import { MqttFnError } from '../core/errors.js'
import { parseBrokerUrl } from '../core/resources/index.js'
import type { BrokerUrl, LoadedResources, PubsubComponent } from '../core/resources/types.js'
import { startEmbeddedBroker, type EmbeddedBroker } from './broker.js'
import { startFunctionHost, type FunctionHost } from './function-host.js'
import { findFreePort, isPortFree } from './ports.js'
import { cloudEventId, type DevTrace } from './trace.js'
import { LEDGER_PREFIX } from '../forwarder/session-ledger.js'

/** Which of the dev runtime's ports was asked for (DevOptions' field name). */
export type PortOption = 'port' | 'brokerPort' | 'grpcPort'

/** A port asked for exactly is taken by another process. The CLI names its flag instead. */
export class PortInUseError extends MqttFnError {
  override name = 'PortInUseError'
  readonly option: PortOption
  readonly port: number

  constructor(option: PortOption, port: number) {
    super('ERR_PORT_IN_USE', `${option} ${port}: the port is in use (leave ${option} unset to take the next free port)`)
    this.option = option
    this.port = port
  }
}

/** The port to listen on: exactly the one asked for (0 = any), or `preferred` / the next free one. */
export async function choosePort(asked: number | undefined, preferred: number, option: PortOption): Promise<number> {
  if (asked === undefined) return findFreePort(preferred)
  if (asked === 0) return 0
  if (!(await isPortFree(asked))) throw new PortInUseError(option, asked)
  return asked
}

/** The broker URL as `pointAt` uses it; thrown before anything listens. */
export function checkBrokerUrl(url: string): BrokerUrl {
  const parsed = parseBrokerUrl(url)
  if (!parsed.ok) throw new MqttFnError('ERR_USAGE', `broker ${JSON.stringify(url)}: ${parsed.problem}`)
  return parsed.url
}

/** Every pubsub component pointed at the dev broker; TLS material dropped (the embedded broker speaks plain MQTT). */
export function pointAt(resources: LoadedResources, brokerUrl: string): LoadedResources {
  const url = checkBrokerUrl(brokerUrl)
  const pubsubs = resources.pubsubs.map((p): PubsubComponent => {
    const { caCert: _ca, clientCert: _cert, clientKey: _key, ...rest } = p.metadata
    return { ...p, metadata: { ...rest, url } }
  })
  return { ...resources, pubsubs }
}

/** The embedded broker, with the broker's two hops (received, PUBACK) in the dev log. */
export async function startTracedBroker(trace: DevTrace, port: number): Promise<EmbeddedBroker> {
  const broker = await startEmbeddedBroker({
    port,
    aedes: {
      // Seen here, before the broker routes it on, so the hops print in the order they happen.
      authorizePublish: (client, packet, callback) => {
        if (packet.topic.startsWith('$SYS/')) return callback(new Error('$SYS/ topic is reserved'))
        if (packet.topic.startsWith(LEDGER_PREFIX)) return callback(null)
        const id = cloudEventId(packet.payload)
        trace.hop('broker', { ...(id ? { id } : {}), topic: packet.topic, detail: `received from ${client?.id ?? 'broker'} (qos ${packet.qos}${packet.retain ? ', retained' : ''})` })
        callback(null)
      },
    },
  })
  broker.aedes.on('ack', (packet, client) => {
    if (packet.cmd !== 'publish' || packet.topic.startsWith(LEDGER_PREFIX)) return
    const id = cloudEventId(packet.payload)
    trace.hop('acknowledged', { ...(id ? { id } : {}), topic: packet.topic, detail: `PUBACK from ${client.id}: the broker forgets it` })
  })
  return broker
}

/** The local function host, with one `function` hop per invocation. */
export function startTracedFunctionHost(trace: DevTrace, dir: string): Promise<FunctionHost> {
  return startFunctionHost({
    dir,
    onInvocation: (r) =>
      trace.hop('function', {
        ...(r.eventId ? { id: r.eventId } : {}),
        detail: `${r.name} (${r.via === 'invoke' ? 'Lambda Invoke' : 'Function URL'}) -> ${r.result}${r.error ? `: ${r.error}` : ''}`,
        ms: r.ms,
        ok: r.ok,
      }),
  })
}

/**
 * Points this process's AWS SDK clients at the function host, so the forwarder's `lambda:NAME`
 * routes reach the local handlers through the same Invoke API the cloud uses.
 */
export function pointAwsSdkAt(functionsUrl: string): void {
  process.env.AWS_ENDPOINT_URL_LAMBDA = functionsUrl
  // Local only: the SDK's notice about Node 20 support says nothing about this machine's setup.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  process.env.AWS_REGION ??= 'us-east-1'
  process.env.AWS_ACCESS_KEY_ID ??= 'local'
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local'
}
