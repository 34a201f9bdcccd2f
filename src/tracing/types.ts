/**
 * The tracing facade the rest of mqtt-fn codes against. It is types only: a module that imports
 * it pulls in no OpenTelemetry code. `otel.ts` implements it with the OpenTelemetry SDK and is
 * loaded (dynamic import) only when a Configuration turns tracing on, so that without one the
 * hot paths test one `undefined` and function bundles carry no SDK.
 */

export type SpanKind = 'server' | 'client' | 'producer' | 'consumer' | 'internal'

export type AttributeValue = string | number | boolean

export type Attributes = Record<string, AttributeValue | undefined>

export interface SpanOptions {
  kind: SpanKind
  /**
   * The parent: a span of this process, or a W3C `traceparent` from the wire (a header, the
   * CloudEvent's `traceparent`). An invalid or missing one starts a new trace.
   */
  parent?: Span | string | undefined
  /** W3C `tracestate` that goes with a `traceparent` parent. */
  tracestate?: string | undefined
  attributes?: Attributes
}

export interface Span {
  /** This span's context as a W3C traceparent (`00-trace-span-flags`): what goes on the wire as its child's parent. */
  readonly traceparent: string
  /** The tracestate carried along, or "". */
  readonly tracestate: string
  /** The 32 hex digits of the trace. */
  readonly traceId: string
  setAttribute(key: string, value: AttributeValue): void
  addEvent(name: string, attributes?: Attributes): void
  /** Marks the span failed (status ERROR) with a message; never holds payloads or secrets. */
  fail(message: string): void
  /** Ends the span; later calls do nothing. */
  end(): void
}

export interface Tracer {
  startSpan(name: string, options: SpanOptions): Span
  /** Exports every ended span now (a function calls it before its invocation returns). Bounded; never rejects. */
  flush(): Promise<void>
  /** Flushes and stops exporting. Bounded; never rejects. */
  shutdown(): Promise<void>
}
