import { decodeEvent } from '../core/envelope/index.js'
import { PubsubClient } from '../core/pubsub/index.js'
import type { IncomingMessage } from '../core/pubsub/types.js'
import { validateFilter } from '../core/topics/index.js'
import { MqttFnError } from '../core/errors.js'
import { commonOptions, helpText, parse } from './args.js'
import { loadWithWarnings, pickPubsub } from './resources.js'
import { untilSignal } from './signals.js'

const options = {
  ...commonOptions,
  pubsub: { type: 'string' },
  topic: { type: 'string' },
  count: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const

/** What one received message prints as: the event when the payload is one, else the text. */
export function describeMessage(message: IncomingMessage): Record<string, unknown> {
  const base = { topic: message.topic, qos: message.qos, retained: message.retained }
  try {
    return { ...base, event: decodeEvent(message.payload) }
  } catch {
    const text = message.payload.toString('utf8')
    const printable = Buffer.from(text, 'utf8').equals(message.payload)
    return printable ? { ...base, payload: text } : { ...base, payload_base64: message.payload.toString('base64') }
  }
}

export async function subscribe(argv: string[]): Promise<number> {
  const { values } = parse(argv, options)
  if (values.help) {
    console.log(helpText('subscribe', "--topic 'a/#' [--pubsub NAME] [--count N] [--json]", options))
    return 0
  }
  const dir = values['resources-path']
  if (!values.topic) throw new MqttFnError('ERR_USAGE', '--topic is required')
  const filter = values.topic
  validateFilter(filter)
  const limit = values.count === undefined ? Infinity : Number(values.count)
  if (!(limit > 0)) throw new MqttFnError('ERR_USAGE', `--count: expected a positive number, got ${JSON.stringify(values.count)}`)

  const resources = await loadWithWarnings(dir, values['app-id'])
  const component = pickPubsub(resources, values.pubsub, dir)
  const client = new PubsubClient(component)
  let seen = 0
  let finish: () => void = () => {}
  const enough = new Promise<void>((resolve) => (finish = resolve))
  await client.subscribe(filter, (message) => {
    if (seen >= limit) return
    seen += 1
    const described = describeMessage(message)
    if (values.json) console.log(JSON.stringify(described))
    else console.log(`${message.topic}  ${JSON.stringify(described.event ?? described.payload ?? described.payload_base64)}`)
    // Printed is handled: only now may the broker forget it.
    message.ack()
    if (seen >= limit) finish()
  })
  console.error(`subscribed to ${filter} on ${component.name} (${component.metadata.url.redacted}); Ctrl-C stops`)
  await Promise.race([enough, untilSignal()])
  await client.close()
  return 0
}
