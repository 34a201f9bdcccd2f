import { describe, expect, it } from 'vitest'
import { ResourceError } from '../../../../src/core/errors.js'
import { parseMqttMetadata } from '../../../../src/core/resources/index.js'
import { pubsubYaml } from './builders.js'
import { ENV, URL_ENTRY, loadError, loadPubsub, loadText } from './helpers.js'

describe('pubsub.mqtt metadata: defaults', () => {
  it('uses the seed defaults: qos 0, retain false, cleanSession true', async () => {
    const { metadata } = await loadPubsub([URL_ENTRY])
    expect(metadata.qos).toBe(0)
    expect(metadata.retain).toBe(false)
    expect(metadata.cleanSession).toBe(true)
  })

  it('uses the extension defaults: MQTT 3.1.1, 5000 ms timeouts, keepAlive 30, maxInflight 100', async () => {
    const { metadata } = await loadPubsub([URL_ENTRY])
    expect(metadata.protocolVersion).toBe(4)
    expect(metadata.connectTimeout).toBe(5000)
    expect(metadata.publishTimeout).toBe(5000)
    expect(metadata.keepAlive).toBe(30)
    expect(metadata.maxInflight).toBe(100)
    expect(metadata.sessionExpiryInterval).toBeUndefined()
  })

  it('loads the seed example as written (qos unquoted, bools quoted)', async () => {
    const text = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: mqtt-pubsub
  namespace: default
spec:
  type: pubsub.mqtt
  version: v1
  metadata:
  - name: url
    value: "tcp://user:pw@host.domain:1884"
  - name: qos
    value: 1
  - name: retain
    value: "false"
  - name: cleanSession
    value: "false"
`
    const loaded = await loadText(text)
    const pubsub = loaded.pubsubs[0]
    expect(pubsub?.metadata.qos).toBe(1)
    expect(pubsub?.metadata.cleanSession).toBe(false)
    expect(pubsub?.metadata.url).toMatchObject({ protocol: 'mqtt', host: 'host.domain', port: 1884, username: 'user', password: 'pw' })
    expect(pubsub?.raw).toEqual({ url: 'tcp://user:pw@host.domain:1884', qos: '1', retain: 'false', cleanSession: 'false' })
  })

  it('accepts pubsub.mqtt3 and a missing spec.version (the seed TLS example has none)', async () => {
    const loaded = await loadText(pubsubYaml([URL_ENTRY], { type: 'pubsub.mqtt3', version: null }))
    expect(loaded.pubsubs[0]?.type).toBe('pubsub.mqtt3')
  })

  it('rejects another spec.version', async () => {
    const error = await loadError(pubsubYaml([URL_ENTRY], { version: 'v2' }))
    expect(error.message).toContain('spec.version: must be v1')
    expect(error.message).toContain('(got "v2")')
  })

  it('rejects another apiVersion and requires metadata.name', async () => {
    const text = `apiVersion: dapr.io/v2
kind: Component
metadata: {}
spec:
  type: pubsub.mqtt
  metadata:
  - name: url
    value: mqtt://h
`
    const error = await loadError(text)
    expect(error.message).toContain('apiVersion: must be dapr.io/v1alpha1')
    expect(error.message).toContain('metadata.name: is required')
  })
})

describe('pubsub.mqtt metadata: Dapr parsing rules', () => {
  it.each([
    ['y', true], ['YES', true], ['true', true], ['T', true], ['On', true], ['1', true],
    ['false', false], ['no', false], ['0', false], ['off', false], ['', true /* empty = default true */],
  ])('cleanSession %j → %s (IsTruthy; empty means the default)', async (value, expected) => {
    const { metadata } = await loadPubsub([URL_ENTRY, { name: 'cleanSession', value }])
    expect(metadata.cleanSession).toBe(expected)
  })

  it('treats any other bool text as false, with a warning', async () => {
    const loaded = await loadText(pubsubYaml([URL_ENTRY, { name: 'retain', value: 'ture' }]))
    expect(loaded.pubsubs[0]?.metadata.retain).toBe(false)
    expect(loaded.warnings.join('\n')).toMatch(/spec\.metadata\.retain: not a recognised boolean \(got "ture"\); treated as false/)
  })

  it('accepts YAML bools and numbers, converted to strings first', async () => {
    const pubsub = await loadPubsub([URL_ENTRY, { name: 'retain', value: true }, { name: 'qos', value: 2 }])
    expect(pubsub.metadata.retain).toBe(true)
    expect(pubsub.metadata.qos).toBe(2)
    expect(pubsub.raw['retain']).toBe('true')
    expect(pubsub.raw['qos']).toBe('2')
  })

  it('matches keys case-insensitively', async () => {
    const pubsub = await loadPubsub([{ name: 'URL', value: 'mqtt://h:1' }, { name: 'QoS', value: '1' }, { name: 'CLEANSESSION', value: 'false' }])
    expect(pubsub.metadata.url.port).toBe(1)
    expect(pubsub.metadata.qos).toBe(1)
    expect(pubsub.metadata.cleanSession).toBe(false)
  })

  it('rejects two keys that differ only in case', async () => {
    const error = await loadError(pubsubYaml([URL_ENTRY, { name: 'qos', value: 1 }, { name: 'QOS', value: 2 }]))
    expect(error.message).toContain('spec.metadata.QOS: key "QOS" is duplicate in the metadata')
  })

  it('rejects the same key twice', async () => {
    const error = await loadError(pubsubYaml([URL_ENTRY, { name: 'retain', value: 'true' }, { name: 'retain', value: 'false' }]))
    expect(error.message).toContain('key "retain" is duplicate in the metadata')
  })

  it('accepts numbers written as strings', async () => {
    const { metadata } = await loadPubsub([URL_ENTRY, { name: 'keepAlive', value: '45' }, { name: 'connectTimeout', value: '250' }])
    expect(metadata.keepAlive).toBe(45)
    expect(metadata.connectTimeout).toBe(250)
  })

  it('rejects a non-number, naming the field', async () => {
    const error = await loadError(pubsubYaml([URL_ENTRY, { name: 'keepAlive', value: 'soon' }]))
    expect(error.message).toBe('res/test.yaml: document 1 (Component/pubsub): spec.metadata.keepAlive: must be a whole number (got "soon")')
  })

  it('rejects qos 3', async () => {
    const error = await loadError(pubsubYaml([URL_ENTRY, { name: 'qos', value: 3 }]))
    expect(error.message).toContain('spec.metadata.qos: must be 0, 1 or 2 (got "3")')
  })

  it('rejects a number out of bounds', async () => {
    const error = await loadError(pubsubYaml([URL_ENTRY, { name: 'keepAlive', value: 70000 }, { name: 'maxInflight', value: 0 }]))
    expect(error.message).toContain('spec.metadata.keepAlive: must be between 0 and 65535 (got "70000")')
    expect(error.message).toContain('spec.metadata.maxInflight: must be between 1 and 65535 (got "0")')
  })

  it('requires url', async () => {
    const error = await loadError(pubsubYaml([{ name: 'qos', value: 1 }]))
    expect(error.message).toContain('spec.metadata.url: is required (missing url)')
  })

  it('treats an empty url as missing', async () => {
    const error = await loadError(pubsubYaml([{ name: 'url', value: '' }]))
    expect(error.message).toContain('spec.metadata.url: is required')
  })

  it('collects every problem of the component at once', async () => {
    const error = await loadError(pubsubYaml([{ name: 'qos', value: 9 }, { name: 'keepAlive', value: 'x' }]))
    expect(error.problems.map((p) => p.field)).toEqual(['spec.metadata.url', 'spec.metadata.qos', 'spec.metadata.keepAlive'])
  })
})

describe('pubsub.mqtt metadata: warnings', () => {
  it('warns about an unknown key, formatted like an error, with a suggestion', async () => {
    const loaded = await loadText(pubsubYaml([URL_ENTRY, { name: 'cleanSesion', value: 'false' }]))
    expect(loaded.warnings).toEqual([
      'res/test.yaml: document 1 (Component/pubsub): spec.metadata.cleanSesion: unknown metadata key for pubsub.mqtt; ignored; did you mean cleanSession?',
    ])
    expect(loaded.pubsubs[0]?.raw['cleanSesion']).toBe('false')
  })

  it.each(['backOffMaxRetries', 'producerID', 'maxRetriableErrorsPerSec'])('accepts the old key %s with a warning', async (name) => {
    const loaded = await loadText(pubsubYaml([URL_ENTRY, { name, value: '3' }]))
    expect(loaded.pubsubs).toHaveLength(1)
    expect(loaded.warnings.join('\n')).toContain(`spec.metadata.${name}: not supported by pubsub.mqtt3; ignored`)
  })

  it('warns that a persistent session with a generated consumerID is never resumed', async () => {
    const loaded = await loadText(pubsubYaml([URL_ENTRY, { name: 'cleanSession', value: 'false' }]))
    expect(loaded.warnings.join('\n')).toContain('needs a stable consumerID')
  })

  it('warns that MQTT 5 persistent sessions need sessionExpiryInterval, and that 3.1.1 ignores it', async () => {
    const v5 = await loadText(
      pubsubYaml([URL_ENTRY, { name: 'consumerID', value: 'c1' }, { name: 'cleanSession', value: 'false' }, { name: 'protocolVersion', value: 5 }]),
    )
    expect(v5.warnings.join('\n')).toContain('unless sessionExpiryInterval is set')
    const v4 = await loadText(pubsubYaml([URL_ENTRY, { name: 'sessionExpiryInterval', value: 60 }]))
    expect(v4.warnings.join('\n')).toContain('sessionExpiryInterval: is used only with protocolVersion 5; ignored')
  })

  it('reads the extensions', async () => {
    const { metadata } = await loadPubsub([
      URL_ENTRY,
      { name: 'consumerID', value: 'c1' },
      { name: 'protocolVersion', value: 5 },
      { name: 'sessionExpiryInterval', value: 3600 },
      { name: 'publishTimeout', value: 1500 },
      { name: 'maxInflight', value: 10 },
    ])
    expect(metadata).toMatchObject({ protocolVersion: 5, sessionExpiryInterval: 3600, publishTimeout: 1500, maxInflight: 10 })
  })

  it('rejects protocolVersion 3', async () => {
    const error = await loadError(pubsubYaml([URL_ENTRY, { name: 'protocolVersion', value: 3 }]))
    expect(error.message).toContain('spec.metadata.protocolVersion: must be 4 or 5 (got "3")')
  })
})

describe('pubsub.mqtt metadata: runtime keys', () => {
  it('parses allowedTopics, protectedTopics and the scopes into runtime', async () => {
    const pubsub = await loadPubsub([
      URL_ENTRY,
      { name: 'allowedTopics', value: 'orders, orders/#,,' },
      { name: 'protectedTopics', value: 'payments' },
      { name: 'publishingScopes', value: 'app1=t1,t2;app2=t3;app1=t1,t4' },
      { name: 'subscriptionScopes', value: 'app1=;app2=t3' },
    ])
    expect(pubsub.runtime).toEqual({
      allowedTopics: ['orders', 'orders/#'],
      protectedTopics: ['payments'],
      publishingScopes: { app1: ['t1', 't2', 't4'], app2: ['t3'] },
      subscriptionScopes: { app1: [], app2: ['t3'] },
    })
  })

  it('warns about a scope entry without "=" (daprd skips it)', async () => {
    const loaded = await loadText(pubsubYaml([URL_ENTRY, { name: 'publishingScopes', value: 'app1;app2=t' }]))
    expect(loaded.pubsubs[0]?.runtime.publishingScopes).toEqual({ app2: ['t'] })
    expect(loaded.warnings.join('\n')).toContain('1 entry has no "="')
  })

  it('keeps the component scopes', async () => {
    const loaded = await loadText(pubsubYaml([URL_ENTRY], { scopes: ['app1', 'app2'] }))
    expect(loaded.pubsubs[0]?.scopes).toEqual(['app1', 'app2'])
  })
})

describe('consumerID', () => {
  it('expands {appID}, {podName}, {namespace} as daprd does', async () => {
    const { metadata } = await loadPubsub([URL_ENTRY, { name: 'consumerID', value: '{appID}|{podName}|{namespace}' }], {
      appId: 'orders',
      env: { POD_NAME: 'pod-7', HOSTNAME: 'ignored', NAMESPACE: 'prod' },
    })
    expect(metadata.consumerID).toBe('orders|pod-7|prod.orders')
    expect(metadata.consumerIDConfigured).toBe(true)
  })

  it('falls back: appId from APP_ID, podName from HOSTNAME, namespace "default"', async () => {
    const { metadata } = await loadPubsub([URL_ENTRY, { name: 'consumerID', value: '{appID}-{podName}-{namespace}' }], {
      env: { APP_ID: 'envapp', HOSTNAME: 'host-9' },
    })
    expect(metadata.consumerID).toBe('envapp-host-9-default.envapp')
  })

  it('gives each {uuid} its own UUID', async () => {
    const { metadata } = await loadPubsub([URL_ENTRY, { name: 'consumerID', value: '{uuid}/{uuid}' }])
    const [a, b] = metadata.consumerID.split('/')
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(b).toMatch(/^[0-9a-f-]{36}$/)
    expect(a).not.toBe(b)
  })

  it('marks a namespace-scoped component (a value used {namespace})', async () => {
    const pubsub = await loadPubsub([URL_ENTRY, { name: 'consumerID', value: 'c-{namespace}' }], { env: { NAMESPACE: 'ns1' } })
    expect(pubsub.runtime.namespace).toBe('ns1')
    const plain = await loadPubsub([URL_ENTRY])
    expect(plain.runtime.namespace).toBeUndefined()
  })

  it('generates an id unique per load when absent, at most 23 characters', async () => {
    const a = await loadPubsub([URL_ENTRY], { appId: 'orders' })
    const b = await loadPubsub([URL_ENTRY], { appId: 'orders' })
    expect(a.metadata.consumerIDConfigured).toBe(false)
    expect(a.metadata.consumerID).toMatch(/^mqttfn-orders-[0-9a-f]{8}$/)
    expect(a.metadata.consumerID).not.toBe(b.metadata.consumerID)
    const long = await loadPubsub([URL_ENTRY], { appId: 'a-very-long-application-name' })
    expect(long.metadata.consumerID.length).toBeLessThanOrEqual(23)
    expect(long.metadata.consumerID).toMatch(/^mqttfn-a-very-[0-9a-f]{8}$/)
  })

  it('uses "app" when no app id is known', async () => {
    const { metadata } = await loadPubsub([URL_ENTRY])
    expect(metadata.consumerID).toMatch(/^mqttfn-app-[0-9a-f]{8}$/)
  })

  it('treats an empty consumerID as absent', async () => {
    const { metadata } = await loadPubsub([URL_ENTRY, { name: 'consumerID', value: '' }])
    expect(metadata.consumerIDConfigured).toBe(false)
  })

  it('warns about a configured id over 23 characters', async () => {
    const loaded = await loadText(pubsubYaml([URL_ENTRY, { name: 'consumerID', value: '{uuid}' }]), { env: ENV })
    expect(loaded.warnings.join('\n')).toContain('spec.metadata.consumerID: is 36 characters')
  })
})

describe('parseMqttMetadata', () => {
  it('parses a plain map outside a resources folder', () => {
    const parsed = parseMqttMetadata({ url: 'mqtts://broker:9000', qos: 1, retain: true }, { env: ENV })
    expect(parsed.metadata.url).toMatchObject({ protocol: 'mqtts', port: 9000 })
    expect(parsed.metadata.qos).toBe(1)
    expect(parsed.metadata.retain).toBe(true)
    expect(parsed.warnings).toEqual([])
  })

  it('parses a Dapr list and throws ResourceError naming the location', () => {
    expect(() => parseMqttMetadata([{ name: 'qos', value: '7' }], { env: ENV })).toThrow(ResourceError)
    try {
      parseMqttMetadata([{ name: 'url', value: 'mqtt://h' }, { name: 'qos', value: '7' }], {
        env: ENV,
        location: { file: 'cli', document: 1, kind: 'Component', name: 'flags' },
      })
    } catch (error) {
      expect((error as Error).message).toBe('cli: document 1 (Component/flags): spec.metadata.qos: must be 0, 1 or 2 (got "7")')
    }
  })

  it('rejects secretKeyRef (no secret store without resources)', () => {
    expect(() => parseMqttMetadata([{ name: 'url', secretKeyRef: { name: 's', key: 's' } }], { env: ENV })).toThrow(/needs a secret store/)
  })
})
