// What a queue message publishes, decided before any broker work: topic, content type, envelope.
// The components come from real YAML through the real loader.
import { beforeAll, describe, expect, it } from 'vitest'
import type { PubsubComponent } from '../../../src/core/resources/types.js'
import { parseGoBool } from '../../../src/core/envelope/index.js'
import { planRelay, RelayError, relayMessage, type QueueMessage } from '../../../src/function-runtime/relay.js'
import { loadPubsubs } from '../../helpers/http.js'

let pubsub: PubsubComponent
let scoped: PubsubComponent

beforeAll(async () => {
  const loaded = await loadPubsubs(
    [
      { name: 'pubsub', url: 'mqtt://127.0.0.1:1' },
      { name: 'scoped', url: 'mqtt://127.0.0.1:1', metadata: { allowedTopics: 'orders/a,orders/b' } },
    ],
    'checkout',
  )
  pubsub = loaded.pubsubs.find((p) => p.name === 'pubsub') as PubsubComponent
  scoped = loaded.pubsubs.find((p) => p.name === 'scoped') as PubsubComponent
})

const target = (defaultTopic?: string) => ({ pubsub, appId: 'checkout', ...(defaultTopic ? { defaultTopic } : {}) })
const plan = (message: Omit<QueueMessage, 'id'>, defaultTopic?: string) => planRelay({ id: 'm-1', ...message }, target(defaultTopic))
const envelope = (payload: Buffer): Record<string, unknown> => JSON.parse(payload.toString()) as Record<string, unknown>
const ce = (extra: Record<string, unknown> = {}) => ({ specversion: '1.0', id: 'e1', source: 's', type: 't', ...extra })

function relayError(fn: () => unknown): RelayError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(RelayError)
    return error as RelayError
  }
  throw new Error('expected a RelayError')
}

describe('topic', () => {
  it('a CloudEvent body names it first, then the topic attribute, then the default topic', () => {
    expect(plan({ body: JSON.stringify(ce({ topic: 'from/ce' })), attributes: { topic: 'from/attr' } }, 'from/default').topic).toBe('from/ce')
    expect(plan({ body: JSON.stringify(ce()), attributes: { topic: 'from/attr' } }, 'from/default').topic).toBe('from/attr')
    expect(plan({ body: 'x', attributes: { topic: 'from/attr' } }, 'from/default').topic).toBe('from/attr')
    expect(plan({ body: 'x' }, 'from/default').topic).toBe('from/default')
  })

  it('no topic anywhere is a failed message, with a message that says where to set one', () => {
    const error = relayError(() => plan({ body: 'x' }))
    expect(error.code).toBe('ERR_TOPIC_NAME_EMPTY')
    expect(error.message).toMatch(/message "m-1": no topic.*MQTTFN_TOPIC/)
  })

  it('a present but invalid topic fails, and is never replaced by the default', () => {
    for (const body of [JSON.stringify(ce({ topic: 'a/+' })), JSON.stringify(ce({ topic: '' })), JSON.stringify(ce({ topic: 7 })), JSON.stringify(ce({ topic: null }))]) {
      relayError(() => plan({ body }, 'fallback'))
    }
    for (const topic of ['a/#', '+', '', 'a\u0000b']) relayError(() => plan({ body: 'x', attributes: { topic } }, 'fallback'))
    expect(relayError(() => plan({ body: 'x' }, 'bad/#')).code).toBe('ERR_TOPIC_INVALID')
  })

  it('allowedTopics / publishingScopes of the component apply as on the HTTP API', () => {
    expect(planRelay({ id: 'm', body: 'x', attributes: { topic: 'orders/a' } }, { pubsub: scoped }).topic).toBe('orders/a')
    expect(relayError(() => planRelay({ id: 'm', body: 'x', attributes: { topic: 'orders/c' } }, { pubsub: scoped })).code).toBe('ERR_PUBSUB_FORBIDDEN')
  })
})

describe('payload', () => {
  it('JSON text is wrapped as application/json, with data embedded', () => {
    const e = envelope(plan({ body: '{"a":[1,2]}', attributes: { topic: 't' } }).payload)
    expect(e).toMatchObject({ data: { a: [1, 2] }, datacontenttype: 'application/json', topic: 't', pubsubname: 'pubsub', source: 'checkout' })
  })

  it('other text is text/plain; the contentType attribute wins', () => {
    expect(envelope(plan({ body: 'hello', attributes: { topic: 't' } }).payload)).toMatchObject({ data: 'hello', datacontenttype: 'text/plain' })
    expect(envelope(plan({ body: '{"a":1}', attributes: { topic: 't', contentType: 'text/csv' } }).payload)).toMatchObject({
      data: '{"a":1}',
      datacontenttype: 'text/csv',
    })
  })

  it('a CloudEvent passes through with topic and pubsubname set; an explicit non-CE content type wraps it instead', () => {
    const passed = envelope(plan({ body: JSON.stringify(ce({ topic: 'x/y', pubsubname: 'other', data: 1 })) }).payload)
    expect(passed).toMatchObject({ id: 'e1', source: 's', type: 't', topic: 'x/y', pubsubname: 'pubsub', data: 1 })
    const wrapped = envelope(plan({ body: JSON.stringify(ce({ topic: 'x/y' })), attributes: { topic: 'w', contentType: 'application/json' } }).payload)
    expect(wrapped).toMatchObject({ topic: 'w', datacontenttype: 'application/json', data: { specversion: '1.0', id: 'e1', topic: 'x/y' } })
  })

  it('rawPayload true sends the bytes unchanged; Go ParseBool words only', () => {
    const raw = plan({ body: '{"a":1}', attributes: { topic: 't', rawPayload: 'True' } })
    expect(raw.raw).toBe(true)
    expect(raw.payload.toString()).toBe('{"a":1}')
    expect(plan({ body: 'x', attributes: { topic: 't', rawPayload: '0' } }).raw).toBe(false)
    expect(relayError(() => plan({ body: 'x', attributes: { topic: 't', rawPayload: 'yes' } })).code).toBe('ERR_PUBSUB_REQUEST_METADATA')
    expect([parseGoBool('1'), parseGoBool('t'), parseGoBool('FALSE'), parseGoBool('tRuE')]).toEqual([true, true, false, undefined])
  })

  it('values decoded by the Azure host: objects and numbers are JSON, bytes that are not UTF-8 are octet-stream', () => {
    expect(envelope(plan({ body: { a: 1 } }, 't').payload)).toMatchObject({ data: { a: 1 }, datacontenttype: 'application/json' })
    expect(envelope(plan({ body: 42 }, 't').payload)).toMatchObject({ data: 42, datacontenttype: 'application/json' })
    expect(envelope(plan({ body: null }, 't').payload)).toMatchObject({ datacontenttype: 'application/json' })
    const bytes = Buffer.from([0xff, 0xfe, 0])
    expect(envelope(plan({ body: bytes }, 't').payload)).toMatchObject({ data_base64: bytes.toString('base64'), datacontenttype: 'application/octet-stream' })
    expect(envelope(plan({ body: Buffer.from('{"u":1}') }, 't').payload)).toMatchObject({ data: { u: 1 } })
  })

  it('no body, or one that cannot be serialized, fails the message', () => {
    relayError(() => plan({ body: undefined }, 't'))
    relayError(() => plan({ body: 10n }, 't'))
    const circular: Record<string, unknown> = {}
    circular['self'] = circular
    relayError(() => plan({ body: circular }, 't'))
  })
})

describe('relayMessage', () => {
  it('publishes the plan; a publish failure becomes a RelayError that keeps the code and retriable flag', async () => {
    const calls: [string, string][] = []
    await relayMessage({ id: 'ok', body: 'x', attributes: { topic: 'a/b' } }, {
      ...target(),
      publisher: { publish: async (topic, payload) => void calls.push([topic, payload.toString()]) },
    })
    expect(calls).toHaveLength(1)
    expect(calls[0]?.[0]).toBe('a/b')

    const failing = { ...target(), publisher: { publish: async () => Promise.reject(new Error('socket closed')) } }
    const error = await relayMessage({ id: 'bad', body: 'x', attributes: { topic: 'a/b' } }, failing).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RelayError)
    expect((error as RelayError).message).toBe('message "bad": socket closed')
    expect((error as RelayError).retriable).toBe(true)
    expect((error as RelayError).code).toBe('ERR_PUBSUB_PUBLISH_MESSAGE')
  })
})
