import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ResourceError } from '../../../../src/core/errors.js'
import { loadResources, loadResourcesFromDocuments } from '../../../../src/core/resources/index.js'
import { docs, pubsubYaml } from './builders.js'
import { ENV, URL_ENTRY, loadError, loadText } from './helpers.js'

const FIXTURES = fileURLToPath(new URL('../../../fixtures/resources/', import.meta.url))
const EXAMPLES = fileURLToPath(new URL('../../../../resources/', import.meta.url))

describe('loadResources (folder)', () => {
  it('reads *.yaml and *.yml sorted by name, every document, and nothing else', async () => {
    const loaded = await loadResources(join(FIXTURES, 'valid'), { env: ENV, appId: 'app1' })
    expect(loaded.pubsubs.map((p) => [p.name, p.type, p.file, p.document])).toEqual([
      ['mqtt', 'pubsub.mqtt3', join(FIXTURES, 'valid', 'a-components.yaml'), 1],
    ])
    expect(loaded.pubsubs[0]?.metadata.url).toMatchObject({ host: 'broker.local', port: 1884 })
    expect(loaded.subscriptions.map((s) => [s.name, s.document])).toEqual([
      ['legacy', 1],
      ['sensors', 3],
    ])
    expect(loaded.subscriptions[1]?.topic).toBe('$share/group/sensors/+/temp')
    expect(loaded.warnings).toEqual([])
  })

  it('keeps other kinds in others, with their spec', async () => {
    const loaded = await loadResources(join(FIXTURES, 'valid'), { env: ENV })
    expect(loaded.others).toHaveLength(1)
    expect(loaded.others[0]).toMatchObject({ kind: 'Resiliency', name: 'retries', apiVersion: 'dapr.io/v1alpha1', document: 2 })
    expect(loaded.others[0]?.spec).toMatchObject({ targets: { components: { mqtt: { inbound: { retry: 'fiveTimes' } } } } })
  })

  it('collects the problems of every file into one ResourceError', async () => {
    const error = await loadResources(join(FIXTURES, 'broken'), { env: ENV }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ResourceError)
    const message = (error as ResourceError).message
    expect(message.split('\n')).toEqual([
      `${join(FIXTURES, 'broken', '1-pubsub.yaml')}: document 1 (Component/mqtt): spec.metadata.qos: must be 0, 1 or 2 (got "3")`,
      expect.stringMatching(new RegExp(`^${join(FIXTURES, 'broken', '2-syntax.yaml')}: document 2: YAML syntax error at line 12, column 1: bad indentation \\(BAD_INDENT\\)$`)),
    ])
  })

  it('throws a ResourceError naming an unreadable folder', async () => {
    const missing = join(FIXTURES, 'does-not-exist')
    const error = await loadResources(missing).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ResourceError)
    expect((error as ResourceError).message).toBe(`${missing}: cannot read the resources folder (ENOENT)`)
  })

  it('warns about a folder without YAML files', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'mqttfn-empty-'))
    try {
      const loaded = await loadResources(folder)
      expect(loaded.warnings).toEqual([`${folder}: no .yaml or .yml files: no components loaded`])
      expect(loaded.pubsubs).toEqual([])
    } finally {
      await rm(folder, { recursive: true, force: true })
    }
  })

  it('reads .YAML in any case, and skips folders', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'mqttfn-case-'))
    try {
      await writeFile(join(folder, 'PUBSUB.YAML'), pubsubYaml([URL_ENTRY]))
      const loaded = await loadResources(folder, { env: ENV })
      expect(loaded.pubsubs).toHaveLength(1)
    } finally {
      await rm(folder, { recursive: true, force: true })
    }
  })

  it('names every *.yaml that is not a regular file (FIFO, directory, dangling symlink, socket), never skips it', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'mqttfn-special-'))
    const socket = createServer()
    try {
      await writeFile(join(folder, 'ok.yaml'), pubsubYaml([URL_ENTRY]))
      // A FIFO is never opened for a blocking read: if it were, this load would wait forever.
      execFileSync('mkfifo', [join(folder, 'a.yaml')])
      await symlink('a.yaml', join(folder, 'b-to-fifo.yml'))
      await mkdir(join(folder, 'x.yaml'))
      await symlink('missing.yaml', join(folder, 'd.yaml'))
      await new Promise<void>((resolve, reject) => socket.once('error', reject).listen(join(folder, 's.yaml'), resolve))
      // Still skipped: entries whose names do not end in .yaml/.yml.
      await mkdir(join(folder, 'sub'))
      const error = await loadResources(folder, { env: ENV }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ResourceError)
      const hint = 'not a regular file: resource files must be regular files or symlinks to them; remove it or rename it so that it does not end in .yaml/.yml'
      expect((error as ResourceError).message.split('\n')).toEqual([
        `${join(folder, 'a.yaml')}: is a FIFO (named pipe), ${hint}`,
        `${join(folder, 'b-to-fifo.yml')}: is a symlink to a FIFO (named pipe) (-> a.yaml), ${hint}`,
        `${join(folder, 'd.yaml')}: is a dangling symlink (-> missing.yaml): its target does not exist`,
        `${join(folder, 's.yaml')}: is a socket, ${hint}`,
        `${join(folder, 'x.yaml')}: is a directory, ${hint}`,
      ])
    } finally {
      await new Promise((resolve) => socket.close(resolve))
      await rm(folder, { recursive: true, force: true })
    }
  })

  it('a folder holding only a FIFO named a.yaml is an error naming it, not "no .yaml files"', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'mqttfn-fifo-'))
    try {
      execFileSync('mkfifo', [join(folder, 'a.yaml')])
      const error = await loadResources(folder).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ResourceError)
      expect((error as ResourceError).message).toMatch(new RegExp(`^${join(folder, 'a\\.yaml')}: is a FIFO \\(named pipe\\), not a regular file: `))
      expect((error as ResourceError).message).not.toContain('no .yaml')
    } finally {
      await rm(folder, { recursive: true, force: true })
    }
  })

  it('reads a symlink to a regular file', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'mqttfn-link-'))
    try {
      await mkdir(join(folder, 'real'))
      await writeFile(join(folder, 'real', 'pubsub.txt'), pubsubYaml([URL_ENTRY]))
      await symlink(join('real', 'pubsub.txt'), join(folder, 'pubsub.yaml'))
      const loaded = await loadResources(folder, { env: ENV })
      expect(loaded.pubsubs.map((p) => p.file)).toEqual([join(folder, 'pubsub.yaml')])
    } finally {
      await rm(folder, { recursive: true, force: true })
    }
  })

  it('loads the example resources that npm start runs, cleanly', async () => {
    const loaded = await loadResources(EXAMPLES, { env: ENV, appId: 'demo' })
    expect(loaded.warnings).toEqual([])
    const [pubsub] = loaded.pubsubs
    expect(pubsub?.name).toBe('pubsub')
    expect(pubsub?.metadata).toMatchObject({ qos: 1, cleanSession: false, consumerID: 'demo-local', consumerIDConfigured: true })
    expect(pubsub?.metadata.url).toMatchObject({ protocol: 'mqtt', host: 'localhost', port: 1883 })
    const [subscription] = loaded.subscriptions
    expect(subscription).toMatchObject({
      name: 'orders',
      apiVersion: 'dapr.io/v2alpha1',
      pubsubname: 'pubsub',
      topic: 'orders/#',
      deadLetterTopic: 'orders-dead',
      rules: [
        { match: 'event.type == "order.priority"', path: 'lambda:priority-orders' },
        { match: '', path: '/orders' },
      ],
    })
    const withoutAppId = await loadResources(EXAMPLES, { env: {} })
    expect(withoutAppId.warnings).toEqual([])
  })
})

describe('YAML documents', () => {
  it('reports a syntax error with file, document and line number', async () => {
    const text = `${pubsubYaml([URL_ENTRY])}---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n   bad: [1, 2\n`
    const error = await loadError(text)
    expect(error.message).toMatch(/^res\/test\.yaml: document 2: YAML syntax error at line \d+, column \d+: /m)
    const line = Number(/at line (\d+)/.exec(error.message)?.[1])
    const lines = text.split('\n')
    expect(lines[line - 1]).toMatch(/bad: \[1, 2|name: x/)
  })

  it('gives the exact line of a bad indentation', async () => {
    const text = 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n spec: 1\n'
    const error = await loadError(text)
    expect(error.message).toMatch(/^res\/test\.yaml: document 1: YAML syntax error at line 5, column 1: bad indentation \(BAD_INDENT\)$/)
  })

  it('never quotes the source line of a syntax error (it may hold a password)', async () => {
    const text = 'kind: Component\nspec:\n  metadata:\n    - name: url\n      value: "mqtt://u:Hunter2Secret@h\\q"\n'
    const error = await loadError(text)
    expect(error.message).toContain('YAML syntax error at line 5')
    expect(error.message).not.toContain('Hunter2Secret')
  })

  it('reports a duplicate mapping key', async () => {
    const error = await loadError('kind: Component\nkind: Subscription\n')
    expect(error.message).toContain('duplicate key in a mapping (DUPLICATE_KEY)')
  })

  // yaml reports a stack overflow while composing as RESOURCE_EXHAUSTION; alias bombs are caught
  // by toJS with a ReferenceError. Each has its own message, in the resource error format.
  const deepComponent = (value: string) =>
    `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: deep\nspec:\n  type: pubsub.mqtt\n  version: v1\n  metadata:\n    - name: url\n      value: ${value}\n`

  it.each([
    ['sequences', '['.repeat(20_000) + ']'.repeat(20_000)],
    ['mappings', '{a: '.repeat(20_000) + '1' + '}'.repeat(20_000)],
  ])('says a document with deeply nested %s (no alias) is nested too deeply, naming the resource and field', async (_, value) => {
    const text = docs(pubsubYaml([URL_ENTRY]), deepComponent(value))
    const line = text.split('\n').findIndex((l) => l.startsWith(`      value: ${value.slice(0, 10)}`)) + 1
    const error = await loadError(text)
    expect(error.problems).toHaveLength(1)
    expect(error.message).toMatch(
      new RegExp(
        `^res/test\\.yaml: document 2 \\(Component/deep\\): spec\\.metadata\\[0\\]\\.\\.\\.: YAML error at line ${line}, column \\d+: ` +
          'collections nested too deeply for the YAML parser \\(it ran out of stack\\); Dapr resources nest only a few levels \\(RESOURCE_EXHAUSTION\\)$',
      ),
    )
    expect(error.message).not.toContain('alias')
  })

  it('says an alias bomb expands to too much data, naming the resource', async () => {
    const lol = `[${Array(9).fill('lol').join(', ')}]`
    const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']
    const bomb = levels.map((l, i) => `  ${l}: &${l} ${i === 0 ? lol : `[${Array(9).fill(`*${levels[i - 1] ?? ''}`).join(', ')}]`}`).join('\n')
    const text = `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: lol\nspec:\n  type: pubsub.mqtt\n  version: v1\n${bomb}\n`
    const error = await loadError(text)
    expect(error.message).toBe(
      'res/test.yaml: document 1 (Component/lol): YAML error: aliases expand to too much data (more than 100 nodes brought in through aliases; alias bombs are refused)',
    )
  })

  it('still reads a document that uses a few aliases', async () => {
    const text = `${pubsubYaml([URL_ENTRY]).replace('mqtt://localhost:1883', '&url mqtt://localhost:1883')}---\n${pubsubYaml([{ name: 'url', value: 'x' }], { name: 'second' }).replace('value: x', 'value: *url')}`
    const error = await loadError(text)
    // Anchors do not cross documents (YAML 1.2): the second document's alias is dangling.
    expect(error.message).toBe('res/test.yaml: document 2 (Component/second): YAML error: an alias refers to an anchor that is not defined before it')
    const one = `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: &n pubsub\nspec:\n  type: pubsub.mqtt\n  version: v1\n  metadata:\n    - name: url\n      value: mqtt://localhost:1883\n    - name: consumerID\n      value: *n\n`
    const loaded = await loadText(one)
    expect(loaded.pubsubs[0]?.metadata.consumerID).toBe('pubsub')
  })

  it('skips empty documents, counting them in document numbers', async () => {
    const loaded = await loadText(`---\n---\n# only a comment\n---\n${pubsubYaml([URL_ENTRY])}`)
    expect(loaded.pubsubs[0]?.document).toBe(3)
  })

  it('rejects a document that is not a mapping', async () => {
    const error = await loadError('- a\n- b\n')
    expect(error.message).toBe('res/test.yaml: document 1: not a Dapr resource: expected a mapping with apiVersion, kind, metadata and spec')
  })

  it('ignores, with a warning, a mapping without kind', async () => {
    const loaded = await loadText('services:\n  web: {}\n')
    expect(loaded.warnings).toEqual(['res/test.yaml: document 1: kind: missing, so this is not a Dapr resource; ignored'])
  })

  it('keeps components of other types in others', async () => {
    const loaded = await loadText('apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: state\nspec:\n  type: state.redis\n  version: v1\n')
    expect(loaded.others).toEqual([
      { file: 'res/test.yaml', document: 1, kind: 'Component', name: 'state', apiVersion: 'dapr.io/v1alpha1', spec: { type: 'state.redis', version: 'v1' } },
    ])
  })
})

describe('names', () => {
  it('rejects two components with one name, across files', async () => {
    const error = await loadResourcesFromDocuments(
      [
        { file: 'a.yaml', text: pubsubYaml([URL_ENTRY]) },
        { file: 'b.yaml', text: pubsubYaml([URL_ENTRY]) },
      ],
      { env: ENV },
    ).catch((e: unknown) => e)
    expect((error as ResourceError).message).toBe('b.yaml: document 1 (Component/pubsub): metadata.name: duplicate Component name "pubsub" (first in a.yaml: document 1)')
  })

  it('allows a Subscription and a Component to share a name', async () => {
    const loaded = await loadText(
      docs(pubsubYaml([URL_ENTRY], { name: 'orders' }), 'apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: orders\nspec:\n  pubsubname: orders\n  topic: t\n  routes:\n    default: /d\n'),
    )
    expect(loaded.subscriptions).toHaveLength(1)
  })
})

describe('metadata list shape', () => {
  it('rejects a metadata map instead of a list', async () => {
    const error = await loadError('apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: p\nspec:\n  type: pubsub.mqtt\n  metadata:\n    url: mqtt://h\n')
    expect(error.message).toContain('spec.metadata: must be a list of {name, value} or {name, secretKeyRef} entries')
  })

  it('rejects an entry without a name, or with a list as value', async () => {
    // Malformed on purpose: the Entry type rules out an entry without a name.
    const error = await loadError(pubsubYaml([URL_ENTRY, { value: 'x' } as never, { name: 'qos', value: [1] }]))
    expect(error.message).toContain('spec.metadata[1].name: is required')
    expect(error.message).toContain('spec.metadata.qos: value must be a string, number or bool')
  })

  it('rejects both value and secretKeyRef', async () => {
    // Malformed on purpose: the Entry type rules out value and secretKeyRef together.
    const error = await loadError(pubsubYaml([{ name: 'url', value: 'mqtt://h', secretKeyRef: { name: 'a', key: 'a' } } as never]))
    expect(error.message).toContain('spec.metadata.url: set either value or secretKeyRef, not both')
  })
})
