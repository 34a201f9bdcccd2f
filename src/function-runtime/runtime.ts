import { errorMessage, MqttFnError } from '../core/errors.js'
import { getPubsubClient } from '../core/pubsub/index.js'
import { publisherComponent } from '../core/pubsub/publisher-identity.js'
// The loader without its YAML half: a bundle reads YAML only for MQTTFN_RESOURCES_PATH (readFolder).
import { loadParsedResources } from '../core/resources/loader.js'
import type { ParsedResources } from '../core/resources/parsed.js'
import type { LoadedResources, PubsubComponent } from '../core/resources/types.js'
import { bundledResources } from './bundled-resources.js'
import { boundedPublisher, type Publisher } from './publisher.js'
import type { FunctionSettings } from './settings.js'
import { loadWebSocketTransport, usesWebSocket } from './web-socket.js'
import { startTracing } from '../tracing/index.js'
import type { Tracer } from '../tracing/types.js'

/** Where a function's messages go; `console` on both platforms (Lambda and Azure capture it). */
export interface FunctionLogger {
  error(message: string, ...details: unknown[]): void
  warn(message: string, ...details: unknown[]): void
}

export interface FunctionRuntimeOptions {
  settings: FunctionSettings
  /**
   * Default: the resources compiled into the bundle (scripts/build.mjs), else, and always when
   * `MQTTFN_RESOURCES_PATH` is set, the YAML of `settings.resourcesPath`; loaded with `{appId, env}`.
   */
  loadResources?: (settings: FunctionSettings) => Promise<LoadedResources>
  /** Default: the process-wide client of `core/pubsub`, shared by warm invocations, with an instance-unique client id (see identity.ts). */
  getClient?: (component: PubsubComponent) => Publisher
  logger?: FunctionLogger
}

/** The configuration could not be turned into a working function (bad resources, no pubsub...). */
export class FunctionConfigError extends MqttFnError {
  override name = 'FunctionConfigError'
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_FUNCTION_CONFIG', message, options)
  }
}

/**
 * What a function instance keeps between warm invocations: the resources (loaded on the
 * first invocation, not at import, so a bad file becomes a logged, answered failure instead of
 * a crash loop) and the MQTT client (connected lazily by the first publish). Nothing here is
 * awaited past an invocation.
 *
 * What each kind of function builds on it is built lazily by that function, so a bundle
 * carries only its own: the publish API (`platforms/http-function/publish-api.ts`, the only
 * path to `src/http`) and the relay target (`relay-target.ts`).
 */
export interface FunctionRuntime {
  readonly settings: FunctionSettings
  readonly logger: FunctionLogger
  resources(): Promise<LoadedResources>
  /**
   * The component's client, every publish bounded by `publishTimeout` and the invocation's
   * deadline. A function property, not a method: callers pass it on unbound.
   */
  readonly publisher: (component: PubsubComponent) => Publisher
  /**
   * The tracer the applying Configuration (`MQTTFN_CONFIG`, else the only one) sets up, made
   * once per instance; undefined without one (no OpenTelemetry code is loaded then) or when the
   * resources do not load. Never rejects.
   */
  tracer(): Promise<Tracer | undefined>
  /**
   * Exports the spans ended so far; every handler awaits it before its invocation returns (a
   * frozen sandbox sends nothing). Nothing to do when no tracer was asked for. Never rejects.
   */
  flushTraces(): Promise<void>
}

export function createFunctionRuntime(options: FunctionRuntimeOptions): FunctionRuntime {
  const { settings } = options
  const logger = options.logger ?? console
  const load = options.loadResources ?? defaultLoad
  const getClient = options.getClient ?? ((component: PubsubComponent) => getPubsubClient(publisherComponent(component)))
  const publisherFor = (component: PubsubComponent): Publisher => boundedPublisher(component, getClient(component))

  let resources: Promise<LoadedResources> | undefined
  let tracer: Promise<Tracer | undefined> | undefined

  const runtime: FunctionRuntime = {
    settings,
    logger,
    resources() {
      // A failure is kept: resources do not change while the instance lives.
      resources ??= load(settings).then(
        async (loaded) => {
          for (const warning of loaded.warnings) logger.warn(`mqtt-fn: ${warning}`)
          // Before any connect: MQTT.js's connect/ws.js in a bundle forwards to this chunk.
          if (usesWebSocket(loaded)) {
            await loadWebSocketTransport().catch((err: unknown) => {
              logger.error(`mqtt-fn: a component connects over ws:// or wss://, and MQTT.js's WebSocket transport (mqtt-ws.mjs beside the function bundle) could not be loaded:\n${errorMessage(err)}`)
              throw new FunctionConfigError('the MQTT over WebSocket transport could not be loaded; see the function log', { cause: err })
            })
          }
          return loaded
        },
        (err: unknown) => {
          logger.error(`mqtt-fn: resources in ${settings.resourcesPath} could not be loaded:\n${errorMessage(err)}`)
          throw new FunctionConfigError('the Dapr resources could not be loaded; see the function log', { cause: err })
        },
      )
      return resources
    },
    publisher: publisherFor,
    tracer() {
      tracer ??= runtime.resources().then(
        (loaded) =>
          // `simple`: each span is sent when it ends, so the flush before returning has little left to wait for.
          startTracing(loaded.configuration?.tracing, { serviceName: settings.appId ?? 'mqtt-fn-function', processor: 'simple', flushTimeoutMs: 2000 }).catch((err: unknown) => {
            logger.error(`mqtt-fn: tracing not started: ${errorMessage(err)}`)
            return undefined
          }),
        () => undefined,
      )
      return tracer
    },
    async flushTraces() {
      if (tracer === undefined) return
      await (await tracer)?.flush()
    },
  }
  return runtime
}

async function defaultLoad(settings: FunctionSettings): Promise<LoadedResources> {
  const options = { ...(settings.appId === undefined ? {} : { appId: settings.appId }), env: settings.env }
  const bundled = bundledResources()
  const parsed = bundled !== undefined && !settings.resourcesPathFromEnv ? bundled.resources : await readFolder(settings.resourcesPath)
  // Secrets and template tags are resolved here, at run time, from the function's environment.
  const loaded = await loadParsedResources(parsed, options, settings.resourcesPath)
  return loaded
}

async function readFolder(dir: string): Promise<ParsedResources> {
  // In a function bundle this is resources-yaml.mjs beside it (scripts/build.mjs LAZY_CHUNKS):
  // the YAML parser loads only when a folder is read.
  const { readResourceFolder } = await import('../core/resources/read-folder.js')
  return readResourceFolder(dir)
}
