/**
 * A route names its target by form: a path on the app (`/orders`, joined to --app-url),
 * `http(s)://...`, `lambda:NAME_OR_ARN` or `azqueue:QUEUE`. Anything else with a scheme is a
 * start-up error. Targets are shared: one per distinct route across all subscriptions.
 */
import type { Target } from '../types.js'
import { GrpcClients, grpcTarget } from './grpc.js'
import { appRouteUrl, HttpAgents, httpTarget, redactRoute } from './http.js'
import { LambdaClients, lambdaTarget } from './lambda.js'
import { isValidQueueName, queueConnectionString, queueTarget } from './queue.js'

export interface TargetContext {
  appUrl?: string
  /** daprd's `--app-protocol`: how a route path reaches the app. Default `http`. */
  appProtocol?: 'http' | 'grpc'
  env: Record<string, string | undefined>
  /** Keep-alive connections per HTTP origin: the forwarder's delivery concurrency (default 32). */
  connectionsPerOrigin?: number
}

export type Resolved = { ok: true; target: Target; check?: () => Promise<void> } | { ok: false; problem: string }

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/

export class TargetRegistry {
  readonly #targets = new Map<string, Resolved>()
  readonly #lambdaClients = new LambdaClients()
  readonly #httpAgents: HttpAgents
  /** The app's gRPC connections (also used for ListTopicSubscriptions). */
  readonly grpcClients = new GrpcClients()
  constructor(private readonly context: TargetContext) {
    this.#httpAgents = new HttpAgents(context.connectionsPerOrigin)
  }

  /** Releases the SDK clients and HTTP connections of this registry's targets. */
  destroy(): void {
    this.#lambdaClients.destroy()
    this.#httpAgents.destroy()
    this.grpcClients.destroy()
  }

  resolve(route: string): Resolved {
    const known = this.#targets.get(route)
    if (known) return known
    const resolved = this.#create(route)
    this.#targets.set(route, resolved)
    return resolved
  }

  all(): Target[] {
    return [...this.#targets.values()].flatMap((r) => (r.ok ? [r.target] : []))
  }

  /** The checks of the targets in use (e.g. a Lambda client without a region). */
  checks(): { route: string; check: () => Promise<void> }[] {
    return [...this.#targets.entries()].flatMap(([route, r]) => (r.ok && r.check ? [{ route: redactRoute(route), check: r.check }] : []))
  }

  #create(route: string): Resolved {
    const trimmed = route.trim()
    if (trimmed === '') return { ok: false, problem: 'empty route' }
    const scheme = SCHEME.exec(trimmed)?.[1]?.toLowerCase()
    if (scheme === undefined) {
      if (!this.context.appUrl) {
        return { ok: false, problem: `route ${JSON.stringify(redactRoute(route))} is a path on the app, but no --app-url was given` }
      }
      if (this.context.appProtocol === 'grpc') return { ok: true, target: grpcTarget(this.context.appUrl, trimmed, this.grpcClients) }
      return { ok: true, target: httpTarget(appRouteUrl(this.context.appUrl, trimmed), this.#httpAgents) }
    }
    const rest = trimmed.slice(scheme.length + 1)
    switch (scheme) {
      case 'http':
      case 'https': {
        try {
          new URL(trimmed)
        } catch {
          return { ok: false, problem: `not a valid URL: ${JSON.stringify(redactRoute(route))}` }
        }
        return { ok: true, target: httpTarget(trimmed, this.#httpAgents) }
      }
      case 'lambda': {
        if (rest === '') return { ok: false, problem: 'lambda: needs a function name or ARN (lambda:NAME_OR_ARN)' }
        const target = lambdaTarget(rest, this.#lambdaClients)
        return { ok: true, target, check: () => target.check() }
      }
      case 'azqueue': {
        if (!isValidQueueName(rest)) {
          return { ok: false, problem: `azqueue: ${JSON.stringify(rest)} is not a valid queue name (3-63 of a-z, 0-9, inner single hyphens)` }
        }
        const connectionString = queueConnectionString(this.context.env)
        if (!connectionString) {
          return { ok: false, problem: `route ${JSON.stringify(redactRoute(route))} needs AZURE_STORAGE_CONNECTION_STRING or AzureWebJobsStorage in the environment` }
        }
        return { ok: true, target: queueTarget(rest, connectionString) }
      }
      default:
        return { ok: false, problem: `unknown target scheme "${scheme}:" in ${JSON.stringify(redactRoute(route))} (expected a path, http(s)://, lambda: or azqueue:)` }
    }
  }
}
