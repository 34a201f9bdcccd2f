// infra/forwarder/Dockerfile without Docker (no engine here): what it copies exists and is in
// the build context .dockerignore lets through, it runs the CLI's `forward`, as a non-root user,
// with the forwarder's port and health path; and the CLI bundle it ships runs the way the image
// runs it (bin/mqtt-fn.mjs beside dist/cli/main.js, no src/).
import { execFile } from 'node:child_process'
import { cp, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli } from '../../../scripts/build-cli.mjs'
import { makeCert } from '../core/resources/builders.js'

const root = resolve(import.meta.dirname, '../../..')
const run = promisify(execFile)

interface Instruction {
  stage: string
  op: string
  args: string
}

let instructions: Instruction[]
let dockerignore: string[]
/** ARG defaults, global and per stage (enough for this file: names are unique). */
const args = new Map<string, string>()

function parseDockerfile(text: string): Instruction[] {
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
  const out: Instruction[] = []
  let stage = ''
  for (const line of lines) {
    const [, op = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? []
    const upper = op.toUpperCase()
    if (upper === 'FROM') stage = /\sAS\s+(\S+)/i.exec(rest)?.[1] ?? ''
    if (upper === 'ARG') {
      const [name, value] = rest.split('=')
      if (value !== undefined) args.set(name!, value)
    }
    out.push({ stage, op: upper, args: rest })
  }
  return out
}

const expand = (s: string): string => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => args.get((a ?? b)!) ?? '')

/** `COPY [--from=x] [--chown=..] SRC... DEST` → sources and the --from stage. */
function copySources(i: Instruction): { from?: string; sources: string[] } {
  const words = i.args.split(/\s+/)
  const flags = words.filter((w) => w.startsWith('--'))
  const rest = words.filter((w) => !w.startsWith('--'))
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length)
  return { ...(from ? { from } : {}), sources: rest.slice(0, -1).map(expand) }
}

const exec = (op: string): string[] => {
  const found = instructions.filter((i) => i.op === op && i.stage === 'runtime')
  expect(found, op).toHaveLength(1)
  return JSON.parse(found[0]!.args) as string[]
}

beforeAll(async () => {
  instructions = parseDockerfile(await readFile(join(root, 'infra/forwarder/Dockerfile'), 'utf8'))
  dockerignore = (await readFile(join(root, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
})

describe('infra/forwarder/Dockerfile', () => {
  it('builds in a node:22 stage and runs in a separate node:22 stage', () => {
    const froms = instructions.filter((i) => i.op === 'FROM').map((i) => expand(i.args))
    expect(froms).toEqual(['node:22-slim AS build', 'node:22-slim AS runtime'])
    const runs = (stage: string) => instructions.filter((i) => i.op === 'RUN' && i.stage === stage).map((i) => i.args)
    expect(runs('build')).toEqual(['npm ci --no-audit --no-fund', 'npm run build -- --quiet'])
    expect(runs('runtime')).toEqual([expect.stringMatching(/^npm ci --omit=dev /)])
  })

  it('copies only files that exist and that .dockerignore lets into the build context', async () => {
    const copies = instructions.filter((i) => i.op === 'COPY').map(copySources)
    expect(copies.length).toBeGreaterThan(5)
    const allowed = dockerignore.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''))
    expect(dockerignore[0]).toBe('**')
    for (const { from, sources } of copies) {
      for (const source of sources) {
        if (from) {
          expect(from).toBe('build')
          expect(source).toBe('/app/dist/cli')
          continue
        }
        await stat(join(root, source)) // throws when missing
        expect(allowed.some((a) => source === a || source.startsWith(`${a}/`)), `${source} is excluded by .dockerignore`).toBe(true)
      }
    }
    // The Dockerfile itself must be in the context CDK stages (it builds from the staged copy).
    expect(allowed).toContain('infra/forwarder/Dockerfile')
  })

  it("bakes in the forwarder's example resources by default (build arg RESOURCES)", async () => {
    expect(args.get('RESOURCES')).toBe('infra/resources/forwarder')
    await stat(join(root, 'infra/resources/forwarder/pubsub.yaml'))
  })

  it("runs `mqtt-fn forward --resources-path /resources` as the non-root user node, on port 9464", async () => {
    expect(exec('ENTRYPOINT')).toEqual(['node', 'bin/mqtt-fn.mjs', 'forward'])
    expect(exec('CMD')).toEqual(['--resources-path', '/resources'])
    expect(instructions.filter((i) => i.op === 'USER').map((i) => i.args)).toEqual(['node'])
    expect(instructions.filter((i) => i.op === 'EXPOSE').map((i) => i.args)).toEqual(['9464'])
    const main = await readFile(join(root, 'src/cli/main.ts'), 'utf8')
    expect(main).toMatch(/\bforward: \{[^}]*import\('\.\/forward\.js'\)/)
    const forward = await readFile(join(root, 'src/cli/forward.ts'), 'utf8')
    expect(forward).toContain('...commonOptions')
    expect(await readFile(join(root, 'src/cli/args.ts'), 'utf8')).toMatch(/'resources-path': \{ type: 'string'/)
    expect(forward).toMatch(/port: \{ type: 'string', default: process\.env\.MQTTFN_FORWARD_PORT \?\? '9464' \}/)
    // `forward` binds the health port to loopback unless told; the image tells it all interfaces.
    expect(forward).toMatch(/host: \{ type: 'string', default: process\.env\.MQTTFN_FORWARD_HOST \?\? '127\.0\.0\.1' \}/)
    expect(instructions.filter((i) => i.op === 'ENV' && i.stage === 'runtime').map((i) => i.args)).toContain('MQTTFN_FORWARD_HOST=0.0.0.0')
  })

  it('checks /healthz with Node itself (no curl in the image)', () => {
    const health = instructions.find((i) => i.op === 'HEALTHCHECK')!
    expect(health.args).toMatch(/CMD \["node", "-e", ".*\/healthz/)
    expect(health.args).toContain('process.env.MQTTFN_FORWARD_PORT || 9464')
  })
})

describe('the CLI bundle in the image layout', () => {
  let dir: string

  beforeAll(async () => {
    // Inside the repository so that the bundle's packages resolve from its node_modules, as
    // they resolve from /app/node_modules in the image.
    await mkdir(join(root, '.tmp'), { recursive: true })
    dir = await mkdtemp(join(root, '.tmp', 'image-'))
    await cp(join(root, 'bin'), join(dir, 'bin'), { recursive: true })
    await buildCli({ outfile: join(dir, 'dist', 'cli', 'main.js') })
  }, 60_000)

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('runs from dist/cli/main.js when src/ is absent', async () => {
    const { stdout } = await run(process.execPath, [join(dir, 'bin/mqtt-fn.mjs'), 'forward', '--help'], { cwd: dir })
    expect(stdout).toContain('usage: mqtt-fn forward')
    expect(stdout).toContain('--port VALUE (default 9464)')
  })

  it('validates the resources the image bakes in, with the secrets in the environment as ECS sets them', async () => {
    const cert = makeCert('image')
    const env = { ...process.env, MQTT_URL: 'mqtts://u:p@broker:8883', MQTT_CA_CERT: cert.cert, MQTT_CLIENT_CERT: cert.cert, MQTT_CLIENT_KEY: cert.key }
    const resources = join(root, args.get('RESOURCES')!)
    const { stdout } = await run(process.execPath, [join(dir, 'bin/mqtt-fn.mjs'), 'validate', '--resources-path', resources], { cwd: dir, env })
    expect(stdout).toMatch(/ok \(1 pubsub, 1 secret store, 1 subscription/)
  })
})
