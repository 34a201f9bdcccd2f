// infra/resources: the Dapr resources the deployed functions and forwarders load. They must
// load with the environment the platforms provide (the secret variables the stacks set) and
// name exactly those variables; functions must not pin a client id, forwarders must.
import { readdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { describe, expect, it } from 'vitest'
import { BROKER_SECRET_FIELDS, brokerFields } from '../../../infra/aws/config.js'
import { loadResources } from '../../../src/core/resources/index.js'
import { makeCert } from '../core/resources/builders.js'

const root = resolve(import.meta.dirname, '../../..')
const cert = makeCert('resources')
const ENV = {
  MQTT_URL: 'mqtts://user:secret-pw@broker.example.com:8883',
  MQTT_CA_CERT: cert.cert,
  MQTT_CLIENT_CERT: cert.cert,
  MQTT_CLIENT_KEY: cert.key,
  HOSTNAME: 'ip-10-0-1-23.ec2.internal',
}
const FOLDERS = ['functions', 'forwarder', 'forwarder-azure']

/** The environment variables a folder's YAML reads through secretKeyRef. */
async function secretRefs(folder: string): Promise<string[]> {
  const names: string[] = []
  for (const file of await readdir(join(root, 'infra/resources', folder))) {
    for (const doc of parseAllDocuments(await readFile(join(root, 'infra/resources', folder, file), 'utf8'))) {
      const metadata = ((doc.toJS() as { spec?: { metadata?: { secretKeyRef?: { name: string; key: string } }[] } }).spec?.metadata ?? [])
      for (const entry of metadata) {
        if (entry.secretKeyRef) {
          expect(entry.secretKeyRef.key, `${folder}/${file}`).toBe(entry.secretKeyRef.name)
          names.push(entry.secretKeyRef.name)
        }
      }
    }
  }
  return names
}

describe('infra/resources', () => {
  it.each(FOLDERS)('%s loads with the secrets in the environment, warning at most about a long client id', async (folder) => {
    const loaded = await loadResources(join(root, 'infra/resources', folder), { env: ENV })
    // A task's host name is longer than the 23 characters MQTT guarantees; the brokers a
    // forwarder meets in the cloud accept it (see the README (Deploy)).
    const expected = folder === 'functions' ? [] : [expect.stringMatching(/consumerID: is 25 characters; brokers may refuse client ids over 23/)]
    expect(loaded.warnings).toEqual(expected)
    expect(loaded.pubsubs).toHaveLength(1)
    expect(loaded.secretStores.map((s) => s.type)).toEqual(['secretstores.local.env'])
    expect(loaded.pubsubs[0]!.metadata.url.password).toBe('secret-pw')
    expect(loaded.pubsubs[0]!.metadata.qos).toBe(1)
  })

  it.each(FOLDERS)('%s reads the broker through the variables the AWS stack and the ARM template set (brokerTls mutual)', async (folder) => {
    expect((await secretRefs(folder)).sort()).toEqual(brokerFields('mutual').map((f) => f.env).sort())
    const arm = await readFile(join(root, 'infra/azure/azuredeploy.json'), 'utf8')
    for (const { env } of BROKER_SECRET_FIELDS) expect(arm).toContain(`"name": "${env}"`)
  })

  it('fails to load, naming the variable, when a secret is missing', async () => {
    const { MQTT_CLIENT_KEY: _omitted, ...env } = ENV
    await expect(loadResources(join(root, 'infra/resources/functions'), { env })).rejects.toThrow(/MQTT_CLIENT_KEY/)
  })

  it('gives each function instance its own client id, and each forwarder replica a stable one', async () => {
    const fn = await loadResources(join(root, 'infra/resources/functions'), { env: ENV })
    const fn2 = await loadResources(join(root, 'infra/resources/functions'), { env: ENV })
    expect(fn.pubsubs[0]!.metadata.consumerID).toMatch(/^mqttfn-/)
    expect(fn.pubsubs[0]!.metadata.consumerID).not.toBe(fn2.pubsubs[0]!.metadata.consumerID)
    for (const folder of ['forwarder', 'forwarder-azure']) {
      const fwd = await loadResources(join(root, 'infra/resources', folder), { env: ENV })
      expect(fwd.pubsubs[0]!.metadata).toMatchObject({ consumerID: 'ip-10-0-1-23.ec2.internal', protocolVersion: 5, cleanSession: false, sessionExpiryInterval: 300 })
      expect(fwd.subscriptions.map((s) => s.topic)).toEqual(['$share/mqtt-fn/orders/#'])
      expect(fwd.subscriptions[0]!.deadLetterTopic).toBe('orders-dead')
    }
  })
})
