/**
 * `mqtt-fn forward`: relays the topics that Subscription resources (and the app's
 * `GET /dapr/subscribe`) ask for into function triggers, the way daprd delivers to an app,
 * at least once. See dispatcher.ts for the concurrency and acknowledgement design.
 */
import { inScope, loadResources } from '../core/resources/index.js'
import type { LoadedResources } from '../core/resources/types.js'
import type { PubsubClientOptions } from '../core/pubsub/types.js'
import { fetchAppSubscriptions, parseAppSubscriptions } from './app-subscriptions.js'
import { grpcAddress, listTopicSubscriptions } from './targets/grpc.js'
import { CircuitBreaker } from './breaker.js'
import { Dispatcher } from './dispatcher.js'
import { startHealthServer, type HealthServer } from './health.js'
import { createLogger, type Logger } from './logger.js'
import { ForwarderMetrics } from './metrics.js'
import { inboundResiliency, type InboundResiliency } from './resiliency.js'
import { DEFAULT_RETRY_POLICY } from './retry.js'
import { Subscriber } from './subscriber.js'
import { compileSubscriptions, specFromResource, type SubscriptionSpec } from './subscriptions.js'
import { TargetRegistry } from './targets/index.js'
import { redactRoute } from './targets/http.js'
import type { DeliveryObserver, ForwardSubscription, RetryPolicy } from './types.js'
import { MqttFnError } from '../core/errors.js'
import { startTracing, type Tracer } from '../tracing/index.js'
import type { ServerLimits } from '../core/server-limits.js'

export type { DeliveryEvent, DeliveryObserver, ForwardSubscription, Outcome, RetryPolicy, Target, TargetReply } from './types.js'
export { ForwarderMetrics } from './metrics.js'
export { DEFAULT_RETRY_POLICY } from './retry.js'

export interface ForwarderOptions {
  /** Folder of Dapr resources; ignored when `resources` is given. Default `./resources`. */
  resourcesPath?: string
  /** Resources already loaded (tests, `mqtt-fn dev`). */
  resources?: LoadedResources
  /** Dapr app id: subscription scopes, `{appID}`, default consumerID. */
  appId?: string
  /** Base URL of the app: route paths are joined to it; its `/dapr/subscribe` is read. */
  appUrl?: string
  /**
   * daprd's `--app-protocol`: `http` (default) or `grpc`, where route paths are the app's
   * `AppCallback.OnTopicEvent` and its subscriptions come from `ListTopicSubscriptions`
   * (`appUrl`: `grpc://host:port` or `host:port`).
   */
  appProtocol?: 'http' | 'grpc'
  /** Port of /healthz, /readyz, /metrics. Default 9464; 0 = any free port; false = no server. */
  port?: number | false
  /** Default 127.0.0.1; a container sets 0.0.0.0 (its probes come from outside). */
  host?: string
  /** Connection cap and timeouts of that port. Default HEALTH_SERVER_LIMITS (health.ts). */
  healthLimits?: Partial<ServerLimits>
  /** Concurrent deliveries (a bulk batch counts as one). Default 32. */
  concurrency?: number
  /** Bound of one delivery attempt, ms, unless a Resiliency `inbound.timeout` says otherwise. Default 60000. */
  requestTimeoutMs?: number
  /** On stop: how long running deliveries may still finish (and be acked), ms. Default 10000. */
  drainTimeoutMs?: number
  /** How long to wait for the app's `/dapr/subscribe` to answer, ms. Default 60000. */
  appSubscribeTimeoutMs?: number
  /** Retry policy when no Resiliency resource targets the pubsub. Default: DEFAULT_RETRY_POLICY. */
  retryPolicy?: RetryPolicy
  /** Environment for target settings (Azure connection string); default process.env. */
  env?: Record<string, string | undefined>
  logger?: Logger
  /** Used when no `logger` is given. Default `info`. */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** Pubsub client knobs (maxUnacked, reconnect backoff, watchdog). */
  clientOptions?: PubsubClientOptions
  /** Told when a message is routed and when it is settled (acked or left), e.g. for the dev log. */
  onDelivery?: DeliveryObserver
  /** Also export Node's process metrics on /metrics. Default true. */
  processMetrics?: boolean
  /** The Configuration that applies (daprd's `--config`); default `MQTTFN_CONFIG`, else the only one. */
  config?: string
  /** Spans from this tracer instead of the one the applying Configuration's `spec.tracing` sets up. */
  tracer?: Tracer
}

export interface StopReport {
  /** Deliveries that were running at stop and finished (acked or settled) in time. */
  finished: number
  /** Deliveries aborted at the drain bound; left unacknowledged. */
  abandoned: number
}

export interface Forwarder {
  /** Resolves once every broker connection is up and every subscription granted. */
  ready: Promise<void>
  /**
   * Resolves once each persistent session's filter ledger was read, the filters no Subscription
   * wants any more were unsubscribed and the ledger rewritten (at once without one). Never rejects.
   */
  sessionTidied: Promise<void>
  /** Stops intake, drains in-flight deliveries (bounded), disconnects. Idempotent. */
  stop(): Promise<StopReport>
  metrics: ForwarderMetrics
  /** The port /healthz, /readyz and /metrics listen on (undefined with `port: false`). */
  healthPort: number | undefined
  subscriptions: readonly ForwardSubscription[]
  logger: Logger
}

/**
 * What start-up refuses, without connecting anywhere: every YAML Subscription compiles (CEL,
 * routes, targets, pubsub names) and every Resiliency policy that applies reads. Throws
 * ResourceError naming file and field; returns each pubsub's inbound policies. `mqtt-fn
 * validate` runs it too.
 */
export function checkForwarding(
  resources: LoadedResources,
  context: { targets: TargetRegistry; appId?: string; warn: (message: string) => void },
): { resiliency: Map<string, InboundResiliency> } {
  // YAML first: its problems are reported without waiting for the app.
  compileSubscriptions(resources.subscriptions.map(specFromResource), {
    resources,
    targets: context.targets,
    ...(context.appId ? { appId: context.appId } : {}),
    warn: () => {},
  })
  const resiliency = new Map<string, InboundResiliency>()
  // A Resiliency resource applies only to the app ids in its scopes, as in daprd.
  const appId = context.appId ?? ''
  const applicable = resources.others.filter((r) => {
    if (r.kind !== 'Resiliency' || inScope(r.scopes ?? [], appId)) return true
    context.warn(`${r.file}: Resiliency/${r.name} is scoped to ${JSON.stringify(r.scopes)}, not to this app id ${JSON.stringify(appId)} (--app-id): not applied`)
    return false
  })
  for (const pubsub of resources.pubsubs) {
    const found = inboundResiliency(applicable, pubsub.name)
    for (const warning of found.warnings) context.warn(warning)
    resiliency.set(pubsub.name, found)
  }
  return { resiliency }
}

/**
 * Loads and checks everything (a bad resource, CEL expression or target refuses to start,
 * naming file and field), starts the health server, then subscribes. Resolves once started;
 * `ready` says when the broker side is up.
 */
export async function startForwarder(options: ForwarderOptions = {}): Promise<Forwarder> {
  const logger = options.logger ?? createLogger(options.logLevel ?? 'info')
  const env = options.env ?? process.env
  const resources =
    options.resources ??
    (await loadResources(options.resourcesPath ?? './resources', { ...(options.appId ? { appId: options.appId } : {}), ...(options.config ? { config: options.config } : {}), env }))
  for (const warning of resources.warnings) logger.warn(warning)

  const metrics = new ForwarderMetrics({ defaultMetrics: options.processMetrics ?? true })
  const concurrency = options.concurrency ?? 32
  const targets = new TargetRegistry({
    ...(options.appUrl ? { appUrl: options.appUrl } : {}),
    ...(options.appProtocol ? { appProtocol: options.appProtocol } : {}),
    env,
    connectionsPerOrigin: concurrency,
  })
  const compileContext = {
    resources,
    targets,
    ...(options.appId ? { appId: options.appId } : {}),
    warn: (message: string) => logger.warn(message),
  }
  const { resiliency } = checkForwarding(resources, { targets, ...(options.appId ? { appId: options.appId } : {}), warn: (message) => logger.warn(message) })

  let health: HealthServer | undefined
  let subscriber: Subscriber | undefined
  const notReady = () => (subscriber ? subscriber.notReady() : 'starting')
  if (options.port !== false) {
    health = await startHealthServer({ port: options.port ?? 9464, host: options.host ?? '127.0.0.1', metrics, notReady, ...(options.healthLimits ? { limits: options.healthLimits } : {}) })
  }

  let subscriptions: ForwardSubscription[]
  try {
    let appSpecs: SubscriptionSpec[] = []
    if (options.appUrl && options.appProtocol === 'grpc') {
      const timeoutMs = options.appSubscribeTimeoutMs ?? 60_000
      let listed: string
      try {
        listed = await listTopicSubscriptions(options.appUrl, targets.grpcClients, timeoutMs)
      } catch (error) {
        throw new MqttFnError('ERR_APP_SUBSCRIBE', (error as Error).message, { retriable: true, cause: error })
      }
      appSpecs = parseAppSubscriptions(listed, `${grpcAddress(options.appUrl)} ListTopicSubscriptions`, (message) => logger.warn(message))
    } else if (options.appUrl) {
      appSpecs = await fetchAppSubscriptions(options.appUrl, {
        timeoutMs: options.appSubscribeTimeoutMs ?? 60_000,
        onWarning: (message) => logger.warn(message),
      })
    }
    subscriptions = compileSubscriptions([...resources.subscriptions.map(specFromResource), ...appSpecs], compileContext)
    const problems: string[] = []
    for (const { route, check } of targets.checks()) {
      try {
        await check()
      } catch (error) {
        problems.push(`route ${route}: ${(error as Error).message}`)
      }
    }
    if (problems.length > 0) throw new MqttFnError('ERR_TARGET_INVALID', problems.join('\n'))
  } catch (error) {
    await health?.close()
    targets.destroy()
    throw error
  }
  if (subscriptions.length === 0) {
    logger.warn('no subscriptions apply to this app: nothing to forward')
  }

  const breakers = new Map<string, CircuitBreaker>()
  for (const [pubsub, found] of resiliency) {
    const settings = found.circuitBreaker
    if (!settings) continue
    const breaker = new CircuitBreaker(settings, (from, to) => {
      const fields = { pubsub, circuitBreaker: settings.name, from, to }
      if (to === 'open') logger.warn({ ...fields, trip: settings.trip, openForMs: settings.timeoutMs }, 'circuit breaker opened: deliveries are not attempted until it half-opens')
      else logger.info(fields, `circuit breaker ${to}`)
    })
    breakers.set(pubsub, breaker)
    metrics.watchBreaker(pubsub, () => breaker.state)
  }
  const retryPolicy = (pubsub: string) => resiliency.get(pubsub)?.retry ?? options.retryPolicy ?? DEFAULT_RETRY_POLICY
  const requestTimeoutMs = (pubsub: string) => resiliency.get(pubsub)?.timeoutMs ?? options.requestTimeoutMs ?? 60_000
  const pubsubs = resources.pubsubs.filter((p) => subscriptions.some((s) => s.pubsubname === p.name))
  // Started before the first message can arrive; without a tracing Configuration no SDK is loaded.
  const tracer = options.tracer ?? (await startTracing(resources.configuration?.tracing, { serviceName: options.appId || 'mqtt-fn-forwarder' }))
  if (tracer && !options.tracer) logger.info({ configuration: resources.configuration?.name, samplingRate: resources.configuration?.tracing?.samplingRate }, 'tracing on')
  let dispatcher: Dispatcher | undefined
  const activeSubscriber = new Subscriber({
    pubsubs,
    subscriptions,
    logger,
    metrics,
    onMessage: (subscription, message) => dispatcher?.accept(subscription, message),
    ...(options.clientOptions ? { clientOptions: options.clientOptions } : {}),
  })
  subscriber = activeSubscriber
  dispatcher = new Dispatcher({
    logger,
    metrics,
    concurrency,
    publisher: (pubsub) => activeSubscriber.publisher(pubsub),
    retryPolicy,
    requestTimeoutMs,
    breaker: (pubsub) => breakers.get(pubsub),
    ...(options.onDelivery ? { onDelivery: options.onDelivery } : {}),
    ...(tracer ? { tracer } : {}),
  })
  for (const s of subscriptions) {
    logger.info(
      {
        subscription: s.id,
        origin: s.source.origin,
        pubsub: s.pubsubname,
        topic: s.topic,
        routes: s.rules.map((r) => (r.match ? `${r.match} -> ${redactRoute(r.path)}` : redactRoute(r.path))),
        deadLetterTopic: s.deadLetterTopic,
        rawPayload: s.rawPayload,
        ordered: s.ordered,
        bulk: s.bulk,
        retry: retryPolicy(s.pubsubname),
      },
      'subscription',
    )
  }

  const ready = activeSubscriber.start().then(() => {
    logger.info({ subscriptions: subscriptions.length, healthPort: health?.port }, 'forwarder ready')
  })
  ready.catch((error: unknown) => logger.error({ err: error }, 'forwarder failed to subscribe'))

  let stopping: Promise<StopReport> | undefined
  const stop = (): Promise<StopReport> => {
    stopping ??= (async () => {
      const drainTimeoutMs = options.drainTimeoutMs ?? 10_000
      logger.info({ inFlight: dispatcher?.inFlight ?? 0, drainTimeoutMs }, 'stopping: intake closed, draining in-flight deliveries')
      const report = (await dispatcher?.stop(drainTimeoutMs)) ?? { finished: 0, abandoned: 0 }
      // PUBACKs of what finished are written before the DISCONNECT that close() sends.
      await activeSubscriber.close()
      await health?.close()
      targets.destroy()
      // The spans of what was settled are exported before the process ends (bounded). A tracer passed in is its owner's to stop.
      if (tracer && !options.tracer) await tracer.shutdown()
      logger.info(report, 'forwarder stopped')
      return report
    })()
    return stopping
  }

  return { ready, sessionTidied: activeSubscriber.sessionTidied, stop, metrics, healthPort: health?.port, subscriptions, logger }
}
