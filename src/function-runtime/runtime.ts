import { MqttFnError } from '../core/errors.js'
import { getPubsubClient } from '../core/pubsub/index.js'
import { publisherComponent } from '../core/pubsub/publisher-identity.js'
import { loadResources } from '../core/resources/index.js'
import { inScope } from '../core/resources/scopes.js'
import type { LoadedResources, PubsubComponent } from '../core/resources/types.js'
import { boundedPublisher, type Publisher } from './publisher.js'
import type { RelayTarget } from './relay.js'
import type { FunctionSettings } from './settings.js'

/** Where a function's messages go; `console` on both platforms (Lambda and Azure capture it). */
export interface FunctionLogger {
  error(message: string, ...details: unknown[]): void
  warn(message: string, ...details: unknown[]): void
}

export interface FunctionRuntimeOptions {
  settings: FunctionSettings
  /** Default: `loadResources(settings.resourcesPath, {appId, env})`. */
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
 * It knows nothing of HTTP: the publish API is put on top of it by the HTTP functions
 * (`platforms/http-function/publish-api.ts`), so a queue relay's bundle does not carry it.
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
  /** The component a queue relay publishes through (`MQTTFN_PUBSUB`, or the only one). */
  relayTarget(): Promise<RelayTarget>
}

export function createFunctionRuntime(options: FunctionRuntimeOptions): FunctionRuntime {
  const { settings } = options
  const logger = options.logger ?? console
  const load = options.loadResources ?? defaultLoad
  const getClient = options.getClient ?? ((component: PubsubComponent) => getPubsubClient(publisherComponent(component)))
  const publisherFor = (component: PubsubComponent): Publisher => boundedPublisher(component, getClient(component))

  let resources: Promise<LoadedResources> | undefined
  let target: Promise<RelayTarget> | undefined

  const runtime: FunctionRuntime = {
    settings,
    logger,
    resources() {
      // A failure is kept: resources do not change while the instance lives.
      resources ??= load(settings).then(
        (loaded) => {
          for (const warning of loaded.warnings) logger.warn(`mqtt-fn: ${warning}`)
          return loaded
        },
        (err: unknown) => {
          logger.error(`mqtt-fn: resources in ${settings.resourcesPath} could not be loaded:\n${errorText(err)}`)
          throw new FunctionConfigError('the Dapr resources could not be loaded; see the function log', { cause: err })
        },
      )
      return resources
    },
    publisher: publisherFor,
    relayTarget() {
      target ??= runtime.resources().then((loaded) => {
        const visible = loaded.pubsubs.filter((p) => inScope(p.scopes, settings.appId ?? ''))
        const pubsub = choosePubsub(visible, settings.pubsubName)
        const relay: RelayTarget = { pubsub, publisher: publisherFor(pubsub) }
        if (settings.defaultTopic !== undefined) relay.defaultTopic = settings.defaultTopic
        if (settings.appId !== undefined) relay.appId = settings.appId
        return relay
      })
      return target
    },
  }
  return runtime
}

function defaultLoad(settings: FunctionSettings): Promise<LoadedResources> {
  return loadResources(settings.resourcesPath, {
    ...(settings.appId === undefined ? {} : { appId: settings.appId }),
    env: settings.env,
  })
}

/** `MQTTFN_PUBSUB` when set, else the only pubsub component. */
export function choosePubsub(pubsubs: readonly PubsubComponent[], name: string | undefined): PubsubComponent {
  const names = pubsubs.map((p) => p.name)
  if (name !== undefined) {
    const found = pubsubs.find((p) => p.name === name)
    if (found) return found
    throw new FunctionConfigError(
      `MQTTFN_PUBSUB names ${JSON.stringify(name)}, which is not a pubsub.mqtt component in the resources` +
        (names.length > 0 ? ` (there are: ${names.join(', ')})` : ' (there is none)'),
    )
  }
  const [only, ...more] = pubsubs
  if (only === undefined) throw new FunctionConfigError('the resources hold no pubsub.mqtt component')
  if (more.length > 0) {
    throw new FunctionConfigError(`the resources hold several pubsub components (${names.join(', ')}): set MQTTFN_PUBSUB to one of them`)
  }
  return only
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
