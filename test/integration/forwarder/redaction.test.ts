/**
 * Issue 17 item 3: credentials in a route (or the app URL) reach the target as Basic auth and
 * appear in no log line, at start-up, on delivery, on failure or in a start-up error.
 */
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startForwarder } from '../../../src/forwarder/index.js'
import { createLogger } from '../../../src/forwarder/logger.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { cloudEvent, componentYaml, eventId, mqttClient, resourceDir, startApp, waitFor, type TestApp } from '../../helpers/forwarder.js'

const SECRET = 's3cr3tPASS'
let broker: EmbeddedBroker
let app: TestApp

beforeAll(async () => {
  broker = await startEmbeddedBroker()
  app = await startApp((req) => {
    if (req.path === '/dapr/subscribe') return { status: 404 }
    if (req.path === '/fails') return { status: 500 }
    return { body: { status: 'SUCCESS' } }
  })
})
afterAll(async () => {
  await app?.close()
  await broker?.close()
})

function capture(): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = []
  const logger = createLogger('debug', new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }))
  return { logger, lines }
}

const subscription = (route: string, topic: string) => `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: creds
spec:
  pubsubname: mqtt
  topic: ${topic}/#
  routes:
    rules:
      - match: event.type == "fail"
        path: http://appuser:${SECRET}@127.0.0.1:${app.port}/fails
    default: ${route}
`

describe('route credentials', () => {
  it('reach the app as Basic auth and never a log line (start-up, delivery, failed delivery)', async () => {
    const dir = await resourceDir()
    await dir.write('pubsub.yaml', componentYaml({ url: broker.url }))
    await dir.write('subs.yaml', subscription(`http://appuser:${SECRET}@127.0.0.1:${app.port}/cr`, 'creds'))
    const { logger, lines } = capture()
    const forwarder = await startForwarder({
      resourcesPath: dir.dir,
      appUrl: `http://appuser:${SECRET}@127.0.0.1:${app.port}`,
      port: 0,
      logger,
      processMetrics: false,
      retryPolicy: { policy: 'constant', maxRetries: 1, initialIntervalMs: 1, maxIntervalMs: 1, multiplier: 1, randomizationFactor: 0 },
    })
    const publisher = await mqttClient(broker.url)
    try {
      await forwarder.ready
      await publisher.publishAsync('creds/1', cloudEvent('ok-1', {}, 'creds/1'), { qos: 1 })
      await publisher.publishAsync('creds/2', cloudEvent('fail-1', {}, 'creds/2', { type: 'fail' }), { qos: 1 })
      await waitFor(() => app.requests.some((r) => eventId(r) === 'ok-1'), 10_000, 'delivery')
      await waitFor(() => lines.some((l) => l.includes('delivery failed after the last retry')), 10_000, 'the failure line')
      const delivered = app.requests.find((r) => eventId(r) === 'ok-1')
      expect(delivered?.headers.authorization).toBe('Basic ' + Buffer.from(`appuser:${SECRET}`).toString('base64'))
      // /dapr/subscribe was read with the app URL's credentials too.
      expect(app.requests.find((r) => r.path === '/dapr/subscribe')?.headers.authorization).toContain('Basic ')
      expect(lines.some((l) => l.includes('"subscription"') && l.includes(`127.0.0.1:${app.port}/cr`))).toBe(true)
      expect(lines.filter((l) => l.includes(SECRET))).toEqual([])
      expect(await forwarder.metrics.text()).not.toContain(SECRET)
    } finally {
      await publisher.endAsync()
      await forwarder.stop()
      await dir.remove()
    }
  })

  it('a route that is not a valid URL: the start-up error names it without the password', async () => {
    const dir = await resourceDir()
    await dir.write('pubsub.yaml', componentYaml({ url: broker.url }))
    await dir.write('subs.yaml', subscription(`http://appuser:${SECRET}@127.0.0.1:notaport/cr`, 'bad'))
    const { logger, lines } = capture()
    const error = await startForwarder({ resourcesPath: dir.dir, port: false, logger, processMetrics: false }).then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    expect(error?.message).toContain('not a valid URL')
    expect(error?.message).toContain('127.0.0.1:notaport/cr')
    expect(error?.message).not.toContain(SECRET)
    expect(lines.filter((l) => l.includes(SECRET))).toEqual([])
    await dir.remove()
  })
})
