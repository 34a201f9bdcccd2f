// The platform cases once more, against the bundles `npm run build` writes, loaded as the
// platforms load them: Lambda imports dist/functions/aws/<name>/index.mjs and calls `handler`;
// the Functions host imports dist/functions/azure/index.mjs (here the @azure/functions copy in
// the bundle runs in its test mode, so the handlers are called through the module's exports).
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { unzipSync } from 'fflate'
import { HttpRequest, InvocationContext } from '@azure/functions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PlatformHandlers } from '../integration/platforms/cases.js'
import { describePlatformCases } from '../integration/platforms/cases.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/local/broker.js'
import { recordTopics, type Recorder } from '../helpers/mqtt-recorder.js'
import { pubsubYaml } from '../../support/component-yaml.js'
import { lambdaContext as awsLambdaContext, sqsEvent } from '../../support/aws-events.js'
import { verifyPresignedIotUrl } from '../helpers/sigv4-verifier.js'
import { startOtlpReceiver, tracingConfigurationYaml, type OtlpReceiver } from '../helpers/otlp.js'

const root = resolve(import.meta.dirname, '../..')
const dist = join(root, 'dist/functions')
const run = promisify(execFile)

let built: Promise<void> | undefined
/** One build per test file, the way CI would run it. */
function build(): Promise<void> {
  built ??= run(process.execPath, [join(root, 'scripts/build.mjs'), '--quiet'], { cwd: root, timeout: 120_000 }).then(() => undefined)
  return built
}

let variant = 0
/** Imports a bundle as a fresh module instance with `vars` in the environment it reads at load. */
async function load(file: string, vars: Record<string, string>): Promise<Record<string, unknown>> {
  Object.assign(process.env, vars)
  // A query string makes another module instance: each variant gets its own cold start.
  return (await import(`${pathToFileURL(join(dist, file)).href}?variant=${++variant}`)) as Record<string, unknown>
}

const ENV_KEYS = ['MQTTFN_RESOURCES_PATH', 'MQTTFN_PUBSUB', 'MQTTFN_TOPIC', 'APP_ID'] as const

describe('npm run build', () => {
  beforeAll(build, 120_000)

  it('writes each AWS bundle, its resources compiled in, and a zip of the same files, and an Azure app folder', async () => {
    for (const name of ['http-publish', 'sqs-relay']) {
      const dir = join(dist, 'aws', name)
      expect((await readdir(dir)).sort()).toEqual(expect.arrayContaining(['index.mjs', 'index.mjs.map', 'resources-yaml.mjs', 'mqtt-ws.mjs']))
      // Nothing in ./resources reads a file at run time (no secretstores.local.file): no copy beside the bundle.
      expect(await readdir(dir)).not.toContain('resources')
      const zip = unzipSync(await readFile(join(dist, 'aws', `${name}.zip`)))
      expect(Object.keys(zip).sort()).toEqual((await readdir(dir)).sort())
      expect(Buffer.from(zip['index.mjs'] as Uint8Array).equals(await readFile(join(dir, 'index.mjs')))).toBe(true)
      // The compiled documents, as written: the template tag is still there, expanded at cold start.
      expect(await readFile(join(dir, 'index.mjs'), 'utf8')).toContain('{appID}-local')
    }
    const host = JSON.parse(await readFile(join(dist, 'azure/host.json'), 'utf8'))
    expect(host.extensions.http.routePrefix).toBe('')
    expect(host.extensions.queues.maxDequeueCount).toBe(5)
    const pkg = JSON.parse(await readFile(join(dist, 'azure/package.json'), 'utf8'))
    expect(pkg).toMatchObject({ main: 'index.mjs', type: 'module' })
    await stat(join(dist, 'azure', pkg.main))
    expect(await readdir(join(dist, 'azure'))).not.toContain('resources')
  })

  it('builds every entry of package.json `exports` with its declarations', async () => {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { exports: Record<string, string | { types: string; default: string }> }
    expect(Object.keys(pkg.exports)).toEqual(expect.arrayContaining(['.', './forwarder', './local']))
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      for (const file of typeof target === 'string' ? [target] : [target.types, target.default]) {
        await expect(stat(join(root, file)), `${subpath}: ${file}`).resolves.toBeTruthy()
      }
    }
  })

  describe('the library, imported by package name from a project that installed it', () => {
    let project: string
    beforeAll(async () => {
      // node_modules/mqtt-fn is a symlink to this package, as `npm install ../mqtt-fn` or
      // `npm link` makes it; Node resolves the package's own imports from its real path.
      project = await mkdtemp(join(tmpdir(), 'mqttfn-user-'))
      await mkdir(join(project, 'node_modules'))
      await symlink(root, join(project, 'node_modules', 'mqtt-fn'), 'dir')
      await copyFile(join(root, 'test/helpers/loaded-packages.mjs'), join(project, 'loaded-packages.mjs'))
    })
    afterAll(() => rm(project, { recursive: true, force: true }))

    /** The packages a fresh node process loads for `import(specifier)`, and the names the module exports. */
    async function loads(specifier: string): Promise<{ packages: string[]; exports: string[] }> {
      const { stdout } = await run(process.execPath, ['loaded-packages.mjs', specifier], { cwd: project, timeout: 30_000 })
      return JSON.parse(stdout) as { packages: string[]; exports: string[] }
    }

    const HEAVY = ['aedes', 'prom-client', 'pino', '@bufbuild/cel', 'undici']

    it("`import 'mqtt-fn'` loads core and the publish API, none of aedes, prom-client, pino, @bufbuild/cel, undici", async () => {
      const { packages, exports } = await loads('mqtt-fn')
      expect(exports).toEqual(expect.arrayContaining(['loadResources', 'getPubsubClient', 'buildPublishPayload', 'createPublishApi', 'startHttpServer']))
      // The hook sees the packages it should: the check below is not vacuous.
      expect(packages).toEqual(expect.arrayContaining(['mqtt', 'yaml']))
      for (const heavy of HEAVY) expect(packages, `mqtt-fn must not load ${heavy}`).not.toContain(heavy)
    })

    it("'mqtt-fn/forwarder' resolves and brings the forwarder's packages, not aedes", async () => {
      const { packages, exports } = await loads('mqtt-fn/forwarder')
      expect(exports).toContain('startForwarder')
      expect(packages).toEqual(expect.arrayContaining(['mqtt', 'pino', 'prom-client', 'undici']))
      // CEL loads with the first expression compiled, the OpenTelemetry SDK with a tracing Configuration.
      for (const absent of ['aedes', '@bufbuild/cel', '@opentelemetry/sdk-trace-base']) expect(packages).not.toContain(absent)
    })

    it("'mqtt-fn/local' resolves and brings aedes, not the forwarder's packages", async () => {
      const { packages, exports } = await loads('mqtt-fn/local')
      expect(exports).toContain('startEmbeddedBroker')
      expect(packages).toContain('aedes')
      for (const absent of ['prom-client', 'pino', '@bufbuild/cel', 'undici']) expect(packages).not.toContain(absent)
    })

    it("'mqtt-fn/functions' resolves and brings MQTT.js, none of the forwarder's packages, and no platform SDK at run time", async () => {
      const { packages, exports } = await loads('mqtt-fn/functions')
      expect(exports).toEqual(expect.arrayContaining(['pubsub', 'pubsubMiddleware', 'topicHandler', 'withPubsub', 'azureHttpTopicHandler', 'azureQueueTopicHandler']))
      expect(packages).toContain('mqtt')
      // yaml loads with the first resources a function reads, not with the import.
      for (const absent of [...HEAVY, '@middy/core', '@azure/functions', 'yaml']) expect(packages, `mqtt-fn/functions must not load ${absent}`).not.toContain(absent)
    })

    it('types every entry by package name (tsc on a user file, NodeNext resolution)', async () => {
      await writeFile(
        join(project, 'check.ts'),
        [
          "import { loadResources, type PubsubComponent } from 'mqtt-fn'",
          "import { startForwarder, type Forwarder, type ForwarderOptions } from 'mqtt-fn/forwarder'",
          "import { startEmbeddedBroker, type EmbeddedBroker } from 'mqtt-fn/local'",
          "import { pubsub, topicHandler, withPubsub, type CloudEvent, type FunctionPubsub } from 'mqtt-fn/functions'",
          "export const receive = topicHandler<{ n: number }>((e: CloudEvent<{ n: number }>) => (e.data.n > 0 ? 'SUCCESS' : 'DROP'))",
          "export const azure = withPubsub(async (_t: unknown, _c, p: FunctionPubsub) => (await p.publish('pubsub', 't', { a: 1 })).error)",
          "export const published: Promise<{ error?: Error }> = pubsub().publish('pubsub', 'orders/new', { n: 1 })",
          "const options: ForwarderOptions = { port: false, resourcesPath: './resources' }",
          'export async function main(): Promise<[Forwarder, EmbeddedBroker, PubsubComponent[]]> {',
          '  const broker = await startEmbeddedBroker({ port: 0 })',
          "  const { pubsubs } = await loadResources('./resources')",
          '  return [await startForwarder(options), broker, pubsubs]',
          '}',
          '// @ts-expect-error the forwarder is on its own entry, not on the root one',
          "import { startForwarder as fromRoot } from 'mqtt-fn'",
          'void fromRoot',
          '',
        ].join('\n'),
      )
      const compilerOptions = { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }
      await writeFile(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['check.ts'] }))
      const tsc = join(root, 'node_modules/typescript/bin/tsc')
      // tsc reports on stdout; the failure shows it instead of a bare "Command failed".
      const result = await run(process.execPath, [tsc, '-p', project], { cwd: project, timeout: 60_000 }).then(
        () => '',
        (error: { stdout?: string; message: string }) => error.stdout || error.message,
      )
      expect(result).toBe('')
    }, 60_000)
  })

  it('the CLI loads grpc-js only for the gRPC API: its package import lives in the lazily loaded grpc chunk', async () => {
    const cli = join(root, 'dist/cli')
    const files = [join(cli, 'main.js'), ...(await readdir(join(cli, 'chunks'))).filter((f) => f.endsWith('.js')).map((f) => join(cli, 'chunks', f))]
    const importing = []
    for (const file of files) if ((await readFile(file, 'utf8')).includes('from "@grpc/grpc-js"')) importing.push(file)
    expect(importing.map((f) => f.split('/').pop())).toEqual([expect.stringMatching(/^grpc-[A-Z0-9]+\.js$/)])
  })

  it('keeps each AWS bundle within 0.8x of MQTT.js alone, without aedes, the AWS SDK, the CLI, yaml or ws', async () => {
    const sizes = JSON.parse(await readFile(join(dist, 'sizes.json'), 'utf8'))
    for (const name of ['http-publish', 'sqs-relay']) {
      const { bundle, parts } = sizes.aws[name] as { bundle: number; parts: Record<string, number> }
      expect(bundle).toBeLessThanOrEqual(0.8 * sizes.mqttAlone)
      expect(bundle).toBe((await stat(join(dist, 'aws', name, 'index.mjs'))).size)
      const included = Object.keys(parts)
      expect(included).toContain('mqtt')
      for (const absent of ['aedes', '@aws-sdk/client-lambda', '@azure/functions', '@opentelemetry/sdk-trace-base', 'src/cli', 'src/forwarder', 'src/local', 'yaml', 'ws']) {
        expect(included, `${name} must not bundle ${absent}`).not.toContain(absent)
      }
    }
  })

  it('leaves the OpenTelemetry SDK, the AWS credential chain, Azure identity, the YAML parser and the WebSocket transport out of each function bundle, in the chunks beside it', async () => {
    for (const dir of [join(dist, 'aws', 'http-publish'), join(dist, 'aws', 'sqs-relay'), join(dist, 'azure'), join(dist, 'examples', 'checkout')]) {
      const bundle = await readFile(join(dir, 'index.mjs'), 'utf8')
      // A string each package has in its code and nothing else would write.
      for (const [chunk, marker] of [
        ['tracing-otel.mjs', 'BatchSpanProcessor'],
        ['aws-sigv4.mjs', 'AWS_CONTAINER_CREDENTIALS_FULL_URI'],
        ['azure-identity.mjs', 'IDENTITY_ENDPOINT'],
        // yaml's own message for MULTILINE_IMPLICIT_KEY; the handshake header of the `ws` package.
        ['resources-yaml.mjs', 'Implicit keys need to be on a single line'],
        ['mqtt-ws.mjs', 'Sec-WebSocket-Accept'],
      ] as const) {
        expect(bundle, `${dir}: index.mjs imports ${chunk}`).toContain(`./${chunk}`)
        expect(bundle, `${dir}: index.mjs carries no ${marker}`).not.toContain(marker)
        expect(await readFile(join(dir, chunk), 'utf8')).toContain(marker)
      }
    }
  })

  it('the aws-sigv4 chunk, as a function loads it, presigns with the default chain a URL an independent verifier accepts', async () => {
    const saved = { ...process.env }
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDBUNDLE', AWS_SECRET_ACCESS_KEY: 'bundle-secret', AWS_SESSION_TOKEN: 'bundle-token' })
    try {
      const chunk = (await import(pathToFileURL(join(dist, 'aws', 'sqs-relay', 'aws-sigv4.mjs')).href)) as typeof import('../../src/core/pubsub/auth/aws-sigv4-presign.js')
      const credentials = await chunk.defaultCredentials()()
      const host = 'a1b2c3-ats.iot.eu-west-1.amazonaws.com'
      const url = await chunk.presignIotUrl({ host, port: 443, path: '/mqtt', region: 'eu-west-1', credentials, expiresInSeconds: 300 })
      const verdict = verifyPresignedIotUrl(url, host, { region: 'eu-west-1', keys: { AKIDBUNDLE: { secretAccessKey: 'bundle-secret', sessionToken: 'bundle-token' } } })
      expect(verdict).toMatchObject({ ok: true, accessKeyId: 'AKIDBUNDLE', sessionToken: 'bundle-token' })
    } finally {
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
        if (saved[k] === undefined) delete process.env[k]
        else process.env[k] = saved[k]
      }
    }
  })

  it("leaves the field tables' documentation out of the function bundles (the library keeps it for renderMetadataTable)", async () => {
    const bundle = await readFile(join(dist, 'aws', 'http-publish', 'index.mjs'), 'utf8')
    const library = (await Promise.all((await readdir(join(root, 'dist', 'chunks'))).map((f) => readFile(join(root, 'dist', 'chunks', f), 'utf8')))).join('')
    for (const text of ['QoS of every PUBLISH and SUBSCRIBE', 'a credential computed before every connect attempt']) {
      expect(bundle).not.toContain(text)
      expect(library).toContain(text)
    }
    // What a function does use from the tables is still there: the warning for an old key.
    expect(bundle).toContain('not supported by pubsub.mqtt3; ignored')
  })

  it('keeps the publish API (src/http) out of the SQS relay: the function runtime does not import it', async () => {
    // `parts` is read from esbuild's metafile: every input file that put bytes into the bundle.
    const sizes = JSON.parse(await readFile(join(dist, 'sizes.json'), 'utf8'))
    const relay = Object.keys((sizes.aws['sqs-relay'] as { parts: Record<string, number> }).parts)
    expect(relay).toContain('src/function-runtime')
    for (const absent of ['src/http', 'src/platforms/http-function']) {
      expect(relay, `sqs-relay must not bundle ${absent}`).not.toContain(absent)
    }
    // The publish function still carries it, so the check above is looking at the right keys.
    expect(Object.keys((sizes.aws['http-publish'] as { parts: Record<string, number> }).parts)).toContain('src/http')
  })
})

describe('the examples, bundled as a user bundles a function written with mqtt-fn/functions', () => {
  let broker: EmbeddedBroker
  let resources: string
  let recorder: Recorder
  beforeAll(async () => {
    await build()
    broker = await startEmbeddedBroker()
    resources = await mkdtemp(join(tmpdir(), 'mqttfn-example-bundle-'))
    await writeFile(join(resources, 'pubsub.yaml'), pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }))
    recorder = await recordTopics(broker.url, 'orders/#')
  }, 120_000)
  afterAll(async () => {
    await recorder?.close()
    await broker?.close()
    await rm(resources, { recursive: true, force: true })
  })

  const lambdaContext = (): Record<string, unknown> => {
    const deadline = Date.now() + 10_000
    return { functionName: 'checkout', awsRequestId: 'r1', getRemainingTimeInMillis: () => deadline - Date.now() }
  }
  const functionUrlEvent = (body: string) => ({
    version: '2.0', routeKey: '$default', rawPath: '/checkout', rawQueryString: '', headers: { 'content-type': 'application/json' },
    requestContext: { http: { method: 'POST', path: '/checkout' }, requestId: 'r1', timeEpoch: 0 }, body, isBase64Encoded: false,
  })
  type Handler = (event: unknown, context: Record<string, unknown>) => Promise<Record<string, unknown>>

  it('checkout (the pubsub middleware) publishes from its bundle: the CloudEvent is on the broker when it answers 202', async () => {
    const saved = process.env['MQTTFN_RESOURCES_PATH']
    const mod = await load('examples/checkout/index.mjs', { MQTTFN_RESOURCES_PATH: resources, APP_ID: 'shop' })
    const handler = mod['handler'] as Handler
    const got = recorder.next((m) => m.topic === 'orders/new')
    try {
      expect(await handler(functionUrlEvent('{"orderId":5}'), lambdaContext())).toMatchObject({ statusCode: 202 })
      expect(JSON.parse((await got).payload.toString())).toMatchObject({ data: { orderId: 5 }, source: 'shop', topic: 'orders/new', pubsubname: 'pubsub' })
      expect(await handler(functionUrlEvent('{nope'), lambdaContext())).toMatchObject({ statusCode: 400 })
    } finally {
      if (saved === undefined) delete process.env['MQTTFN_RESOURCES_PATH']
      else process.env['MQTTFN_RESOURCES_PATH'] = saved
    }
  })

  it('orders and priority-orders (topicHandler) answer from bundles that carry no MQTT client, within 0.1x of MQTT.js alone', async () => {
    const sizes = JSON.parse(await readFile(join(dist, 'sizes.json'), 'utf8'))
    for (const name of ['orders', 'priority-orders']) {
      const handler = (await load(`examples/${name}/index.mjs`, {}))['handler'] as Handler
      const event = { id: 'e1', source: 's', type: 'order', specversion: '1.0', datacontenttype: 'application/json', topic: 'orders/x', data: { orderId: 1 } }
      expect(await handler(event, lambdaContext())).toEqual({ status: 'SUCCESS' })
      expect(await handler({ not: 'an event' }, lambdaContext())).toEqual({ status: 'DROP' })
      expect(Object.keys(sizes.examples[name].parts)).not.toContain('mqtt')
      expect(sizes.examples[name].bundle).toBeLessThan(0.1 * sizes.mqttAlone)
    }
    expect(Object.keys(sizes.examples['checkout'].parts)).toContain('mqtt')
  })
})

describe('the function bundles with a tracing Configuration in their resources', () => {
  let broker: EmbeddedBroker
  let receiver: OtlpReceiver
  let resources: string
  let recorder: Recorder
  const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]))
  beforeAll(async () => {
    await build()
    broker = await startEmbeddedBroker()
    receiver = await startOtlpReceiver()
    resources = await mkdtemp(join(tmpdir(), 'mqttfn-traced-bundle-'))
    await writeFile(join(resources, 'pubsub.yaml'), pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }))
    await writeFile(join(resources, 'configuration.yaml'), tracingConfigurationYaml(receiver))
    recorder = await recordTopics(broker.url, 'traced/#')
  }, 120_000)
  afterAll(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
    await recorder?.close()
    await receiver?.close()
    await broker?.close()
    await rm(resources, { recursive: true, force: true })
  })

  it('the SQS relay loads the tracing chunk and has exported its span, child of the event, when the invocation returns', async () => {
    const mod = await load('aws/sqs-relay/index.mjs', { MQTTFN_RESOURCES_PATH: resources, MQTTFN_PUBSUB: 'pubsub', MQTTFN_TOPIC: 'traced/relay', APP_ID: 'relay-fn' })
    const handler = mod['handler'] as (event: unknown, context: unknown) => Promise<{ batchItemFailures: unknown[] }>
    const traceId = randomBytes(16).toString('hex')
    const parentId = randomBytes(8).toString('hex')
    const event = { id: 'ev-1', source: 'shop', type: 'order', specversion: '1.0', datacontenttype: 'application/json', data: { n: 1 }, traceparent: `00-${traceId}-${parentId}-01` }
    const got = recorder.next((m) => m.topic === 'traced/relay')
    expect(await handler(sqsEvent([{ body: JSON.stringify(event) }]), awsLambdaContext())).toEqual({ batchItemFailures: [] })
    // No wait: the handler flushed before it returned.
    const spans = receiver.spans.filter((s) => s.traceId === traceId)
    expect(spans).toMatchObject([{ service: 'relay-fn', kind: 'producer', name: 'publish traced/relay', parentSpanId: parentId }])
    expect(JSON.parse((await got).payload.toString()).traceparent).toBe(`00-${traceId}-${spans[0]?.spanId}-01`)
  })

  it("the Azure publish function: server and producer spans, the caller's trace, exported when it answers", async () => {
    const mod = await load('azure/index.mjs', { MQTTFN_RESOURCES_PATH: resources, APP_ID: 'azure-fn' })
    const publish = mod['publish'] as (request: HttpRequest, context: InvocationContext) => Promise<{ status?: number }>
    const traceId = randomBytes(16).toString('hex')
    const callerId = randomBytes(8).toString('hex')
    const request = new HttpRequest({
      method: 'POST',
      url: 'https://app.azurewebsites.net/v1.0/publish/pubsub/traced/azure',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${callerId}-01` },
      body: { string: '{"n":2}' },
    })
    const got = recorder.next((m) => m.topic === 'traced/azure')
    expect((await publish(request, new InvocationContext({ invocationId: 'inv-traced', functionName: 'publish', logHandler: () => {} }))).status).toBe(204)
    const spans = receiver.spans.filter((s) => s.traceId === traceId)
    const server = spans.find((s) => s.kind === 'server')
    const producer = spans.find((s) => s.kind === 'producer')
    expect(server).toMatchObject({ service: 'azure-fn', name: 'POST /v1.0/publish/{pubsubname}/{topic}', parentSpanId: callerId })
    expect(producer).toMatchObject({ service: 'azure-fn', name: 'publish traced/azure', parentSpanId: server?.spanId })
    expect(JSON.parse((await got).payload.toString()).traceparent).toBe(`00-${traceId}-${producer?.spanId}-01`)
  })
})

describePlatformCases('built bundles in dist/ against aedes', async (env) => {
  await build()
  const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]))
  try {
    const http = await load('aws/http-publish/index.mjs', env.live)
    const sqs = await load('aws/sqs-relay/index.mjs', env.live)
    const sqsDown = await load('aws/sqs-relay/index.mjs', env.down)
    const azure = await load('azure/index.mjs', env.live)
    const azureDown = await load('azure/index.mjs', env.down)
    // The bundles are untyped JavaScript; these are the shapes the platforms call.
    const handlers = {
      awsHttp: http['handler'],
      sqsRelay: sqs['handler'],
      sqsRelayDown: sqsDown['handler'],
      azureHttp: azure['publish'],
      azureRelay: azure['relay'],
      azureRelayDown: azureDown['relay'],
    } as PlatformHandlers
    for (const [name, fn] of Object.entries(handlers)) expect(typeof fn, name).toBe('function')
    // The bundles' MQTT clients end with the test process (a function instance never closes its client).
    return { handlers, close: async () => {} }
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
})
