import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { ResourceError } from '../../../../src/core/errors.js'
import { loadResourcesFromDocuments } from '../../../../src/core/resources/index.js'
import type { LoadedResources } from '../../../../src/core/resources/types.js'
import { MQTT_FIELDS } from '../../../../src/core/resources/mqtt-fields.js'

/** Loads and returns the outcome; any throw other than ResourceError fails the property. */
async function outcome(text: string, env: Record<string, string> = {}): Promise<LoadedResources | ResourceError> {
  try {
    return await loadResourcesFromDocuments([{ file: 'fuzz.yaml', text }], { env, appId: 'fuzz' })
  } catch (error) {
    if (!(error instanceof ResourceError)) throw error
    // The loader turns its own bugs into this problem; a fuzz hit on it is still a bug.
    expect(error.message).not.toContain('internal error')
    expect(error.problems.length).toBeGreaterThan(0)
    return error
  }
}

const scalar = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('0', '1', '2', '3', 'true', 'false', 'yes', '{uuid}', '{appID}', '{podName}', '{namespace}', 'mqtt://h', 'ws://h/p', 'http://h'),
)
const value = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), scalar, { maxKeys: 3 }))
const fieldName = fc.oneof(
  fc.constantFrom(...MQTT_FIELDS.map((f) => f.name)),
  fc.constantFrom(...MQTT_FIELDS.map((f) => f.name.toUpperCase())),
  fc.string({ maxLength: 12 }),
)
const entry = fc.oneof(
  fc.record({ name: fieldName, value }),
  fc.record({ name: fieldName, secretKeyRef: fc.record({ name: fc.string({ maxLength: 8 }), key: fc.option(fc.string({ maxLength: 8 })) }) }),
  value,
)
const metadataList = fc.oneof(fc.array(entry, { maxLength: 8 }), value)

const component = fc.record({
  apiVersion: fc.constantFrom('dapr.io/v1alpha1', 'dapr.io/v2alpha1', 'x'),
  kind: fc.constantFrom('Component'),
  metadata: fc.record({ name: fc.oneof(fc.constantFrom('pubsub', 'store', ''), fc.string({ maxLength: 6 })) }),
  spec: fc.record({
    type: fc.constantFrom('pubsub.mqtt', 'pubsub.mqtt3', 'secretstores.local.env', 'secretstores.local.file', 'state.redis', 'pubsub.redis'),
    version: fc.option(fc.constantFrom('v1', 'v2', '')),
    metadata: metadataList,
  }),
  auth: fc.option(fc.record({ secretStore: fc.oneof(fc.constantFrom('store'), value) })),
  scopes: fc.option(fc.oneof(fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }), value)),
})

const subscription = fc.record({
  apiVersion: fc.constantFrom('dapr.io/v1alpha1', 'dapr.io/v2alpha1', 'x'),
  kind: fc.constant('Subscription'),
  metadata: fc.record({ name: fc.string({ maxLength: 6 }) }),
  spec: fc.oneof(
    value,
    fc.record({
      pubsubname: fc.oneof(fc.constant('pubsub'), value),
      topic: value,
      route: fc.option(value),
      routes: fc.option(fc.oneof(value, fc.record({ rules: fc.oneof(value, fc.array(fc.record({ match: value, path: value }), { maxLength: 3 })), default: value }))),
      deadLetterTopic: fc.option(value),
      metadata: fc.option(value),
      bulkSubscribe: fc.option(fc.oneof(value, fc.record({ enabled: value, maxMessagesCount: value, maxAwaitDurationMs: value }))),
    }),
  ),
  scopes: fc.option(value),
})

const document = fc.oneof(component, subscription, value, fc.record({ kind: fc.string({ maxLength: 10 }), spec: value }))

describe('loader fuzz', () => {
  it('arbitrary text never makes it throw anything but ResourceError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (text) => {
        await outcome(text)
      }),
      { numRuns: 400 },
    )
  })

  it('YAML-looking text (indentation, dashes, colons, quotes) never makes it throw anything else', async () => {
    const token = fc.constantFrom('---\n', '- ', ': ', '  ', '\n', '"', "'", '[', ']', '{', '}', '#', '&a ', '*a', '!!str ', '|\n', 'kind', 'Component', 'spec', 'metadata', 'name', 'value', 'url', '\t', '%YAML 1.2\n', '? ', '<<: ')
    await fc.assert(
      fc.asyncProperty(fc.array(token, { maxLength: 60 }), async (tokens) => {
        await outcome(tokens.join(''))
      }),
      { numRuns: 400 },
    )
  })

  it('arbitrary Dapr-shaped documents never make it throw anything else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(document, { minLength: 1, maxLength: 4 }), async (docs) => {
        const text = docs.map((d) => `---\n${stringify(d)}`).join('')
        await outcome(text, { SECRET: 'x' })
      }),
      { numRuns: 300 },
    )
  })

  it('arbitrary metadata values on a pubsub component only load or raise ResourceError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ name: fieldName, value }), { maxLength: 10 }), async (entries) => {
        const text = stringify({
          apiVersion: 'dapr.io/v1alpha1',
          kind: 'Component',
          metadata: { name: 'pubsub' },
          spec: { type: 'pubsub.mqtt', version: 'v1', metadata: [{ name: 'url', value: 'mqtt://h' }, ...entries] },
        })
        await outcome(text)
      }),
      { numRuns: 400 },
    )
  })

  it('a password never appears in an error or a warning, whatever else is wrong', async () => {
    const password = fc.stringMatching(/^[A-Za-z0-9]{10,16}$/).map((s) => `Zq${s}`)
    const scheme = fc.constantFrom('mqtt', 'tcp', 'mqtts', 'ws', 'wss', 'http', 'ftp', 'MQTT')
    const tail = fc.constantFrom('', ':1883', ':99999', ':x', '/path', '/p?q=1', ':0', ' ')
    await fc.assert(
      fc.asyncProperty(
        password,
        scheme,
        fc.constantFrom('broker', '', '[::1]', 'h%zz'),
        tail,
        fc.array(fc.record({ name: fieldName, value: scalar }), { maxLength: 5 }),
        fc.constantFrom('qos', 'retain', 'keepAlive', 'consumerID', 'clientKey', 'caCert', 'protocolVersion'),
        async (secret, s, host, rest, entries, secretField) => {
          const text = [
            stringify({ apiVersion: 'dapr.io/v1alpha1', kind: 'Component', metadata: { name: 'env' }, spec: { type: 'secretstores.local.env', version: 'v1' } }),
            stringify({
              apiVersion: 'dapr.io/v1alpha1',
              kind: 'Component',
              metadata: { name: 'pubsub' },
              auth: { secretStore: 'env' },
              spec: {
                type: 'pubsub.mqtt',
                version: 'v1',
                metadata: [
                  { name: 'url', value: `${s}://user:${secret}@${host}${rest}` },
                  { name: secretField, secretKeyRef: { name: 'SECRET', key: 'SECRET' } },
                  ...entries.filter((e) => e.name.toLowerCase() !== 'url' && e.name.toLowerCase() !== secretField.toLowerCase()),
                ],
              },
            }),
          ].join('---\n')
          const result = await outcome(text, { SECRET: secret })
          const texts = result instanceof ResourceError ? [result.message] : result.warnings
          for (const t of texts) expect(t).not.toContain(secret)
        },
      ),
      { numRuns: 300 },
    )
  })
})
