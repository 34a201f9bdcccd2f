/**
 * A local OTLP/HTTP trace receiver (POST /v1/traces, JSON encoding, what
 * @opentelemetry/exporter-trace-otlp-http sends): the tracing backend of the tracing tests.
 * It decodes the export requests into flat spans; nothing of mqtt-fn is used to read them.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export type ReceivedKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer'

export interface ReceivedSpan {
  service: string
  name: string
  kind: ReceivedKind
  traceId: string
  spanId: string
  /** "" for a root span. */
  parentSpanId: string
  startNs: bigint
  attributes: Record<string, unknown>
  events: { name: string; attributes: Record<string, unknown> }[]
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: number
}

export interface OtlpReceiver {
  /** host:port, daprd's endpointAddress form. */
  address: string
  spans: ReceivedSpan[]
  /** Paths and content types of the requests received, for the assertions on the wire. */
  requests: { path: string; contentType: string }[]
  /** Resolves once `condition(spans)` holds, checked at every export; rejects after `timeoutMs`. */
  waitFor(condition: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

const KINDS: Record<number, ReceivedKind> = { 1: 'internal', 2: 'server', 3: 'client', 4: 'producer', 5: 'consumer' }

interface AnyValue {
  stringValue?: string
  intValue?: number | string
  doubleValue?: number
  boolValue?: boolean
}
interface KeyValue {
  key: string
  value?: AnyValue
}
interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  kind: number
  startTimeUnixNano: string | number
  attributes?: KeyValue[]
  events?: { name: string; attributes?: KeyValue[] }[]
  status?: { code?: number }
}
interface ExportRequest {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[]
}

/** OTLP JSON ids are hex; accept base64 too (the protobuf-JSON mapping), so the test reads either. */
function hexId(id: string | undefined, bytes: number): string {
  if (!id) return ''
  if (new RegExp(`^[0-9a-f]{${bytes * 2}}$`, 'i').test(id)) return id.toLowerCase()
  return Buffer.from(id, 'base64').toString('hex')
}

function value(v: AnyValue | undefined): unknown {
  if (!v) return undefined
  if (v.stringValue !== undefined) return v.stringValue
  if (v.intValue !== undefined) return Number(v.intValue)
  if (v.doubleValue !== undefined) return v.doubleValue
  return v.boolValue
}

function attributes(list: KeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]))
}

export function decodeExport(body: ExportRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = []
  for (const rs of body.resourceSpans ?? []) {
    const service = String(attributes(rs.resource?.attributes)['service.name'] ?? '')
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          service,
          name: s.name,
          kind: KINDS[s.kind] ?? 'internal',
          traceId: hexId(s.traceId, 16),
          spanId: hexId(s.spanId, 8),
          parentSpanId: hexId(s.parentSpanId, 8),
          startNs: BigInt(s.startTimeUnixNano),
          attributes: attributes(s.attributes),
          events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attributes(e.attributes) })),
          status: s.status?.code ?? 0,
        })
      }
    }
  }
  return out
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = []
  const requests: { path: string; contentType: string }[] = []
  const waiters = new Set<() => void>()
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      requests.push({ path: req.url ?? '', contentType: String(req.headers['content-type'] ?? '') })
      if (req.method !== 'POST' || req.url !== '/v1/traces' || !String(req.headers['content-type']).startsWith('application/json')) {
        res.writeHead(415).end()
        return
      }
      spans.push(...decodeExport(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest))
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
      for (const w of waiters) w()
    })
  })
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve))
  const { port } = server.address() as AddressInfo
  return {
    address: `127.0.0.1:${port}`,
    spans,
    requests,
    waitFor(condition, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!condition(spans)) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve()
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`OTLP receiver: condition not met within ${timeoutMs} ms; spans: ${spans.map((s) => `${s.service}/${s.kind}/${s.name}`).join(', ')}`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** A tracing Configuration that sends every span to `receiver` over OTLP/HTTP. */
export function tracingConfigurationYaml(receiver: Pick<OtlpReceiver, 'address'>, name = 'tracing', samplingRate = '1'): string {
  return [
    'apiVersion: dapr.io/v1alpha1',
    'kind: Configuration',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  tracing:',
    `    samplingRate: "${samplingRate}"`,
    '    otel:',
    `      endpointAddress: "${receiver.address}"`,
    '      isSecure: false',
    '      protocol: http',
    '',
  ].join('\n')
}
