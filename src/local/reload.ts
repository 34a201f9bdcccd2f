/**
 * Reload in `mqtt-fn dev`: a saved edit under the resources folder restarts the forwarder and
 * switches the publish API to the new resources without a restart of the process; a bad edit
 * keeps the running setup and says what is wrong. An edit under the functions folder needs no
 * work here: the function host imports a changed module again on its next call.
 */
import { watch, type FSWatcher } from 'node:fs'
import { ResourceError } from '../core/errors.js'
import type { LoadedResources } from '../core/resources/types.js'
import type { Forwarder, StopReport } from '../forwarder/index.js'
import { createPublishApi } from '../http/index.js'
import type { ApiHandler } from '../http/types.js'
import { PublishClients } from './publish-clients.js'
import { cloudEventId, type DevTrace } from './trace.js'

/** Saves come as bursts of change events (editors write, rename, chmod): one reload per burst. */
const DEBOUNCE_MS = 150

interface Generation {
  /** The HTTP publish API's. */
  handler: ApiHandler
  /** What the functions' `pubsub()` calls get (their own clients, their own hop in the log). */
  functionsHandler: ApiHandler
  /** The gRPC API's. */
  grpcHandler: ApiHandler
  retire(): Promise<void>
}

/**
 * The publish API over one generation of resources at a time. `switchTo` makes new requests
 * take the new resources at once, while publishes still in flight finish on the old
 * generation's clients before those close (see publish-clients.ts).
 */
export class PublishApiSwitch {
  readonly #trace: DevTrace
  readonly #appId: string
  #current: Generation

  constructor(trace: DevTrace, appId: string, resources: LoadedResources) {
    this.#trace = trace
    this.#appId = appId
    this.#current = this.#generation(resources)
  }

  /** The publish API of the current generation; give this to the HTTP server. */
  readonly handle: ApiHandler = (req) => this.#current.handler(req)

  /** The same for the functions the dev host runs (bound with bindHostPublishApi). */
  readonly functionsHandle: ApiHandler = (req) => this.#current.functionsHandler(req)

  /** The same for the gRPC API. */
  readonly grpcHandle: ApiHandler = (req) => this.#current.grpcHandler(req)

  async switchTo(resources: LoadedResources): Promise<void> {
    const retired = this.#current
    this.#current = this.#generation(resources)
    await retired.retire()
  }

  close(): Promise<void> {
    return this.#current.retire()
  }

  #generation(resources: LoadedResources): Generation {
    // The dev log's first hop: the publish as the HTTP function (or a function's pubsub()) makes it.
    const api = (via: string) => {
      const clients = new PublishClients((component, topic, payload) => {
        const id = cloudEventId(payload)
        this.#trace.hop('published', { ...(id ? { id } : {}), topic, detail: `${via} -> ${component.name}` })
      })
      return { clients, handler: createPublishApi({ resources, appId: this.#appId, getClient: (component) => clients.get(component) }) }
    }
    const http = api('HTTP publish API')
    const functions = api('function pubsub()')
    const grpc = api('gRPC publish API')
    return {
      handler: http.handler,
      functionsHandler: functions.handler,
      grpcHandler: grpc.handler,
      retire: async () => {
        await Promise.all([http.clients.retire(), functions.clients.retire(), grpc.clients.retire()])
      },
    }
  }
}

export interface ReloaderOptions {
  trace: DevTrace
  /** Reads the resources folder again, already pointed at the dev broker; throws on bad resources. */
  load: () => Promise<LoadedResources>
  startForwarder: (resources: LoadedResources) => Promise<Forwarder>
  api: PublishApiSwitch
  /** What runs now. */
  forwarder: Forwarder
  resources: LoadedResources
}

/** The forwarder and the resources it runs on, replaced together by a reload; reloads run one at a time. */
export class DevReloader {
  readonly #options: ReloaderOptions
  #forwarder: Forwarder
  #resources: LoadedResources
  #chain: Promise<void> = Promise.resolve()

  constructor(options: ReloaderOptions) {
    this.#options = options
    this.#forwarder = options.forwarder
    this.#resources = options.resources
  }

  get forwarder(): Forwarder {
    return this.#forwarder
  }

  get resources(): LoadedResources {
    return this.#resources
  }

  /** Queues a reload after the ones already queued; resolves when it is done (never rejects). */
  reload(): Promise<void> {
    this.#chain = this.#chain.then(() => this.#reload()).catch((error: unknown) => {
      // Even the fallback failed: say so, and keep the chain usable for the next edit and for Ctrl-C.
      this.#options.trace.info(`reload failed and the previous resources could not be restarted: ${(error as Error).message}; fix the resources and save again`)
    })
    return this.#chain
  }

  /** Waits for the queued reloads, then stops the forwarder (intake first, then drain). */
  async stop(): Promise<StopReport> {
    await this.#chain
    return this.#forwarder.stop()
  }

  async #reload(): Promise<void> {
    const { trace, load, startForwarder, api } = this.#options
    let next: LoadedResources
    try {
      next = await load()
    } catch (error) {
      if (error instanceof ResourceError) trace.info(`resources changed but are invalid; keeping the running ones:\n${error.message}`)
      else trace.info(`resources changed but could not be loaded: ${(error as Error).message}`)
      return
    }
    await this.#forwarder.stop()
    try {
      this.#forwarder = await startForwarder(next)
    } catch (error) {
      trace.info(`reload failed: ${(error as Error).message}; restarting with the previous resources`)
      this.#forwarder = await startForwarder(this.#resources)
      return
    }
    this.#resources = next
    await api.switchTo(next)
    await this.#forwarder.ready
    trace.info(`resources reloaded: ${this.#forwarder.subscriptions.map((s) => `${s.pubsubname}:${s.topic}`).join(', ') || 'no subscriptions'}`)
  }
}

export interface FolderWatch {
  /** Stops watching; a reload already due is not started. */
  close(): void
}

/**
 * Watches the resources folder (a burst of changes calls `onResourcesChange` once) and the
 * functions folder (a change is only reported: the function host picks it up by itself).
 */
export function watchFolders(options: { trace: DevTrace; resourcesPath: string; functionsPath: string; onResourcesChange: () => void }): FolderWatch {
  const { trace } = options
  const watchers: FSWatcher[] = []
  let timer: NodeJS.Timeout | undefined
  try {
    watchers.push(
      watch(options.resourcesPath, () => {
        clearTimeout(timer)
        timer = setTimeout(options.onResourcesChange, DEBOUNCE_MS)
      }),
    )
  } catch {
    trace.info(`warning: cannot watch ${options.resourcesPath}; restart to pick up changes`)
  }
  try {
    watchers.push(
      watch(options.functionsPath, (_event, file) => {
        if (file) trace.info(`functions: ${String(file)} changed; the next call runs the new code`)
      }),
    )
  } catch {
    // No functions folder: nothing to reload.
  }
  return {
    close() {
      clearTimeout(timer)
      for (const w of watchers) w.close()
    },
  }
}
