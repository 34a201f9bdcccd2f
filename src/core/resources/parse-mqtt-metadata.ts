import { ResourceError, type ResourceLocation } from '../errors.js'
import type { ResolvedItem } from './field-reader.js'
import { readMetadataList } from './metadata-list.js'
import { decodeMqttMetadata, type DecodedMqttMetadata } from './mqtt-metadata.js'
import { ProblemSink } from './problems.js'
import { registerSensitiveValues } from './redact.js'
import { templateContext } from './template.js'
import { isRecord } from './values.js'

export interface ParseMqttMetadataOptions {
  /** Fills `{appID}` and the generated consumerID; default env `APP_ID`, else `app`. */
  appId?: string
  /** For template tags; default process.env. */
  env?: Record<string, string | undefined>
  /** How problems name the source; default `(metadata): document 1 (Component/inline)`. */
  location?: ResourceLocation
  type?: 'pubsub.mqtt' | 'pubsub.mqtt3'
}

export interface ParsedMqttMetadata extends DecodedMqttMetadata {
  warnings: string[]
}

/**
 * Parses one component's metadata outside a resources folder (CLI flags, a function's
 * inline config). `metadata` is a Dapr list (`[{name, value}]`) or a plain map
 * (`{url: '...', qos: 1}`). A `secretKeyRef` is an error here: there is no secret store
 * without resources. Throws ResourceError listing every problem.
 */
export function parseMqttMetadata(metadata: unknown, options: ParseMqttMetadataOptions = {}): ParsedMqttMetadata {
  const sink = new ProblemSink()
  const reporter = sink.at(options.location ?? { file: '(metadata)', document: 1, kind: 'Component', name: 'inline' })
  const list = isRecord(metadata) ? Object.entries(metadata).map(([name, value]) => ({ name, value })) : metadata
  const items = readMetadataList(list, reporter)
  const resolved: ResolvedItem[] = []
  for (const item of items) {
    if (item.secretKeyRef) {
      reporter.error(item.path, 'secretKeyRef needs a secret store; load the component with loadResources')
      continue
    }
    resolved.push({ name: item.name, path: item.path, value: item.value ?? '', fromSecret: false })
  }
  const ctx = templateContext(options.appId, options.env ?? process.env)
  const decoded = decodeMqttMetadata(resolved, reporter, ctx, options.type ?? 'pubsub.mqtt')
  if (sink.problems.length > 0) throw new ResourceError(sink.problems)
  registerSensitiveValues(decoded.sensitiveValues)
  return { ...decoded, warnings: sink.warnings }
}
