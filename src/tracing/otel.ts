/**
 * The Tracer facade on the OpenTelemetry SDK. Only `startTracing` (index.ts) imports this file,
 * dynamically, once a Configuration turns tracing on: nothing else may import it, or the SDK
 * would load (and be bundled into functions) for everyone.
 *
 * The provider is private to mqtt-fn (never registered as the global one), so a user's own
 * OpenTelemetry setup in the same process is left alone.
 */
import { createTraceState, ROOT_CONTEXT, SpanKind as OtelKind, SpanStatusCode, trace, type Context, type Span as OtelSpan } from '@opentelemetry/api'
import { resourceFromAttributes } from '@opentelemetry/resources'
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import type { TracingConfiguration } from '../core/resources/types.js'
import type { Attributes, Span, SpanKind, SpanOptions, Tracer } from './types.js'

const KINDS: Record<SpanKind, OtelKind> = {
  server: OtelKind.SERVER,
  client: OtelKind.CLIENT,
  producer: OtelKind.PRODUCER,
  consumer: OtelKind.CONSUMER,
  internal: OtelKind.INTERNAL,
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

export interface OtelTracerOptions {
  /** `service.name` of the spans: the app id, as daprd names its spans' service. */
  serviceName: string
  version?: string
  /** Functions export at once (a frozen Lambda sandbox sends nothing); long-running processes batch. */
  processor?: 'batch' | 'simple'
  /** Bound of flush and shutdown, ms. Default 5000. */
  flushTimeoutMs?: number
}

export async function createOtelTracer(config: TracingConfiguration, options: OtelTracerOptions): Promise<Tracer> {
  const exporters = await createExporters(config, options.serviceName)
  const spanProcessors: SpanProcessor[] = exporters.map((e) => (options.processor === 'simple' ? new SimpleSpanProcessor(e) : new BatchSpanProcessor(e)))
  // daprd samples as ParentBased(TraceIDRatioBased(rate)): a caller's sampled flag decides for its children.
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName, 'telemetry.sdk.name': 'opentelemetry', 'service.namespace': 'mqtt-fn' }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.samplingRate) }),
    spanProcessors,
  })
  const tracer = provider.getTracer('mqtt-fn', options.version)
  const timeoutMillis = options.flushTimeoutMs ?? 5000
  const bounded = (work: Promise<void>): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMillis)
      timer.unref()
      work.then(
        () => (clearTimeout(timer), resolve()),
        () => (clearTimeout(timer), resolve()),
      )
    })
  return {
    startSpan(name: string, spanOptions: SpanOptions): Span {
      const parent = parentContext(spanOptions)
      const inner = tracer.startSpan(name, { kind: KINDS[spanOptions.kind], ...(spanOptions.attributes ? { attributes: clean(spanOptions.attributes) } : {}) }, parent)
      return new SdkSpan(inner)
    },
    flush: () => bounded(provider.forceFlush({ timeoutMillis })),
    shutdown: () => bounded(provider.shutdown()),
  }
}

async function createExporters(config: TracingConfiguration, serviceName: string): Promise<SpanExporter[]> {
  const exporters: SpanExporter[] = []
  if (config.otel) {
    const { endpointAddress, isSecure, protocol } = config.otel
    const base = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpointAddress) ? endpointAddress.replace(/\/+$/, '') : `${isSecure ? 'https' : 'http'}://${endpointAddress}`
    if (protocol === 'grpc') {
      // Its own import: grpc-js loads only for an OTLP/gRPC endpoint.
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-grpc')
      exporters.push(new OTLPTraceExporter({ url: base }))
    } else {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http')
      // daprd's endpointAddress is host:port; OTLP/HTTP's traces path is /v1/traces. A URL with a path is taken as it is.
      const url = new URL(base).pathname === '/' ? `${base}/v1/traces` : base
      exporters.push(new OTLPTraceExporter({ url }))
    }
  }
  if (config.zipkin) {
    const { ZipkinExporter } = await import('@opentelemetry/exporter-zipkin')
    exporters.push(new ZipkinExporter({ url: config.zipkin.endpointAddress, serviceName }))
  }
  if (config.stdout) exporters.push(new ConsoleSpanExporter())
  return exporters
}

function parentContext(options: SpanOptions): Context {
  const parent = options.parent
  if (parent instanceof SdkSpan) return trace.setSpan(ROOT_CONTEXT, parent.inner)
  if (typeof parent !== 'string') return ROOT_CONTEXT
  const m = TRACEPARENT.exec(parent)
  if (!m || /^0+$/.test(m[1] as string) || /^0+$/.test(m[2] as string)) return ROOT_CONTEXT
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: m[1] as string,
    spanId: m[2] as string,
    traceFlags: Number.parseInt(m[3] as string, 16) & 1,
    isRemote: true,
    ...(options.tracestate ? { traceState: createTraceState(options.tracestate) } : {}),
  })
}

function clean(attributes: Attributes): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) out[key] = value
  return out
}

class SdkSpan implements Span {
  constructor(readonly inner: OtelSpan) {}

  get traceparent(): string {
    const c = this.inner.spanContext()
    return `00-${c.traceId}-${c.spanId}-${c.traceFlags & 1 ? '01' : '00'}`
  }

  get tracestate(): string {
    return this.inner.spanContext().traceState?.serialize() ?? ''
  }

  get traceId(): string {
    return this.inner.spanContext().traceId
  }

  setAttribute(key: string, value: string | number | boolean): void {
    this.inner.setAttribute(key, value)
  }

  addEvent(name: string, attributes?: Attributes): void {
    this.inner.addEvent(name, attributes ? clean(attributes) : undefined)
  }

  fail(message: string): void {
    this.inner.setStatus({ code: SpanStatusCode.ERROR, message })
  }

  end(): void {
    this.inner.end()
  }
}
