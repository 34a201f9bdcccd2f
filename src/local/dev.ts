/**
 * The dev runtime (`mqtt-fn dev`, `npm start`) as a library function: the whole pipeline in one
 * process — embedded broker, the HTTP publish function, the forwarder with the resources'
 * subscriptions, and the Lambda handlers of a folder run as Lambda runs them — with one line
 * per hop of every message. The command around it (flags, help, signals, exit codes) is
 * src/cli/dev.ts; start-up pieces are in startup.ts, reload in reload.ts, the log in trace.ts.
 */
import path from 'node:path'
import { loadResources } from '../core/resources/index.js'
import type { LoadedResources } from '../core/resources/types.js'
import { startForwarder, type StopReport } from '../forwarder/index.js'
import { bindHostPublishApi } from '../http/host-binding.js'
import { startHttpServer } from '../http/node-server.js'
import type { EmbeddedBroker } from './broker.js'
import { DevReloader, PublishApiSwitch, watchFolders } from './reload.js'
import { checkBrokerUrl, choosePort, pointAt, pointAwsSdkAt, startTracedBroker, startTracedFunctionHost } from './startup.js'
import { deliveryHop, DevTrace, forwarderLogger, type LogFormat } from './trace.js'

export { PortInUseError, pointAt, type PortOption } from './startup.js'

export interface DevOptions {
  /** Folder of Dapr resources (read again on every change). */
  resourcesPath: string
  /** Folder of Lambda handlers, one `NAME.ts` (or .mts, .js, .mjs) exporting `handler` each. */
  functionsPath: string
  /** Dapr app id: subscription scopes, `{appID}`, default consumerID. */
  appId: string
  /** The publish API's port. Unset: 3500 or the next free port; 0: any; N: exactly N (PortInUseError when taken). */
  port?: number
  /** The embedded broker's port, by the same rule, from 1883. Ignored with `broker`. */
  brokerPort?: number
  /** The Dapr gRPC API's port, by the same rule, from 50001 (daprd's). */
  grpcPort?: number
  /** An external broker's URL instead of the embedded broker (unset or empty: embedded); every pubsub component is pointed at it. */
  broker?: string
  logFormat: LogFormat
  /** Where the dev log's lines go. Default: stdout. */
  write?: (line: string) => void
}

/** A running dev pipeline. */
export interface DevHandle {
  brokerUrl: string
  publishUrl: string
  /** `host:port` of the Dapr gRPC API (DAPR_GRPC_ENDPOINT). */
  grpcAddress: string
  functionsUrl: string
  metricsUrl: string | undefined
  /** Stops intake, lets in-flight deliveries finish and be acked, then closes every port. */
  close(): Promise<StopReport>
}

/**
 * Starts the pipeline; resolves when everything listens and the banner is written. Bad
 * resources (ResourceError) and a bad `broker` URL fail before anything listens; a later
 * failure closes what had already started before it rejects.
 */
export async function startDev(opts: DevOptions): Promise<DevHandle> {
  const trace = new DevTrace(opts.logFormat, opts.write)
  const resourcesPath = path.resolve(opts.resourcesPath)
  const functionsPath = path.resolve(opts.functionsPath)
  const load = () => loadResources(resourcesPath, { appId: opts.appId })

  // Bad resources and a bad broker URL stop here, before anything listens.
  if (opts.broker) checkBrokerUrl(opts.broker)
  const initial = await load()
  for (const warning of initial.warnings) trace.info(`warning: ${warning}`)

  // Closed in reverse order when a later step fails, so a failed start leaves nothing listening.
  const started: Array<() => Promise<unknown>> = []
  try {
    let broker: EmbeddedBroker | undefined
    let brokerUrl: string
    if (opts.broker) {
      brokerUrl = opts.broker
    } else {
      broker = await startTracedBroker(trace, await choosePort(opts.brokerPort, 1883, 'brokerPort'))
      started.push(broker.close)
      brokerUrl = broker.url
    }

    const functions = await startTracedFunctionHost(trace, functionsPath)
    started.push(() => functions.close())
    pointAwsSdkAt(functions.url)

    const resources = pointAt(initial, brokerUrl)
    const api = new PublishApiSwitch(trace, opts.appId, resources)
    started.push(() => api.close())
    // The example functions' pubsub() publish here: the dev broker, these resources, this log.
    const unbind = bindHostPublishApi(api.functionsHandle)
    started.push(async () => unbind())
    const publishServer = await startHttpServer(api.handle, { port: await choosePort(opts.port, 3500, 'port'), host: '127.0.0.1' })
    started.push(() => publishServer.close())
    const { startGrpcServer, SERVED_METHODS } = await import('../grpc/index.js')
    const grpcServer = await startGrpcServer({ publishApi: api.grpcHandle, port: await choosePort(opts.grpcPort, 50001, 'grpcPort'), host: '127.0.0.1' })
    started.push(() => grpcServer.close())

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
        onDelivery: (e) => deliveryHop(trace, e),
      })
    const forwarder = await startFw(resources)
    started.push(() => forwarder.stop())
    await forwarder.ready

    const reloader = new DevReloader({ trace, load: async () => pointAt(await load(), brokerUrl), startForwarder: startFw, api, forwarder, resources })
    const watching = watchFolders({ trace, resourcesPath, functionsPath, onResourcesChange: () => void reloader.reload() })

    // Last: when the banner is out, everything (watchers included) is in place.
    const fnNames = await functions.list()
    const relative = (dir: string) => path.relative(process.cwd(), dir) || '.'
    const lines = [
      '',
      'mqtt-fn dev — the whole pipeline on this machine',
      `  broker      ${brokerUrl}${broker ? ' (embedded aedes, MQTT 3.1.1)' : ' (external)'}`,
      `  publish     http://127.0.0.1:${publishServer.port}  (Dapr publish API: POST /v1.0/publish/{pubsub}/{topic})`,
      `  grpc        ${grpcServer.address}  (Dapr gRPC API: ${SERVED_METHODS.join(', ')})`,
      `  functions   ${functions.url}  (${relative(functionsPath)}: ${fnNames.join(', ') || 'none'}; Lambda Invoke API and Function URLs)`,
      `  forwarder   ${forwarder.subscriptions.map((s) => `${s.pubsubname}:${s.topic}`).join(', ') || 'no subscriptions'}  (metrics http://127.0.0.1:${String(forwarder.healthPort)}/metrics)`,
      `  resources   ${relative(resourcesPath)}  (pubsubs: ${resources.pubsubs.map((p) => p.name).join(', ')})`,
      '',
      'try:',
      `  curl -X POST http://127.0.0.1:${publishServer.port}/v1.0/publish/${resources.pubsubs[0]?.name ?? 'pubsub'}/orders/new -H 'content-type: application/json' -d '{"orderId": 42}'`,
      '',
      'Ctrl-C stops everything.',
      '',
    ]
    for (const line of lines) trace.info(line)

    let closing: Promise<StopReport> | undefined
    return {
      brokerUrl,
      publishUrl: `http://127.0.0.1:${publishServer.port}`,
      grpcAddress: grpcServer.address,
      functionsUrl: functions.url,
      metricsUrl: forwarder.healthPort ? `http://127.0.0.1:${forwarder.healthPort}/metrics` : undefined,
      close() {
        closing ??= (async () => {
          watching.close()
          // Intake first, then drain: nothing is acked that did not finish.
          const report = await reloader.stop()
          await publishServer.close()
          await grpcServer.close()
          await api.close()
          unbind()
          await functions.close()
          await broker?.close()
          trace.info(`stopped (${report.finished} in-flight deliveries finished, ${report.abandoned} left unacknowledged for redelivery)`)
          return report
        })()
        return closing
      },
    }
  } catch (error) {
    for (const close of started.reverse()) await close().catch(() => {})
    throw error
  }
}
