// The platform cases once more, against the bundles `npm run build` writes, loaded as the
// platforms load them: Lambda imports dist/functions/aws/<name>/index.mjs and calls `handler`;
// the Functions host imports dist/functions/azure/index.mjs (here the @azure/functions copy in
// the bundle runs in its test mode, so the handlers are called through the module's exports).
import { execFile } from 'node:child_process'
import { readFile, readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { unzipSync } from 'fflate'
import { beforeAll, describe, expect, it } from 'vitest'
import type { PlatformHandlers } from '../integration/platforms/cases.js'
import { describePlatformCases } from '../integration/platforms/cases.js'

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

  it('writes each AWS bundle with its resources and a zip of the same files, and an Azure app folder', async () => {
    for (const name of ['http-publish', 'sqs-relay']) {
      const dir = join(dist, 'aws', name)
      expect((await readdir(dir)).sort()).toEqual(expect.arrayContaining(['index.mjs', 'index.mjs.map', 'resources']))
      expect((await readdir(join(dir, 'resources'))).sort()).toEqual((await readdir(join(root, 'resources'))).sort())
      const zip = unzipSync(await readFile(join(dist, 'aws', `${name}.zip`)))
      expect(Object.keys(zip)).toEqual(expect.arrayContaining(['index.mjs', 'resources/pubsub.yaml']))
      expect(Buffer.from(zip['index.mjs'] as Uint8Array).equals(await readFile(join(dir, 'index.mjs')))).toBe(true)
    }
    const host = JSON.parse(await readFile(join(dist, 'azure/host.json'), 'utf8'))
    expect(host.extensions.http.routePrefix).toBe('')
    expect(host.extensions.queues.maxDequeueCount).toBe(5)
    const pkg = JSON.parse(await readFile(join(dist, 'azure/package.json'), 'utf8'))
    expect(pkg).toMatchObject({ main: 'index.mjs', type: 'module' })
    await stat(join(dist, 'azure', pkg.main))
    await stat(join(dist, 'azure/resources/pubsub.yaml'))
  })

  it("builds the library: `import { ... } from 'mqtt-fn'` resolves to dist/index.js with its declarations", async () => {
    await stat(join(root, 'dist', 'types', 'index.d.ts'))
    const { stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('mqtt-fn'); console.log(JSON.stringify(['loadResources', 'getPubsubClient', 'buildPublishPayload', 'createPublishApi', 'startForwarder', 'startEmbeddedBroker'].map((k) => typeof m[k])))"],
      { cwd: root, timeout: 30_000 },
    )
    expect(JSON.parse(stdout.trim())).toEqual(Array(6).fill('function'))
  })

  it('keeps each AWS bundle within 1.15x of MQTT.js alone, without aedes, the AWS SDK or the CLI', async () => {
    const sizes = JSON.parse(await readFile(join(dist, 'sizes.json'), 'utf8'))
    for (const name of ['http-publish', 'sqs-relay']) {
      const { bundle, parts } = sizes.aws[name] as { bundle: number; parts: Record<string, number> }
      expect(bundle).toBeLessThanOrEqual(1.15 * sizes.mqttAlone)
      expect(bundle).toBe((await stat(join(dist, 'aws', name, 'index.mjs'))).size)
      const included = Object.keys(parts)
      expect(included).toContain('mqtt')
      for (const absent of ['aedes', '@aws-sdk/client-lambda', '@azure/functions', 'src/cli', 'src/forwarder', 'src/local']) {
        expect(included, `${name} must not bundle ${absent}`).not.toContain(absent)
      }
    }
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
