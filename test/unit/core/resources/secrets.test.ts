import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ResourceError } from '../../../../src/core/errors.js'
import { loadResources, loadResourcesFromDocuments, redact } from '../../../../src/core/resources/index.js'
import { docs, makeCert, pubsubYaml, storeYaml } from './builders.js'
import { loadError, loadText } from './helpers.js'

const PASSWORD = 'Pa55-w0rd-xyzzy'
const URL_WITH_PASSWORD = `mqtt://alice:${PASSWORD}@broker:1883`

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mqttfn-secrets-'))
  await writeFile(
    join(dir, 'secrets.json'),
    JSON.stringify({
      'mqtt-url': URL_WITH_PASSWORD,
      nested: { url: URL_WITH_PASSWORD, qos: 2, list: ['a', 'b'] },
      bundle: { user: 'alice', password: PASSWORD },
    }),
  )
  await writeFile(join(dir, 'broken.json'), `{"mqtt-url": "${PASSWORD}",`)
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const envStore = (metadata: { name: string; value: string }[] = []) => storeYaml('envstore', 'secretstores.local.env', metadata)
const fileStore = (metadata: { name: string; value: string }[]) => storeYaml('filestore', 'secretstores.local.file', metadata)

describe('secretKeyRef through secretstores.local.env', () => {
  it('reads the variable named by the secret', async () => {
    const text = docs(envStore(), pubsubYaml([{ name: 'url', secretKeyRef: { name: 'MQTT_URL', key: 'MQTT_URL' } }], { secretStore: 'envstore' }))
    const loaded = await loadText(text, { env: { MQTT_URL: URL_WITH_PASSWORD } })
    expect(loaded.pubsubs[0]?.metadata.url.password).toBe(PASSWORD)
    expect(loaded.secretStores).toEqual([
      { file: 'res/test.yaml', document: 1, kind: 'Component', name: 'envstore', type: 'secretstores.local.env', raw: {} },
    ])
  })

  it('prepends the prefix', async () => {
    const text = docs(
      envStore([{ name: 'prefix', value: 'MYAPP_' }]),
      pubsubYaml([URL_ENTRY_SECRET('URL')], { secretStore: 'envstore' }),
    )
    const loaded = await loadText(text, { env: { MYAPP_URL: 'mqtt://b:1' } })
    expect(loaded.pubsubs[0]?.metadata.url.host).toBe('b')
  })

  it('reports an unset variable, naming field, store and secret', async () => {
    const text = docs(envStore(), pubsubYaml([URL_ENTRY_SECRET('NOPE')], { secretStore: 'envstore' }))
    const error = await loadError(text, { env: {} })
    expect(error.message).toBe(
      'res/test.yaml: document 2 (Component/pubsub): spec.metadata.url: secret "NOPE" not found in secret store "envstore" (secretstores.local.env): environment variable "NOPE" is not set',
    )
  })

  it('refuses DAPR_* and APP_API_TOKEN, as daprd does', async () => {
    const text = docs(envStore(), pubsubYaml([URL_ENTRY_SECRET('DAPR_API_TOKEN')], { secretStore: 'envstore' }))
    const error = await loadError(text, { env: { DAPR_API_TOKEN: 'tok' } })
    expect(error.message).toContain('is off limits')
  })

  it("uses Dapr's default key _value when secretKeyRef.key is omitted, and explains", async () => {
    const text = docs(envStore(), pubsubYaml([{ name: 'url', secretKeyRef: { name: 'MQTT_URL' } }], { secretStore: 'envstore' }))
    const error = await loadError(text, { env: { MQTT_URL: URL_WITH_PASSWORD } })
    expect(error.message).toContain('secret "MQTT_URL" in secret store "envstore" (secretstores.local.env) has no key "_value"')
    expect(error.message).toContain("this secret's keys: MQTT_URL")
    expect(error.message).not.toContain(PASSWORD)
  })
})

describe('secretKeyRef through secretstores.local.file', () => {
  it('reads a top-level secret, resolving secretsFile against the YAML folder', async () => {
    const text = docs(fileStore([{ name: 'secretsFile', value: 'secrets.json' }]), pubsubYaml([URL_ENTRY_SECRET('mqtt-url')], { secretStore: 'filestore' }))
    const loaded = await loadResourcesFromDocuments([{ file: join(dir, 'res.yaml'), text }], { env: {} })
    expect(loaded.pubsubs[0]?.metadata.url.password).toBe(PASSWORD)
  })

  it('flattens nested objects and arrays with the separator (default ":")', async () => {
    const text = docs(
      fileStore([{ name: 'secretsFile', value: join(dir, 'secrets.json') }]),
      pubsubYaml(
        [URL_ENTRY_SECRET('nested:url'), { name: 'qos', secretKeyRef: { name: 'nested:qos', key: 'nested:qos' } }, { name: 'consumerID', secretKeyRef: { name: 'nested:list:1', key: 'nested:list:1' } }],
        { secretStore: 'filestore' },
      ),
    )
    const loaded = await loadText(text)
    expect(loaded.pubsubs[0]?.metadata).toMatchObject({ qos: 2, consumerID: 'b' })
  })

  it('honours nestedSeparator', async () => {
    const text = docs(
      fileStore([{ name: 'secretsFile', value: join(dir, 'secrets.json') }, { name: 'nestedSeparator', value: '.' }]),
      pubsubYaml([URL_ENTRY_SECRET('nested.url')], { secretStore: 'filestore' }),
    )
    expect((await loadText(text)).pubsubs[0]?.metadata.url.password).toBe(PASSWORD)
  })

  it('multiValued: a top-level object is one secret with many keys', async () => {
    const text = docs(
      fileStore([{ name: 'secretsFile', value: join(dir, 'secrets.json') }, { name: 'multiValued', value: 'true' }]),
      pubsubYaml(
        [{ name: 'url', value: 'mqtt://broker' }, { name: 'consumerID', secretKeyRef: { name: 'bundle', key: 'user' } }],
        { secretStore: 'filestore' },
      ),
    )
    expect((await loadText(text)).pubsubs[0]?.metadata.consumerID).toBe('alice')
  })

  it('reports a missing secret, naming field, store and secret', async () => {
    const text = docs(fileStore([{ name: 'secretsFile', value: join(dir, 'secrets.json') }]), pubsubYaml([URL_ENTRY_SECRET('absent')], { secretStore: 'filestore' }))
    const error = await loadError(text)
    expect(error.message).toBe(
      'res/test.yaml: document 2 (Component/pubsub): spec.metadata.url: secret "absent" not found in secret store "filestore" (secretstores.local.file): secret "absent" is not in the secrets file',
    )
  })

  it('reports a missing key inside a secret, listing the keys', async () => {
    const text = docs(
      fileStore([{ name: 'secretsFile', value: join(dir, 'secrets.json') }, { name: 'multiValued', value: 'true' }]),
      pubsubYaml([{ name: 'url', secretKeyRef: { name: 'bundle', key: 'pass' } }], { secretStore: 'filestore' }),
    )
    const error = await loadError(text)
    expect(error.message).toContain('secret "bundle" in secret store "filestore" (secretstores.local.file) has no key "pass" (this secret\'s keys: user, password)')
    expect(error.message).not.toContain(PASSWORD)
  })

  it('reports an unreadable or invalid secrets file on the store, without quoting it', async () => {
    const missing = await loadError(fileStore([{ name: 'secretsFile', value: join(dir, 'nope.json') }]))
    expect(missing.message).toMatch(/\(Component\/filestore\): spec\.metadata\.secretsFile: cannot read .*nope\.json \(ENOENT\)/)
    const broken = await loadError(docs(
      fileStore([{ name: 'secretsFile', value: join(dir, 'broken.json') }]),
      pubsubYaml([URL_ENTRY_SECRET('mqtt-url')], { secretStore: 'filestore' }),
    ))
    expect(broken.message).toContain('broken.json is not valid JSON')
    expect(broken.message).toContain('secret store "filestore" has errors (see above)')
    expect(broken.message).not.toContain(PASSWORD)
  })

  it('requires secretsFile', async () => {
    const error = await loadError(fileStore([]))
    expect(error.message).toContain('spec.metadata.secretsFile: is required')
  })
})

describe('secretKeyRef failures', () => {
  it('requires auth.secretStore (daprd would use the kubernetes store)', async () => {
    const error = await loadError(pubsubYaml([URL_ENTRY_SECRET('MQTT_URL')]))
    expect(error.message).toContain('spec.metadata.url: secretKeyRef to secret "MQTT_URL" needs auth.secretStore')
    expect(error.message).not.toContain('is required (missing url)')
  })

  it('reports a store that is not defined', async () => {
    const error = await loadError(pubsubYaml([URL_ENTRY_SECRET('MQTT_URL')], { secretStore: 'vault' }))
    expect(error.message).toContain('secret store "vault" (auth.secretStore) is not defined in the resources')
  })

  it('reports a store of a type mqtt-fn cannot read', async () => {
    const text = docs(storeYaml('vault', 'secretstores.hashicorp.vault', []), pubsubYaml([URL_ENTRY_SECRET('x')], { secretStore: 'vault' }))
    const error = await loadError(text)
    expect(error.message).toContain('has type secretstores.hashicorp.vault; mqtt-fn reads only secretstores.local.env and secretstores.local.file')
  })

  it('rejects secretKeyRef inside a secret store', async () => {
    const error = await loadError(storeYaml('s', 'secretstores.local.env', [{ name: 'prefix', secretKeyRef: { name: 'a', key: 'a' } }]))
    expect(error.message).toContain('spec.metadata.prefix: secretKeyRef cannot be used in the metadata of a secret store')
  })
})

describe('secrets stay out of messages', () => {
  it('hides a secret value even where a plain value would be quoted', async () => {
    const text = docs(envStore(), pubsubYaml([{ name: 'url', value: 'mqtt://b' }, { name: 'qos', secretKeyRef: { name: 'QOS', key: 'QOS' } }], { secretStore: 'envstore' }))
    const error = await loadError(text, { env: { QOS: 'Zq9-secret-qos' } })
    expect(error.message).toContain('spec.metadata.qos: must be 0, 1 or 2')
    expect(error.message).not.toContain('Zq9-secret-qos')
  })

  it('keeps the password out of every message and warning of a bad component', async () => {
    const key = makeCert().key
    const text = docs(
      envStore(),
      pubsubYaml(
        [
          { name: 'url', value: `http://alice:${PASSWORD}@broker` },
          { name: 'clientKey', value: key },
          { name: 'unknownKey', value: PASSWORD },
          { name: 'retain', secretKeyRef: { name: 'RETAIN', key: 'RETAIN' } },
        ],
        { secretStore: 'envstore' },
      ),
    )
    const error = await loadError(text, { env: { RETAIN: PASSWORD } })
    expect(error.message).not.toContain(PASSWORD)
    expect(error.message).not.toContain(key.split('\n')[1])
  })

  it('registers secrets so that redact() masks them in any log line', async () => {
    const text = docs(envStore(), pubsubYaml([URL_ENTRY_SECRET('MQTT_URL')], { secretStore: 'envstore' }))
    const loaded = await loadText(text, { env: { MQTT_URL: URL_WITH_PASSWORD } })
    expect(loaded.sensitiveValues).toContain(PASSWORD)
    expect(loaded.pubsubs[0]?.sensitiveValues).toContain(URL_WITH_PASSWORD)
    const line = `connecting with ${PASSWORD} to ${URL_WITH_PASSWORD}`
    expect(redact(line)).not.toContain(PASSWORD)
    expect(redact(line)).toBe('connecting with *** to ***')
  })
})

describe('loadResources with a secret file next to the YAML', () => {
  it('resolves a relative secretsFile against the resources folder', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'mqttfn-folder-'))
    try {
      await writeFile(join(folder, 'secrets.json'), JSON.stringify({ url: 'mqtt://from-file:1' }))
      await writeFile(join(folder, 'store.yaml'), fileStore([{ name: 'secretsFile', value: 'secrets.json' }]))
      await writeFile(join(folder, 'pubsub.yaml'), pubsubYaml([URL_ENTRY_SECRET('url')], { secretStore: 'filestore' }))
      const loaded = await loadResources(folder, { env: {} })
      expect(loaded.pubsubs[0]?.metadata.url.host).toBe('from-file')
    } finally {
      await rm(folder, { recursive: true, force: true })
    }
  })

  it('throws only ResourceError', async () => {
    await expect(loadResources(join(dir, 'no-such-folder'))).rejects.toBeInstanceOf(ResourceError)
  })
})

function URL_ENTRY_SECRET(name: string) {
  return { name: 'url', secretKeyRef: { name, key: name } }
}
