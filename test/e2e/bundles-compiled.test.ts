// The function bundles with their resources compiled in (scripts/build.mjs, #14 goal 5), built
// by the test from its own resources into a temporary folder and invoked in this process as
// Lambda invokes them: no YAML parser in the bundle, secrets and template tags resolved from the
// run-time environment, MQTTFN_RESOURCES_PATH still reading YAML, the WebSocket transport loaded
// from its chunk, and a bad resource failing the build and the function with the same words.
import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createWebSocketStream, WebSocketServer, type WebSocket } from 'ws'
import { loadResources } from '../../src/core/resources/index.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/local/broker.js'
import { httpEventV2, lambdaContext } from '../../support/aws-events.js'
import { pubsubYaml } from '../../support/component-yaml.js'
import { recordTopics, type Recorder } from '../helpers/mqtt-recorder.js'

const root = resolve(import.meta.dirname, '../..')
const run = promisify(execFile)

const USER = 'fn'
const PASSWORD = 'bundle-s3cret'

/** Variables the functions read; each test sets its own and they are put back after it. */
const ENV_KEYS = ['MQTTFN_RESOURCES_PATH', 'APP_ID', 'POD_NAME', 'BROKER_URL'] as const
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]))

let work: string
let broker: EmbeddedBroker
let wsServer: Server
let wsPort: number
const wsSockets = new Set<WebSocket>()
let recorder: Recorder
/** Client ids the broker accepted, in order. */
const clientIds: string[] = []

type Handler = (event: unknown, context: unknown) => Promise<{ statusCode: number; body?: string }>
interface BuildResult {
  code: number
  output: string
}

/**
 * `npm run build` of the http-publish function alone, from `resources` into `out`. The build's
 * environment has its own APP_ID and POD_NAME and no BROKER_URL: whatever the function resolves
 * from the environment must come from its own.
 */
async function build(resources: string, out: string, ...flags: string[]): Promise<BuildResult> {
  const env: Record<string, string | undefined> = { ...process.env, APP_ID: 'build-app', POD_NAME: 'build-pod' }
  delete env['BROKER_URL']
  delete env['MQTTFN_RESOURCES_PATH']
  return run(process.execPath, [join(root, 'scripts/build.mjs'), '--resources', resources, '--out', out, '--only', 'http-publish', ...flags], { cwd: root, env, timeout: 120_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({ code: error.code ?? 1, output: (error.stdout ?? '') + (error.stderr ?? '') }),
  )
}

let variant = 0
/** The bundle as a fresh module instance (a cold start) with `vars` in the environment it reads at load. */
async function handlerOf(bundleDir: string, vars: Partial<Record<(typeof ENV_KEYS)[number], string>>): Promise<Handler> {
  for (const k of ENV_KEYS) delete process.env[k]
  Object.assign(process.env, vars)
  const mod = (await import(`${pathToFileURL(join(bundleDir, 'index.mjs')).href}?variant=${++variant}`)) as { handler: Handler }
  return mod.handler
}

const publish = (handler: Handler, pubsub: string, topic: string, body: string) =>
  handler(httpEventV2({ url: `/v1.0/publish/${pubsub}/${topic}`, headers: { 'content-type': 'application/json' }, body }), lambdaContext())

async function folder(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(work, name)
  await mkdir(dir, { recursive: true })
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text)
  return dir
}

/** A secretstores.local.env store and a pubsub whose URL (with the password) is its secret BROKER_URL. */
const SECRET_RESOURCES = {
  'secrets.yaml': ['apiVersion: dapr.io/v1alpha1', 'kind: Component', 'metadata:', '  name: env', 'spec:', '  type: secretstores.local.env', '  version: v1', ''].join('\n'),
  'pubsub.yaml': [
    'apiVersion: dapr.io/v1alpha1',
    'kind: Component',
    'metadata:',
    '  name: pubsub',
    'spec:',
    '  type: pubsub.mqtt',
    '  version: v1',
    '  metadata:',
    '    - name: url',
    '      secretKeyRef: { name: BROKER_URL, key: BROKER_URL }',
    '    - name: qos',
    '      value: 1',
    '    - name: consumerID',
    '      value: "{appID}-{podName}"',
    '    - name: connectTimeout',
    '      value: "2000"',
    'auth:',
    '  secretStore: env',
    '',
  ].join('\n'),
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'mqttfn-compiled-'))
  broker = await startEmbeddedBroker({
    aedes: {
      authenticate: (client, username, password, done) => {
        const ok = username === USER && password?.toString() === PASSWORD
        if (ok) clientIds.push(client.id)
        done(null, ok)
      },
    },
  })
  // The same broker over WebSocket, for the ws:// component.
  const wss = new WebSocketServer({ noServer: true })
  wsServer = createServer((_req, res) => res.writeHead(404).end())
  wsServer.on('upgrade', (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) => {
      wsSockets.add(ws)
      ws.on('close', () => wsSockets.delete(ws))
      broker.aedes.handle(createWebSocketStream(ws) as never)
    }),
  )
  await new Promise<void>((done) => wsServer.listen(0, '127.0.0.1', done))
  wsPort = (wsServer.address() as AddressInfo).port
  recorder = await recordTopics(`mqtt://${USER}:${PASSWORD}@127.0.0.1:${broker.port}`, 'compiled/#')
})

afterEach(() => {
  vi.restoreAllMocks()
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
})

afterAll(async () => {
  await recorder?.close()
  for (const ws of wsSockets) ws.terminate()
  await new Promise<void>((done) => (wsServer ? wsServer.close(() => done()) : done()))
  await broker?.close()
  await rm(work, { recursive: true, force: true })
})

describe('a function bundle with its resources compiled in', () => {
  let bundle: string
  beforeAll(async () => {
    const resources = await folder('secret-resources', SECRET_RESOURCES)
    const out = join(work, 'dist-secret')
    const result = await build(resources, out)
    expect(result.code, result.output).toBe(0)
    bundle = join(out, 'aws', 'http-publish')
    // The build read the folder; the function must not need it.
    await rm(resources, { recursive: true, force: true })
  }, 120_000)

  it('carries no yaml package code and no ws package code, and no resources folder', async () => {
    const code = await readFile(join(bundle, 'index.mjs'), 'utf8')
    // yaml's own message for MULTILINE_IMPLICIT_KEY; the handshake header of the `ws` package.
    expect(code).not.toContain('Implicit keys need to be on a single line')
    expect(code).not.toContain('Sec-WebSocket-Accept')
    // The markers are real: the chunks beside it carry them.
    expect(await readFile(join(bundle, 'resources-yaml.mjs'), 'utf8')).toContain('Implicit keys need to be on a single line')
    expect(await readFile(join(bundle, 'mqtt-ws.mjs'), 'utf8')).toContain('Sec-WebSocket-Accept')
    const sizes = JSON.parse(await readFile(join(bundle, '..', '..', 'sizes.json'), 'utf8')) as { aws: Record<string, { parts: Record<string, number> }> }
    const parts = Object.keys(sizes.aws['http-publish']?.parts ?? {})
    expect(parts).toContain('mqtt')
    expect(parts).not.toContain('yaml')
    expect(parts).not.toContain('ws')
    expect(await readdir(bundle)).not.toContain('resources')
    // The documents as written: the secret reference and the template tags are compiled in unresolved.
    expect(code).toContain('{appID}-{podName}')
    expect(code).toContain('BROKER_URL')
  })

  it('publishes to a private broker, the secret URL and the template tags resolved from the run-time environment', async () => {
    const handler = await handlerOf(bundle, { APP_ID: 'shop', POD_NAME: 'pod7', BROKER_URL: `mqtt://${USER}:${PASSWORD}@127.0.0.1:${broker.port}` })
    const got = recorder.next((m) => m.topic === 'compiled/secret')
    const before = clientIds.length
    expect(await publish(handler, 'pubsub', 'compiled/secret', '{"n":1}')).toMatchObject({ statusCode: 204 })
    expect(JSON.parse((await got).payload.toString())).toMatchObject({ data: { n: 1 }, source: 'shop', topic: 'compiled/secret', pubsubname: 'pubsub' })
    // consumerID `{appID}-{podName}`, with the instance suffix a function adds; never the build's build-app-build-pod.
    expect(clientIds.slice(before)).toEqual([expect.stringMatching(/^shop-pod7-[0-9a-f]{6}$/)])
  })

  it('without the secret in its environment, fails the invocation and logs the compiled file and field', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const handler = await handlerOf(bundle, { APP_ID: 'shop' })
    const res = await publish(handler, 'pubsub', 'compiled/secret', '{"n":2}')
    expect(res.statusCode).toBe(500)
    const logged = errors.mock.calls.map((c) => String(c[0])).join('\n')
    expect(logged).toContain(`${join(bundle, 'resources', 'pubsub.yaml')}: document 1 (Component/pubsub): spec.metadata.url`)
    expect(logged).toContain('environment variable "BROKER_URL" is not set')
  })

  it('MQTTFN_RESOURCES_PATH still loads YAML from that folder instead of the compiled resources', async () => {
    const other = await folder('override', { 'pubsub.yaml': pubsubYaml({ name: 'other', url: `mqtt://${USER}:${PASSWORD}@127.0.0.1:${broker.port}`, metadata: { qos: '1' } }) })
    const handler = await handlerOf(bundle, { MQTTFN_RESOURCES_PATH: other, APP_ID: 'shop' })
    const got = recorder.next((m) => m.topic === 'compiled/override')
    expect(await publish(handler, 'other', 'compiled/override', '{"n":3}')).toMatchObject({ statusCode: 204 })
    expect(JSON.parse((await got).payload.toString())).toMatchObject({ data: { n: 3 }, pubsubname: 'other' })
    // The compiled component is not loaded beside it.
    const res = await publish(handler, 'pubsub', 'compiled/override', '{"n":4}')
    expect(res.statusCode).toBe(404)
    expect(res.body).toContain('ERR_PUBSUB_NOT_FOUND')
  })

  it('a ws:// component given at run time connects through mqtt-ws.mjs, the transport the bundle leaves out', async () => {
    const ws = await folder('ws', { 'pubsub.yaml': pubsubYaml({ name: 'pubsub', url: `ws://${USER}:${PASSWORD}@127.0.0.1:${wsPort}/mqtt`, metadata: { qos: '1' } }) })
    const handler = await handlerOf(bundle, { MQTTFN_RESOURCES_PATH: ws, APP_ID: 'shop' })
    const got = recorder.next((m) => m.topic === 'compiled/ws')
    const sockets = wsSockets.size
    expect(await publish(handler, 'pubsub', 'compiled/ws', '{"n":5}')).toMatchObject({ statusCode: 204 })
    expect(JSON.parse((await got).payload.toString())).toMatchObject({ data: { n: 5 } })
    expect(wsSockets.size).toBe(sockets + 1)
  })

  it('a ws:// component and no mqtt-ws.mjs beside the bundle: the invocation fails, the log says which transport and file are missing', async () => {
    const copy = join(work, 'no-ws-chunk')
    await cp(bundle, copy, { recursive: true })
    await rm(join(copy, 'mqtt-ws.mjs'))
    const ws = await folder('ws-missing', { 'pubsub.yaml': pubsubYaml({ name: 'pubsub', url: `ws://${USER}:${PASSWORD}@127.0.0.1:${wsPort}/mqtt` }) })
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const handler = await handlerOf(copy, { MQTTFN_RESOURCES_PATH: ws, APP_ID: 'shop' })
    const sockets = wsSockets.size
    const res = await publish(handler, 'pubsub', 'compiled/ws', '{"n":6}')
    expect(res.statusCode).toBe(500)
    const logged = errors.mock.calls.map((c) => String(c[0])).join('\n')
    expect(logged).toContain("a component connects over ws:// or wss://, and MQTT.js's WebSocket transport (mqtt-ws.mjs beside the function bundle) could not be loaded")
    expect(logged).toContain('mqtt-ws.mjs')
    expect(wsSockets.size).toBe(sockets)
  })
})

describe('a bad resource', () => {
  /** One validation error (qos 7) and one YAML syntax error, in two files. */
  const BAD = {
    'a-pubsub.yaml': pubsubYaml({ name: 'pubsub', url: 'mqtt://127.0.0.1:1', metadata: { qos: '7' } }),
    'b-broken.yaml': 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: { name: [unclosed\n',
  }
  let resources: string
  let runTime: string[]
  beforeAll(async () => {
    resources = await folder('bad', BAD)
    // What loading the YAML at run time says, without any bundle.
    runTime = await loadResources(resources, { env: {} }).then(
      () => [],
      (error: Error) => error.message.split('\n'),
    )
  })

  it('fails the build with --strict with the lines loading the YAML at run time gives', async () => {
    expect(runTime.length).toBeGreaterThanOrEqual(2)
    expect(runTime.join('\n')).toContain('spec.metadata.qos')
    expect(runTime.join('\n')).toContain('YAML syntax error')
    const result = await build(resources, join(work, 'dist-bad-strict'), '--strict')
    expect(result.code).not.toBe(0)
    const lines = result.output.split('\n')
    for (const line of runTime) expect(lines).toContain(line)
  }, 120_000)

  it('built without --strict, fails the function at cold start with the same lines, placed in its folder', async () => {
    const out = join(work, 'dist-bad')
    const result = await build(resources, out)
    expect(result.code, result.output).toBe(0)
    const bundle = join(out, 'aws', 'http-publish')
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const handler = await handlerOf(bundle, { APP_ID: 'shop' })
    expect((await publish(handler, 'pubsub', 'compiled/bad', '{}')).statusCode).toBe(500)
    const logged = errors.mock.calls.map((c) => String(c[0])).join('\n').split('\n')
    const placed = runTime.map((line) => line.replaceAll(resources, join(bundle, 'resources')))
    expect(placed[0]).not.toBe(runTime[0])
    for (const line of placed) expect(logged).toContain(line)
  }, 120_000)
})
