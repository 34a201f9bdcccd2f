/**
 * Tracing, configured the Dapr way: a `Configuration` resource's `spec.tracing` (samplingRate,
 * otel, zipkin, stdout). Without one, or with `samplingRate: "0"`, `startTracing` resolves
 * undefined without importing any OpenTelemetry code, and every instrumented path tests that
 * one `undefined`.
 */
import { tracingEnabled } from '../core/resources/configuration.js'
import type { LoadedResources, TracingConfiguration } from '../core/resources/types.js'
import type { Tracer } from './types.js'

export type { Attributes, AttributeValue, Span, SpanKind, SpanOptions, Tracer } from './types.js'

export interface StartTracingOptions {
  /** `service.name`: the app id (daprd's choice), or what this process is. */
  serviceName: string
  /** `batch` for long-running processes (default), `simple` for functions (export at span end, flush before returning). */
  processor?: 'batch' | 'simple'
  flushTimeoutMs?: number
}

/** A Tracer for `config`, or undefined when it asks for no spans (no SDK is loaded then). */
export async function startTracing(config: TracingConfiguration | undefined, options: StartTracingOptions): Promise<Tracer | undefined> {
  if (!tracingEnabled(config)) return undefined
  // The one place the SDK is loaded; bundles put it in a chunk of its own (scripts/build.mjs).
  const { createOtelTracer } = await import('./otel.js')
  return createOtelTracer(config, options)
}

const perResources = new WeakMap<object, Promise<Tracer | undefined>>()

/**
 * The process's tracer for these resources (their applying Configuration): made once, on first
 * use, and shared by every warm invocation of a function. Never rejects: a tracer that cannot
 * start (a bad exporter setting) leaves the function untraced, with the reason logged once.
 */
export function tracerFor(resources: Pick<LoadedResources, 'configuration'>, options: StartTracingOptions): Promise<Tracer | undefined> {
  let tracer = perResources.get(resources)
  if (!tracer) {
    tracer = startTracing(resources.configuration?.tracing, options).catch((error: unknown) => {
      console.error(`mqtt-fn: tracing not started: ${error instanceof Error ? error.message : String(error)}`)
      return undefined
    })
    perResources.set(resources, tracer)
  }
  return tracer
}
