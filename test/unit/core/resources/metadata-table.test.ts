import { describe, expect, it } from 'vitest'
import { MQTT_FIELDS, renderMetadataTable } from '../../../../src/core/resources/index.js'
import { AUTH_FIELDS } from '../../../../src/core/resources/auth-fields.js'
import type { MqttMetadata, PubsubRuntimeMetadata } from '../../../../src/core/resources/types.js'
import { loadPubsub, loadText } from './helpers.js'
import { pubsubYaml } from './builders.js'

describe('field table', () => {
  it('renders a Markdown table with one row per field', () => {
    const table = renderMetadataTable()
    const lines = table.trim().split('\n')
    expect(lines[0]).toBe('| name | type | default | required | sensitive | description |')
    expect(lines).toHaveLength(MQTT_FIELDS.length + 2)
    expect(table).toContain('| `qos` | number | `0` | no | no | QoS of every PUBLISH and SUBSCRIBE.')
    expect(table).toContain('Allowed: 0, 1 or 2.')
    expect(table).toContain('| `url` | url |  | yes | yes |')
    expect(table).toContain('| `clientKey` | pem |  | no | yes |')
  })

  it('documents every extension as such', () => {
    for (const field of MQTT_FIELDS.filter((f) => f.group === 'extension')) {
      expect(field.description, field.name).toMatch(/^Extension/)
    }
  })

  it('drives the parser: every field loads from its example without warnings (drift check)', async () => {
    // The auth fields belong to one method each and need a wss:// URL: checked per method below.
    const auth = new Set(AUTH_FIELDS.map((f) => f.name))
    const entries = MQTT_FIELDS.filter((f) => f.example !== undefined && f.group !== 'ignored' && !auth.has(f.name)).map((f) => ({ name: f.name, value: f.example }))
    entries.push({ name: 'sessionExpiryInterval', value: '60' }, { name: 'protocolVersion', value: '5' })
    const unique = [...new Map(entries.map((e) => [e.name, e])).values()]
    const loaded = await loadText(pubsubYaml(unique))
    expect(loaded.warnings).toEqual([])
    expect(Object.keys(loaded.pubsubs[0]?.raw ?? {}).sort()).toEqual(unique.map((e) => e.name).sort())
  })

  it.each([
    ['aws-sigv4', ['awsRegion', 'alpnProtocols']],
    ['aws-iot-authorizer', ['awsIotAuthorizerName', 'awsIotTokenKeyName', 'awsIotToken', 'awsIotTokenSignature', 'alpnProtocols']],
    ['oauth2-jwt', ['oauth2Scope', 'azureClientId', 'protocolVersion']],
  ])('authMethod %s loads from its fields\' examples without warnings (drift check)', async (method, names) => {
    const example = (name: string) => (name === 'protocolVersion' ? '5' : (AUTH_FIELDS.find((f) => f.name === name)?.example as string))
    const entries = [{ name: 'url', value: 'wss://a1b2c3-ats.iot.eu-west-1.amazonaws.com/mqtt' }, { name: 'authMethod', value: method }, ...names.map((name) => ({ name, value: example(name) }))]
    const loaded = await loadText(pubsubYaml(entries))
    expect(loaded.warnings).toEqual([])
    expect(loaded.pubsubs[0]?.metadata.auth?.method).toBe(method)
    expect(AUTH_FIELDS.every((f) => f.example !== undefined && MQTT_FIELDS.includes(f))).toBe(true)
  })

  it('has a row for every MqttMetadata and runtime field (drift check)', async () => {
    const { metadata, runtime } = await loadPubsub([
      { name: 'url', value: 'mqtt://h' },
      { name: 'sessionExpiryInterval', value: 1 },
      { name: 'allowedTopics', value: 'a' },
      { name: 'protectedTopics', value: 'a' },
      { name: 'publishingScopes', value: 'a=b' },
      { name: 'subscriptionScopes', value: 'a=b' },
    ])
    const names = new Set(MQTT_FIELDS.map((f) => f.name))
    const derived: (keyof MqttMetadata)[] = ['consumerIDConfigured']
    for (const key of Object.keys(metadata) as (keyof MqttMetadata)[]) {
      if (!derived.includes(key)) expect(names.has(key), key).toBe(true)
    }
    for (const key of Object.keys(runtime) as (keyof PubsubRuntimeMetadata)[]) expect(names.has(key), key).toBe(true)
    for (const field of ['caCert', 'clientCert', 'clientKey', 'consumerID'] as const) expect(names.has(field)).toBe(true)
  })

  it('marks url, clientKey and the authorizer token and signature sensitive, and nothing the user must read in errors', () => {
    expect(MQTT_FIELDS.filter((f) => f.sensitive).map((f) => f.name)).toEqual(['url', 'clientKey', 'awsIotToken', 'awsIotTokenSignature'])
  })
})
