import { readFile } from 'node:fs/promises'
import { MqttFnError } from '../core/errors.js'
import { buildPublishPayload, parseGoBool } from '../core/envelope/index.js'
import { PubsubClient } from '../core/pubsub/index.js'
import { mqtt5PublishOptions } from '../core/pubsub/publish-properties.js'
import { validatePublishTopic } from '../core/topics/index.js'
import { commonOptions, helpText, parse } from './args.js'
import { loadWithWarnings, pickPubsub } from './resources.js'

const options = {
  ...commonOptions,
  pubsub: { type: 'string' },
  topic: { type: 'string' },
  data: { type: 'string' },
  'data-file': { type: 'string' },
  'content-type': { type: 'string' },
  raw: { type: 'boolean', default: false },
  retain: { type: 'boolean', default: false },
  metadata: { type: 'string', multiple: true, short: 'm' },
} as const

/** `key=value` pairs as Dapr's `metadata.*` query parameters would give them. */
export function parseMetadataPairs(pairs: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new MqttFnError('ERR_USAGE', `--metadata: expected key=value, got ${JSON.stringify(pair)}`)
    out[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return out
}

function looksLikeJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

export async function publish(argv: string[]): Promise<number> {
  const { values } = parse(argv, options)
  if (values.help) {
    console.log(
      helpText('publish', '--topic T [--pubsub NAME] (--data TEXT | --data-file F) [--content-type CT] [--raw] [--retain] [-m key=value]...', options) +
        '\n\nWithout --content-type, data that parses as JSON is sent as application/json (as `dapr publish` does), else text/plain.',
    )
    return 0
  }
  const dir = values['resources-path']
  if (!values.topic) throw new MqttFnError('ERR_USAGE', '--topic is required')
  const topic = values.topic
  validatePublishTopic(topic)
  if (values.data !== undefined && values['data-file'] !== undefined) {
    throw new MqttFnError('ERR_USAGE', 'give --data or --data-file, not both')
  }
  const data = values['data-file'] !== undefined ? await readFile(values['data-file']) : Buffer.from(values.data ?? '')
  const metadata = parseMetadataPairs(values.metadata)
  if (values.raw) metadata.rawPayload = 'true'
  if (values.retain) metadata.retain = 'true'
  const contentType = values['content-type'] ?? (looksLikeJson(data.toString('utf8')) ? 'application/json' : 'text/plain')

  const resources = await loadWithWarnings(dir, values['app-id'])
  const component = pickPubsub(resources, values.pubsub, dir)
  const built = buildPublishPayload({
    pubsubName: component.name,
    topic,
    data,
    contentType,
    metadata,
    ...(values['app-id'] ? { appId: values['app-id'] } : {}),
  })
  const retain = metadata.retain === undefined ? undefined : parseGoBool(metadata.retain)
  if (metadata.retain !== undefined && retain === undefined) {
    throw new MqttFnError('ERR_PUBSUB_REQUEST_METADATA', `metadata retain: invalid boolean ${JSON.stringify(metadata.retain)}`)
  }
  // As the publish API: on MQTT 5, metadata other than Dapr's keys as user properties, the TTL as the expiry.
  const properties = mqtt5PublishOptions(metadata, built.raw ? contentType : 'application/cloudevents+json', component.metadata.protocolVersion)
  const client = new PubsubClient(component)
  try {
    await client.publish(topic, built.payload, retain === undefined ? properties : { ...properties, retain })
  } finally {
    await client.close()
  }
  const what = built.raw ? 'raw payload' : `CloudEvent ${String(built.event?.id ?? '')}`
  console.log(`published ${what} to ${topic} on ${component.name} (${component.metadata.url.redacted}, ${built.payload.length} bytes, qos ${component.metadata.qos})`)
  return 0
}
