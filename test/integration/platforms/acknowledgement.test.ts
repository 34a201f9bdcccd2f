// What "published" means for a function: its answer comes after the broker's PUBACK, and one
// MQTT connection serves every warm invocation. aedes' authorizePublish hook holds or refuses
// the PUBLISH, so the broker itself decides when (and whether) the PUBACK leaves.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeAllPubsubClients } from '../../../src/core/pubsub/index.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { createHttpPublishHandler, createSqsRelayHandler } from '../../../src/platforms/aws/index.js'
import { createFunctionRuntime, settingsFromEnv } from '../../../src/function-runtime/index.js'
import { httpEventV2, lambdaContext, sqsEvent } from '../../../support/aws-events.js'
import { pubsubYaml } from '../../../support/component-yaml.js'

const HOLD_MS = 300

describe('acknowledgement and connection reuse (aedes)', () => {
  let broker: EmbeddedBroker
  let dir: string
  const accepted: string[] = []
  let connects = 0

  beforeAll(async () => {
    broker = await startEmbeddedBroker({
      aedes: {
        authorizePublish: (client, packet, callback) => {
          if (client === null) return callback(null)
          if (packet.topic.startsWith('refuse/')) return callback(new Error('not allowed'))
          // Holds the PUBLISH: the PUBACK leaves only after this.
          setTimeout(() => {
            accepted.push(packet.topic)
            callback(null)
          }, packet.topic.startsWith('slow/') ? HOLD_MS : 0)
        },
      },
    })
    broker.aedes.on('client', () => void connects++)
    dir = await mkdtemp(join(tmpdir(), 'mqttfn-ack-'))
    await writeFile(join(dir, 'pubsub.yaml'), pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1', publishTimeout: '1000', connectTimeout: '1000' } }))
  })

  afterAll(async () => {
    await closeAllPubsubClients()
    await broker?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const runtime = () =>
    createFunctionRuntime({ settings: settingsFromEnv({ MQTTFN_RESOURCES_PATH: dir, MQTTFN_TOPIC: 'relay/x' }, { bundleDir: '/x' }), logger: { error: () => {}, warn: () => {} } })

  it('HTTP answers 204 only after the broker acknowledged the publish', async () => {
    const handler = createHttpPublishHandler(runtime())
    const started = Date.now()
    const res = (await handler(httpEventV2({ url: '/v1.0/publish/pubsub/slow/http', body: 'x' }), lambdaContext())) as { statusCode: number }
    expect(res.statusCode).toBe(204)
    expect(Date.now() - started).toBeGreaterThanOrEqual(HOLD_MS - 10)
    expect(accepted).toContain('slow/http')
  })

  it('SQS reports success only after the PUBACK; a refused publish is a failed record, within the timeout', async () => {
    const reasons = new Map<string, unknown>()
    const handler = createSqsRelayHandler(runtime(), { logger: (reason, id) => void reasons.set(id, reason) })
    const started = Date.now()
    const res = await handler(
      sqsEvent([
        { body: 'a', attributes: { topic: 'slow/sqs' }, messageId: 'ok' },
        { body: 'b', attributes: { topic: 'refuse/sqs' }, messageId: 'refused' },
      ]),
      lambdaContext(),
    )
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'refused' }])
    expect(accepted).toContain('slow/sqs')
    expect(Date.now() - started).toBeGreaterThanOrEqual(HOLD_MS - 10)
    // "Within the timeout" is the path that answered: the configured publishTimeout (1000 ms)
    // ended the wait for a PUBACK that aedes never sends for a refused PUBLISH.
    expect(String(reasons.get('refused'))).toMatch(/refuse\/sqs": no PUBACK from mqtt:\/\/127\.0\.0\.1:\d+ within 1000 ms/)
  })

  it('warm invocations reuse one MQTT connection per component', async () => {
    const rt = runtime()
    const http = createHttpPublishHandler(rt)
    const sqs = createSqsRelayHandler(rt, { logger: false })
    const before = connects
    for (let i = 0; i < 3; i++) {
      expect(((await http(httpEventV2({ url: `/v1.0/publish/pubsub/warm/${i}`, body: 'x' }), lambdaContext())) as { statusCode: number }).statusCode).toBe(204)
      expect((await sqs(sqsEvent([{ body: 'x', attributes: { topic: `warm/q${i}` } }]), lambdaContext())).batchItemFailures).toEqual([])
    }
    expect(connects - before).toBeLessThanOrEqual(1)
    expect(broker.aedes.connectedClients).toBeGreaterThanOrEqual(1)
  })
})
