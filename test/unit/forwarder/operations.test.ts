import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { PubsubComponent } from '../../../src/core/resources/types.js'
import { createLogger } from '../../../src/forwarder/logger.js'
import { lossWarnings } from '../../../src/forwarder/subscriber.js'
import type { ForwardSubscription } from '../../../src/forwarder/types.js'
import { mqttMetadata } from '../../helpers/factories.js'

function capture() {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>)
      cb()
    },
  })
  return { lines, stream }
}

describe('logs', () => {
  it('are JSON and redact credentials if a caller ever passes them', () => {
    const { lines, stream } = capture()
    const logger = createLogger('info', stream)
    logger.info({ url: { host: 'broker', password: 'hunter2' }, connectionString: 'AccountKey=abc', headers: { authorization: 'Bearer x' } }, 'hello')
    expect(lines[0]).toMatchObject({ msg: 'hello', url: { host: 'broker', password: '[redacted]' }, connectionString: '[redacted]', headers: { authorization: '[redacted]' } })
    expect(JSON.stringify(lines)).not.toMatch(/hunter2|AccountKey|Bearer/)
  })
})

describe('start-up warnings about possible loss', () => {
  const component = (md: Parameters<typeof mqttMetadata>[0]): PubsubComponent => ({
    kind: 'Component',
    name: 'mqtt',
    type: 'pubsub.mqtt3',
    metadata: mqttMetadata(md),
    runtime: {},
    scopes: [],
    raw: {},
    file: 'pubsub.yaml',
    document: 1,
  })
  const subs = [{ pubsubname: 'mqtt', topic: 'orders/#' }] as ForwardSubscription[]

  it('QoS 0 and clean sessions lose messages; a generated client id cannot resume its session', () => {
    expect(lossWarnings(component({ qos: 0, cleanSession: true }), subs).join('\n')).toMatch(/qos 0[\s\S]*cleanSession true/)
    expect(lossWarnings(component({ qos: 1, cleanSession: false }), subs)).toEqual([expect.stringContaining('no consumerID')])
    expect(lossWarnings(component({ qos: 1, cleanSession: false, consumerID: 'fwd-1' }), subs)).toEqual([])
    expect(lossWarnings(component({ qos: 0 }), [])).toEqual([])
  })
})
