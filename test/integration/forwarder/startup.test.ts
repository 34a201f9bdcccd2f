/**
 * What the forwarder refuses at start (naming file, document and field), programmatic
 * subscriptions from the app's `GET /dapr/subscribe` (late app, @dapr/dapr's stringified
 * metadata, 404), and bulk subscriptions end to end. Broker: aedes in-process.
 */
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { ResourceError } from '../../../src/core/errors.js'
import { startForwarder } from '../../../src/forwarder/index.js'
import { createLogger } from '../../../src/forwarder/logger.js'
import {
  cloudEvent,
  collect,
  componentYaml,
  brokerSuite,
  publishAll,
  resourceDir,
  spawnForwarder,
  startApp,
  waitFor,
  type ResourceDir,
} from '../../helpers/forwarder.js'

const suite = brokerSuite('aedes')

async function dirWith(subscriptions: string): Promise<ResourceDir> {
  const dir = await resourceDir()
  suite.defer(() => dir.remove())
  await dir.write('pubsub.yaml', componentYaml({ url: suite.url, consumerID: `fwd-${Math.random().toString(36).slice(2, 8)}` }))
  if (subscriptions) await dir.write('subscriptions.yaml', subscriptions)
  return dir
}

const sub = (name: string, spec: string) => `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: ${name}
spec:
${spec}
`

async function startError(dir: ResourceDir, appUrl?: string): Promise<Error> {
  try {
    const f = await startForwarder({ resourcesPath: dir.dir, port: false, logLevel: 'silent', ...(appUrl ? { appUrl, appSubscribeTimeoutMs: 2000 } : {}) })
    await f.stop()
  } catch (error) {
    return error as Error
  }
  throw new Error('the forwarder started')
}

describe('refuses to start on bad input, naming file and field', () => {
  it('a CEL expression that does not parse', async () => {
    const dir = await dirWith(
      sub('bad-cel', '  pubsubname: mqtt\n  topic: a/#\n  routes:\n    rules:\n      - match: event.type ==\n        path: /a\n    default: /b'),
    )
    const error = await startError(dir, 'http://127.0.0.1:1')
    expect(error).toBeInstanceOf(ResourceError)
    expect(error.message).toContain(`${dir.dir}/subscriptions.yaml: document 1 (Subscription/bad-cel): spec.routes.rules[0].match: invalid CEL expression`)
  })

  it('an unknown target scheme, and a path without --app-url', async () => {
    const dir = await dirWith(
      sub('bad-target', '  pubsubname: mqtt\n  topic: a/#\n  routes:\n    rules:\n      - match: event.type == "x"\n        path: /x\n    default: ftp://files/in') +
        '---\n' +
        sub('bad-queue', '  pubsubname: mqtt\n  topic: b/#\n  routes:\n    default: azqueue:Not_Valid'),
    )
    const error = await startError(dir)
    expect(error.message).toContain('document 1 (Subscription/bad-target): spec.routes.default: unknown target scheme "ftp:"')
    expect(error.message).toContain('document 1 (Subscription/bad-target): spec.routes.rules[0].path: route "/x" is a path on the app, but no --app-url was given')
    expect(error.message).toContain('document 2 (Subscription/bad-queue): spec.routes.default: azqueue: "Not_Valid" is not a valid queue name')
  })

  it('a route to a pubsub that does not exist (CLI exit 1 and message)', async () => {
    const dir = await dirWith(sub('lost', '  pubsubname: nope\n  topic: a/#\n  routes:\n    default: https://example.invalid/a'))
    const child = spawnForwarder(['--resources-path', dir.dir, '--port', '0'])
    expect(await child.exited).toBe(1)
    expect(child.output()).toMatch(/subscriptions\.yaml: document 1 \(Subscription\/lost\): spec\.pubsubname: .*nope/)
  })

  it('an app subscription with a bad expression names the app endpoint and entry', async () => {
    const app = await startApp((req) =>
      req.path === '/dapr/subscribe'
        ? { body: [{ pubsubname: 'mqtt', topic: 'ok/#', route: '/ok' }, { pubsubname: 'mqtt', topic: 'c/#', routes: { rules: [{ match: 'event.(', path: '/c' }] } }] }
        : {},
    )
    suite.defer(() => app.close())
    const dir = await dirWith('')
    const error = await startError(dir, app.url)
    expect(error.message).toContain(`${app.url}/dapr/subscribe: document 2 (Subscription/mqtt/c/#): routes.rules[0].match: invalid CEL expression`)
  })
})

describe('programmatic subscriptions (GET /dapr/subscribe)', () => {
  it('waits for a late app, accepts stringified metadata, delivers raw payloads and dead letters', async () => {
    const dir = await dirWith('')
    // The app's port first holds a listener that drops every connection: the app "is not up
    // yet". The real app starts there only once the forwarder has tried, failed and tried again.
    const { createServer: createTcpServer } = await import('node:net')
    let tries = 0
    const notYet = createTcpServer((socket) => {
      tries++
      socket.destroy()
    })
    await new Promise<void>((resolve) => notYet.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(notYet.address() as { port: number }).port}`
    const starting = startForwarder({ resourcesPath: dir.dir, appUrl: url, port: false, logLevel: 'silent', appSubscribeTimeoutMs: 10_000 })
    await waitFor(() => tries >= 2, 10_000, 'two tries of /dapr/subscribe before the app is up')
    await new Promise((r) => notYet.close(r))
    const { createServer } = await import('node:http')
    const received: { path: string; body: string }[] = []
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (c: Buffer) => (body += c.toString()))
      req.on('end', () => {
        if (req.url === '/dapr/subscribe') {
          res.writeHead(200, { 'content-type': 'application/json' })
          res.end(
            JSON.stringify([
              { pubsubname: 'mqtt', topic: 'sensors/+', route: '/sensors', metadata: { rawPayload: '"true"' } },
              { pubsubname: 'mqtt', topic: 'cmds/#', routes: { rules: [{ match: 'event.data.ok == true', path: '/cmds' }], default: '/reject' }, deadLetterTopic: 'cmds-dead' },
              { pubsubname: 'mqtt', topic: 'ignored/#' },
            ]),
          )
          return
        }
        received.push({ path: req.url ?? '', body })
        res.writeHead(req.url === '/reject' ? 404 : 200)
        res.end()
      })
    })
    await new Promise<void>((resolve) => server.listen(Number(new URL(url).port), '127.0.0.1', resolve))
    suite.defer(() => new Promise((r) => server.close(r)))
    const forwarder = await starting
    suite.defer(() => forwarder.stop())
    await forwarder.ready
    expect(forwarder.subscriptions.map((s) => s.topic).sort()).toEqual(['cmds/#', 'sensors/+'])
    const dead = await collect(suite.url, 'cmds-dead')
    suite.defer(() => dead.close())

    await publishAll(suite.publisher, [
      { topic: 'sensors/s1', payload: 'raw bytes' },
      { topic: 'cmds/a', payload: cloudEvent('c-ok', { ok: true }, 'cmds/a') },
      { topic: 'cmds/b', payload: cloudEvent('c-no', { ok: false }, 'cmds/b') },
    ])
    await waitFor(() => received.length >= 3 && dead.messages.length >= 1, 10_000, 'three deliveries and a dead letter')
    const raw = JSON.parse(received.find((r) => r.path === '/sensors')!.body) as Record<string, string>
    expect(Buffer.from(raw.data_base64!, 'base64').toString()).toBe('raw bytes')
    expect(JSON.parse(received.find((r) => r.path === '/cmds')!.body).id).toBe('c-ok')
    expect(JSON.parse(dead.messages[0]!.payload.toString()).id).toBe('c-no')
  })

  it('404 on /dapr/subscribe means no programmatic subscriptions', async () => {
    const app = await startApp((req) => (req.path === '/dapr/subscribe' ? { status: 404 } : {}))
    suite.defer(() => app.close())
    const dir = await dirWith(sub('yaml-only', '  pubsubname: mqtt\n  topic: y/#\n  routes:\n    default: /y'))
    const forwarder = await startForwarder({ resourcesPath: dir.dir, appUrl: app.url, port: false, logLevel: 'silent' })
    suite.defer(() => forwarder.stop())
    expect(forwarder.subscriptions.map((s) => s.id)).toEqual(['yaml-only'])
  })
})

describe('bulk subscriptions', () => {
  it('delivers the bulk envelope and settles each entry by its own status', async () => {
    const answered = new Map<string, number>()
    const app = await startApp((req) => {
      if (req.path === '/dapr/subscribe') return { status: 404 }
      const envelope = req.json as { type: string; entries: { entryId: string; event: { id: string; data: { kind: string } } }[] }
      const statuses = envelope.entries.flatMap((entry) => {
        const n = (answered.get(entry.event.id) ?? 0) + 1
        answered.set(entry.event.id, n)
        const kind = entry.event.data.kind
        if (kind === 'drop') return [{ entryId: entry.entryId, status: 'DROP' }]
        if (kind === 'retry' && n === 1) return [{ entryId: entry.entryId, status: 'RETRY' }]
        if (kind === 'missing' && n === 1) return [] // no status: RETRY in bulk
        if (kind === 'empty' && n === 1) return [{ entryId: entry.entryId, status: '' }]
        return [{ entryId: entry.entryId, status: 'SUCCESS' }]
      })
      return { body: { statuses } }
    })
    suite.defer(() => app.close())
    const dir = await dirWith(
      sub(
        'bulk',
        '  pubsubname: mqtt\n  topic: bulk/#\n  deadLetterTopic: bulk-dead\n  bulkSubscribe:\n    enabled: true\n    maxMessagesCount: 10\n    maxAwaitDurationMs: 100\n  routes:\n    default: /bulk',
      ),
    )
    const dead = await collect(suite.url, 'bulk-dead')
    suite.defer(() => dead.close())
    const forwarder = await startForwarder({
      resourcesPath: dir.dir,
      appUrl: app.url,
      port: false,
      logLevel: 'silent',
      retryPolicy: { policy: 'constant', initialIntervalMs: 50, maxIntervalMs: 50, maxRetries: 3, multiplier: 1, randomizationFactor: 0 },
    })
    suite.defer(() => forwarder.stop())
    await forwarder.ready
    const kinds = ['ok', 'retry', 'missing', 'empty', 'drop']
    const items = Array.from({ length: 25 }, (_, i) => ({ id: `b-${i}`, kind: kinds[i % kinds.length]! }))
    await publishAll(suite.publisher, items.map((it) => ({ topic: 'bulk/x', payload: cloudEvent(it.id, { kind: it.kind }, 'bulk/x') })))
    await waitFor(async () => (await forwarder.metrics.total('delivered')) === 20 && dead.messages.length === 5, 10_000, 'settled')

    const first = app.requests.find((r) => r.path === '/bulk')!
    expect(first.headers['content-type']).toBe('application/json')
    expect(first.json).toMatchObject({ type: 'com.dapr.event.sent.bulk', topic: 'bulk/#', pubsubname: 'mqtt', metadata: { pubsubName: 'mqtt' } })
    const entry = (first.json as { entries: Record<string, unknown>[] }).entries[0]!
    expect(entry).toMatchObject({ contentType: 'application/cloudevents+json', metadata: { retained: 'false' } })
    expect(app.requests.filter((r) => r.path === '/bulk').every((r) => (r.json as { entries: unknown[] }).entries.length <= 10)).toBe(true)
    expect(dead.messages.map((m) => JSON.parse(m.payload.toString()).id).sort()).toEqual(items.filter((i) => i.kind === 'drop').map((i) => i.id).sort())
    for (const it of items.filter((i) => i.kind !== 'drop' && i.kind !== 'ok')) expect(answered.get(it.id)).toBe(2)
    expect(await forwarder.metrics.total('unacked')).toBe(0)
  })
})

describe('Resiliency resources', () => {
  const resiliencyYaml = (name: string, scopes: string[] | undefined, retry: string) =>
    [
      'apiVersion: dapr.io/v1alpha1',
      'kind: Resiliency',
      'metadata:',
      `  name: ${name}`,
      ...(scopes ? ['scopes:', ...scopes.map((s) => `  - ${s}`)] : []),
      'spec:',
      '  policies:',
      '    retries:',
      `      DefaultPubsubComponentInboundRetryPolicy: ${retry}`,
      '',
    ].join('\n')

  it("a default policy sets the retries; one scoped to another app id is not applied, and says so", async () => {
    const attempts = new Map<string, number>()
    const app = await startApp((req) => {
      if (req.path === '/dapr/subscribe') return { status: 404 }
      const id = (req.json as { id?: string } | undefined)?.id ?? ''
      attempts.set(id, (attempts.get(id) ?? 0) + 1)
      return { status: 500 }
    })
    suite.defer(() => app.close())
    const dir = await dirWith(sub('flaky', '  pubsubname: mqtt\n  topic: flaky/#\n  routes:\n    default: /flaky\n  deadLetterTopic: flaky-dead'))
    // Applies to this app: 2 retries 10 ms apart, then the dead-letter topic.
    await dir.write('resiliency.yaml', resiliencyYaml('mine', ['shop'], '{ policy: constant, duration: 10ms, maxRetries: 2 }'))
    // Scoped elsewhere: would retry forever, and must not be used.
    await dir.write('other.yaml', resiliencyYaml('theirs', ['billing'], '{ policy: constant, duration: 10ms, maxRetries: -1 }'))
    const warnings: string[] = []
    const logger = createLogger('warn', new Writable({ write: (chunk: Buffer, _e, done) => (warnings.push(chunk.toString()), done()) }))
    const forwarder = await startForwarder({ resourcesPath: dir.dir, appId: 'shop', appUrl: app.url, port: false, logger })
    suite.defer(() => forwarder.stop())
    await forwarder.ready
    const dead = await collect(suite.url, 'flaky-dead')
    suite.defer(() => dead.close())
    await publishAll(suite.publisher, [{ topic: 'flaky/1', payload: cloudEvent('f-1', {}, 'flaky/1') }])
    await waitFor(() => dead.messages.length === 1, 10_000, 'the dead letter')
    expect(attempts.get('f-1')).toBe(3)
    expect(warnings.join('')).toContain('Resiliency/theirs is scoped to [\\"billing\\"], not to this app id \\"shop\\"')
  })
})

describe('Resiliency circuit breaker', () => {
  it('opens after the trip, keeps attempts off the app while open, half-opens after the timeout and closes on success', async () => {
    let healthy = false
    const seen: number[] = []
    const app = await startApp((req) => {
      if (req.path === '/dapr/subscribe') return { status: 404 }
      seen.push(Date.now())
      return healthy ? {} : { status: 500 }
    })
    suite.defer(() => app.close())
    const dir = await dirWith(sub('guarded', '  pubsubname: mqtt\n  topic: guarded/#\n  routes:\n    default: /guarded'))
    await dir.write(
      'resiliency.yaml',
      [
        'apiVersion: dapr.io/v1alpha1',
        'kind: Resiliency',
        'metadata:',
        '  name: guard',
        'spec:',
        '  policies:',
        '    retries:',
        '      often: { policy: constant, duration: 20ms, maxRetries: -1 }',
        '    circuitBreakers:',
        '      appCB: { maxRequests: 1, timeout: 1s, trip: "consecutiveFailures >= 3" }',
        '  targets:',
        '    components:',
        '      mqtt:',
        '        inbound: { retry: often, circuitBreaker: appCB }',
        '',
      ].join('\n'),
    )
    const forwarder = await startForwarder({ resourcesPath: dir.dir, appUrl: app.url, port: 0, host: '127.0.0.1', logLevel: 'silent' })
    suite.defer(() => forwarder.stop())
    await forwarder.ready
    const metric = async () => {
      const text = await (await fetch(`http://127.0.0.1:${forwarder.healthPort}/metrics`)).text()
      return /mqttfn_forwarder_circuit_state\{pubsub="mqtt"\} (\d)/.exec(text)?.[1]
    }
    expect(await metric()).toBe('0')
    await publishAll(suite.publisher, [{ topic: 'guarded/1', payload: cloudEvent('g-1', {}, 'guarded/1') }])
    await waitFor(() => seen.length >= 3, 5_000, 'three failed attempts')
    expect(await metric()).toBe('2')
    // Open for 1 s: retries every 20 ms are refused before they reach the app. The retry
    // counter shows them happen (a refused attempt is a failed one, and retried).
    const retriedAtTrip = await forwarder.metrics.total('retried')
    await waitFor(async () => (await forwarder.metrics.total('retried')) >= retriedAtTrip + 5, 5_000, 'five retries while open')
    expect(seen.length).toBe(3)
    // Half-open: one trial, which fails and opens it again; then the app recovers.
    await waitFor(() => seen.length >= 4, 5_000, 'the half-open trial')
    expect(seen[3]! - seen[2]!).toBeGreaterThanOrEqual(900)
    healthy = true
    await waitFor(() => seen.length >= 5, 5_000, 'the next trial')
    expect(seen[4]! - seen[3]!).toBeGreaterThanOrEqual(900)
    await waitFor(async () => (await forwarder.metrics.total('delivered')) === 1, 5_000, 'the delivery')
    expect(await metric()).toBe('0')
    expect(seen.length).toBe(5)
  })
})
