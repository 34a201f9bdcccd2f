// The resources as a function bundle carries them (scripts/build.mjs): parsed at build time,
// encoded as JSON text, decoded and validated at cold start. Each step must give what loading
// the YAML at run time gives.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadParsedResources, loadResources, readResourceFolder } from '../../../src/core/resources/index.js'
import type { LoadedResources } from '../../../src/core/resources/types.js'
import { compileResources } from '../../../src/function-runtime/compile-resources.js'
import { decodeCompiled, encodeCompiled } from '../../../src/function-runtime/compiled-json.js'
import type { ParsedResources } from '../../../src/core/resources/parsed.js'
import { pubsubYaml } from '../../../support/component-yaml.js'

const root = resolve(import.meta.dirname, '../../..')

describe('encodeCompiled / decodeCompiled', () => {
  const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', '\u0000', '\u0000n', '\u0000\u0000x'))
  const scalar = fc.oneof(fc.string({ maxLength: 10 }), fc.double(), fc.integer(), fc.bigInt(), fc.boolean(), fc.constant(null), fc.constantFrom(Number.NaN, -0, Infinity, -Infinity))
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true })),
  }))

  it('give back the same plain data: special numbers, bigints, `__proto__` and NUL-led keys as own keys', () => {
    fc.assert(
      fc.property(value, (v) => {
        const back = decodeCompiled(encodeCompiled(v))
        expect(back).toEqual(v)
        expectPlain(back)
      }),
      { numRuns: 500 },
    )
  })

  it('keeps a `__proto__` key a key, never the prototype', () => {
    const doc = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>
    const back = decodeCompiled(encodeCompiled(doc)) as Record<string, unknown>
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
    expect(Object.keys(back)).toEqual(['__proto__', 'a'])
    expect((back as { polluted?: boolean }).polluted).toBeUndefined()
  })

  it('refuses what is not plain data, naming where it is', () => {
    expect(() => encodeCompiled({ spec: { at: new Date(0) } })).toThrow('cannot compile the value at $.spec.at: a Date is not plain data')
    expect(() => encodeCompiled([undefined])).toThrow('$[0]')
  })
})

function expectPlain(v: unknown): void {
  if (Array.isArray(v)) v.forEach(expectPlain)
  else if (typeof v === 'object' && v !== null) {
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype)
    Object.values(v).forEach(expectPlain)
  }
}

describe('resources compiled at build time, loaded at run time', () => {
  let work: string
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'mqttfn-compile-'))
  })
  afterAll(() => rm(work, { recursive: true, force: true }))

  /** The outcome of loading: the resources, or the error's lines. */
  async function outcome(load: Promise<LoadedResources>): Promise<LoadedResources | string[]> {
    return load.then(
      (r) => r,
      (e: Error) => e.message.split('\n'),
    )
  }

  /** What the bundle does with the compiled text, loaded from `folder`. */
  async function viaBundle(dir: string, folder: string, env: Record<string, string>): Promise<LoadedResources | string[]> {
    const { text } = await compileResources(dir)
    return outcome(loadParsedResources(decodeCompiled(text) as ParsedResources, { env, appId: 'app1' }, folder))
  }

  const cases: Record<string, Record<string, string>> = {
    'good, with warnings (unknown key, YAML warning, a document without kind)': {
      'a.yaml': pubsubYaml({ name: 'pubsub', url: 'mqtt://u:{podName}@h:1883', metadata: { qos: '1', consumerID: '{appID}-{podName}', surprise: 'x' } }),
      'b.yml': '%FOO bar\n---\napiVersion: v1\nmetadata: { name: nokind }\n',
    },
    'bad: validation errors, a syntax error, a duplicate name, a non-regular file': {
      'a.yaml': pubsubYaml({ name: 'pubsub', url: 'gopher://h', metadata: { qos: '7' } }),
      'b.yaml': pubsubYaml({ name: 'pubsub', url: 'mqtt://h' }) + '---\nkind: [unclosed\n',
    },
    'empty folder': {},
  }

  for (const [name, files] of Object.entries(cases)) {
    it(`${name}: the same outcome as loadResources on the YAML, in the folder it is loaded from`, async () => {
      const dir = join(work, name.replace(/\W+/g, '-'))
      await mkdir(dir)
      for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text)
      if (name.startsWith('bad')) await mkdir(join(dir, 'c.yaml'))
      const env = { POD_NAME: 'pod-1' }
      const direct = await outcome(loadResources(dir, { env, appId: 'app1' }))
      expect(await viaBundle(dir, dir, env)).toEqual(direct)
      // Placed in another folder (the bundle's resources/), the messages name that folder instead.
      const elsewhere = join(work, 'bundle', 'resources')
      const placed = await viaBundle(dir, elsewhere, env)
      if (Array.isArray(direct)) {
        expect(direct.length).toBeGreaterThan(0)
        expect(placed).toEqual(direct.map((line) => line.replaceAll(dir, elsewhere)))
      } else {
        expect(JSON.stringify(placed)).toBe(JSON.stringify(direct).replaceAll(dir, elsewhere))
      }
    })
  }

  it('the project resources: compiled text decodes to what readResourceFolder parses, and reads no file at run time', async () => {
    const dir = join(root, 'resources')
    const compiled = await compileResources(dir)
    expect(decodeCompiled(compiled.text)).toEqual(await readResourceFolder(dir))
    expect(compiled.readsFolder).toEqual([])
  })

  it('a secretstores.local.file makes the build copy the folder: it reads its secretsFile at run time', async () => {
    const dir = join(work, 'file-store')
    await mkdir(dir)
    await writeFile(join(dir, 'store.yaml'), 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: files\nspec:\n  type: secretstores.local.file\n  version: v1\n  metadata:\n    - name: secretsFile\n      value: secrets.json\n')
    expect((await compileResources(dir)).readsFolder).toEqual(['store.yaml: document 1 (Component/files): spec.type: secretstores.local.file reads its secretsFile at run time'])
  })
})
