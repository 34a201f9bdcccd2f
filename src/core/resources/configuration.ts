/**
 * Dapr `Configuration` resources (dapr.io/v1alpha1), the part mqtt-fn acts on: `spec.tracing`,
 * read as daprd reads it (dapr/pkg/config/configuration.go `TracingSpec`). Other spec fields
 * (metrics, features, access control...) belong to daprd and are ignored.
 *
 * Which one applies: daprd takes the Configuration named by `--config`. Here the name comes from
 * `LoadOptions.config` (`--config NAME` on the CLI) or the environment's `MQTTFN_CONFIG`
 * (functions have no command line); without a name, the only Configuration of the folder
 * applies. A name that matches none, or several Configurations and no name, is a load error:
 * silently tracing with the wrong one (or not at all) is worse than refusing.
 */
import { readName } from './component.js'
import { got, type Reporter } from './problems.js'
import type { ConfigurationResource, TracingConfiguration } from './types.js'
import { isRecord, own, scalarToString } from './values.js'

/** The rate when `spec.tracing` has no `samplingRate`: daprd's documented default, "0.0001". */
export const DEFAULT_SAMPLING_RATE = 0.0001

export const OTEL_PROTOCOLS = ['http', 'grpc'] as const

const TRACING_KEYS = ['samplingRate', 'stdout', 'otel', 'zipkin']
const OTEL_KEYS = ['endpointAddress', 'isSecure', 'protocol']

/** Reads one Configuration document; problems go to `reporter` with the field's path. */
export function readConfiguration(
  value: Record<string, unknown>,
  reporter: Reporter,
  location: { file: string; document: number },
): ConfigurationResource | undefined {
  const name = readName(value, reporter)
  if (name === undefined) return undefined
  const apiVersion = scalarToString(own(value, 'apiVersion'))
  if (apiVersion !== undefined && apiVersion !== 'dapr.io/v1alpha1') {
    reporter.warn('apiVersion', `Configuration is dapr.io/v1alpha1${got(apiVersion, false)}; read as such`)
  }
  const resource: ConfigurationResource = { ...location, kind: 'Configuration', name }
  const spec = own(value, 'spec')
  if (spec === undefined || spec === null) return resource
  if (!isRecord(spec)) {
    reporter.error('spec', 'must be a mapping')
    return undefined
  }
  const tracing = own(spec, 'tracing')
  if (tracing === undefined || tracing === null) return resource
  const before = reporter.errorCount
  const parsed = readTracing(tracing, reporter)
  if (reporter.errorCount > before || parsed === undefined) return undefined
  resource.tracing = parsed
  return resource
}

function readTracing(tracing: unknown, reporter: Reporter): TracingConfiguration | undefined {
  if (!isRecord(tracing)) {
    reporter.error('spec.tracing', 'must be a mapping (samplingRate, stdout, otel, zipkin)')
    return undefined
  }
  for (const key of Object.keys(tracing)) {
    if (!TRACING_KEYS.includes(key)) reporter.warn(`spec.tracing.${key}`, `not a tracing field mqtt-fn knows (${TRACING_KEYS.join(', ')}); ignored`)
  }
  const result: TracingConfiguration = { samplingRate: samplingRate(own(tracing, 'samplingRate'), reporter), stdout: bool(own(tracing, 'stdout'), 'spec.tracing.stdout', reporter) }

  const otel = own(tracing, 'otel')
  if (otel !== undefined && otel !== null) {
    if (!isRecord(otel)) {
      reporter.error('spec.tracing.otel', 'must be a mapping (endpointAddress, isSecure, protocol)')
    } else {
      for (const key of Object.keys(otel)) {
        if (!OTEL_KEYS.includes(key)) reporter.warn(`spec.tracing.otel.${key}`, `not an otel field mqtt-fn knows (${OTEL_KEYS.join(', ')}); ignored`)
      }
      const endpointAddress = text(own(otel, 'endpointAddress'), 'spec.tracing.otel.endpointAddress', reporter)
      const isSecure = bool(own(otel, 'isSecure'), 'spec.tracing.otel.isSecure', reporter)
      const protocolText = text(own(otel, 'protocol'), 'spec.tracing.otel.protocol', reporter, false) ?? 'http'
      const protocol = protocolText.toLowerCase()
      if (!(OTEL_PROTOCOLS as readonly string[]).includes(protocol)) {
        reporter.error('spec.tracing.otel.protocol', `must be one of ${OTEL_PROTOCOLS.join(', ')}${got(protocolText, false)}`)
      } else if (endpointAddress !== undefined) {
        result.otel = { endpointAddress, isSecure, protocol: protocol as (typeof OTEL_PROTOCOLS)[number] }
      }
    }
  }

  const zipkin = own(tracing, 'zipkin')
  if (zipkin !== undefined && zipkin !== null) {
    if (!isRecord(zipkin)) {
      reporter.error('spec.tracing.zipkin', 'must be a mapping (endpointAddress)')
    } else {
      const endpointAddress = text(own(zipkin, 'endpointAddress'), 'spec.tracing.zipkin.endpointAddress', reporter)
      if (endpointAddress !== undefined) {
        if (!/^https?:\/\/[^/]/i.test(endpointAddress)) {
          reporter.error('spec.tracing.zipkin.endpointAddress', `must be a full http(s) URL such as http://localhost:9411/api/v2/spans${got(endpointAddress, false)}`)
        } else {
          result.zipkin = { endpointAddress }
        }
      }
    }
  }
  return result
}

/**
 * A string 0..1 (daprd parses it with strconv.ParseFloat); a YAML number is taken as written.
 * Stricter than daprd, which falls back to its default on a value it cannot parse: a typo here
 * would otherwise trace at a rate nobody chose.
 */
function samplingRate(value: unknown, reporter: Reporter): number {
  if (value === undefined || value === null) return DEFAULT_SAMPLING_RATE
  const field = 'spec.tracing.samplingRate'
  const raw = scalarToString(value)
  if (raw === undefined || typeof value === 'boolean') {
    reporter.error(field, 'must be a number from 0 to 1 as a string, e.g. "1" or "0.1"')
    return 0
  }
  const trimmed = raw.trim()
  const rate = trimmed === '' ? Number.NaN : Number(trimmed)
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
    reporter.error(field, `must be a number from 0 to 1${got(raw, false)}`)
    return 0
  }
  return rate
}

/** A bool as daprd's YAML decoding takes it: true/false, or the strings "true"/"false". */
function bool(value: unknown, field: string, reporter: Reporter): boolean {
  if (value === undefined || value === null) return false
  if (typeof value === 'boolean') return value
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true'
  reporter.error(field, `must be true or false${got(scalarToString(value) ?? typeof value, false)}`)
  return false
}

function text(value: unknown, field: string, reporter: Reporter, required = true): string | undefined {
  if (value === undefined || value === null || value === '') {
    if (required) reporter.error(field, 'is required')
    return undefined
  }
  if (typeof value !== 'string') {
    reporter.error(field, 'must be a string')
    return undefined
  }
  return value.trim()
}

/** True when the Configuration asks for spans at all: a rate above 0 and somewhere to send them. */
export function tracingEnabled(tracing: TracingConfiguration | undefined): tracing is TracingConfiguration {
  return tracing !== undefined && tracing.samplingRate > 0 && (tracing.stdout || tracing.otel !== undefined || tracing.zipkin !== undefined)
}

/**
 * The Configuration that applies (see the top of this file), or a problem text naming what to
 * set. `name` is `--config` / `MQTTFN_CONFIG`.
 */
export function selectConfiguration(
  configurations: readonly ConfigurationResource[],
  name: string | undefined,
): { configuration?: ConfigurationResource; problem?: string } {
  const names = configurations.map((c) => c.name)
  if (name !== undefined && name !== '') {
    const found = configurations.find((c) => c.name === name)
    if (found) return { configuration: found }
    return {
      problem: `no Configuration named ${JSON.stringify(name)} (--config / MQTTFN_CONFIG) in the resources` + (names.length > 0 ? ` (Configurations: ${names.join(', ')})` : ' (there is none)'),
    }
  }
  if (configurations.length <= 1) return configurations[0] ? { configuration: configurations[0] } : {}
  return { problem: `${configurations.length} Configuration resources (${names.join(', ')}): choose the one that applies with --config NAME or MQTTFN_CONFIG, as daprd's --config does` }
}
