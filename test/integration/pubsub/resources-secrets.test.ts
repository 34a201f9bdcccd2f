/**
 * The whole path a user configures: Dapr resource YAML with `secretKeyRef`s resolved through
 * Dapr's local secret stores, loaded by the real loader, against a real Mosquitto that needs
 * the password and mutual TLS.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ResourceError } from '../../../src/core/errors.js'
import { PubsubClient } from '../../../src/core/pubsub/index.js'
import { loadResources } from '../../../src/core/resources/index.js'
import { generateCerts, type TestCerts } from '../../helpers/certs.js'
import { startMosquitto, type MosquittoBroker } from '../../../support/mosquitto.js'

const PASSWORD = 'Sup3r-s3cret-pw'

function pubsubYaml(name: string, store: string, refs: Record<string, string>): string {
  const entries = Object.entries(refs)
    .map(([field, secret]) => `    - name: ${field}\n      secretKeyRef:\n        name: ${secret}\n        key: ${secret}`)
    .join('\n')
  return `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${name}
spec:
  type: pubsub.mqtt
  version: v1
  metadata:
    - name: qos
      value: 1
${entries}
auth:
  secretStore: ${store}
`
}

const stores = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: envstore
spec:
  type: secretstores.local.env
  version: v1
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: filestore
spec:
  type: secretstores.local.file
  version: v1
  metadata:
    - name: secretsFile
      value: secrets.json
    - name: nestedSeparator
      value: ":"
`

async function roundTrip(client: PubsubClient, topic: string): Promise<string> {
  const got = new Promise<string>((resolve) => {
    void client.subscribe(topic, (m) => {
      m.ack()
      resolve(m.payload.toString())
    })
  })
  await client.publish(topic, 'through secrets')
  return got
}

describe('resources with secretKeyRef against a real Mosquitto', () => {
  let certs: TestCerts
  let auth: MosquittoBroker
  let tls: MosquittoBroker
  let dir: string

  beforeAll(async () => {
    certs = await generateCerts()
    auth = await startMosquitto({ users: [{ username: 'alice', password: PASSWORD }] })
    tls = await startMosquitto({
      tls: { certfile: certs.server.cert.path, keyfile: certs.server.key.path, cafile: certs.ca.cert.path, requireCertificate: true },
    })
    dir = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-secrets-'))
    await writeFile(path.join(dir, 'stores.yaml'), stores)
    await writeFile(path.join(dir, 'auth.yaml'), pubsubYaml('auth', 'envstore', { url: 'MQTTFN_TEST_URL' }))
    await writeFile(path.join(dir, 'tls.yaml'), pubsubYaml('tls', 'filestore', { url: 'tls:url', caCert: 'tls:ca', clientCert: 'tls:cert', clientKey: 'tls:key' }))
    await writeFile(
      path.join(dir, 'secrets.json'),
      JSON.stringify({ tls: { url: tls.url.replace('mqtts://', 'ssl://'), ca: certs.ca.cert.pem, cert: certs.client.cert.pem, key: certs.client.key.pem } }),
    )
  })
  afterAll(async () => {
    await auth?.stop()
    await tls?.stop()
    await certs?.cleanup()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const env = () => ({ MQTTFN_TEST_URL: auth.url.replace('mqtt://', `tcp://alice:${encodeURIComponent(PASSWORD)}@`) })

  it('username and password from the env secret store reach the broker', async () => {
    const loaded = await loadResources(dir, { env: env() })
    const component = loaded.pubsubs.find((p) => p.name === 'auth')
    expect(component?.metadata.url).toMatchObject({ protocol: 'mqtt', username: 'alice', password: PASSWORD })
    expect(component?.metadata.url.redacted).not.toContain(PASSWORD)
    const client = new PubsubClient(component!)
    try {
      expect(await roundTrip(client, 'secrets/auth')).toBe('through secrets')
    } finally {
      await client.close()
    }
  })

  it('CA, client certificate and key from the file secret store make a mutual-TLS connection', async () => {
    const loaded = await loadResources(dir, { env: env() })
    const component = loaded.pubsubs.find((p) => p.name === 'tls')
    expect(component?.metadata.url.protocol).toBe('mqtts')
    expect(component?.metadata.clientKey).toBe(certs.client.key.pem)
    const client = new PubsubClient(component!)
    try {
      expect(await roundTrip(client, 'secrets/tls')).toBe('through secrets')
    } finally {
      await client.close()
    }
  })

  it('a secretKeyRef to a missing secret names the field, store and secret — never a value', async () => {
    const error = await loadResources(dir, { env: {} }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ResourceError)
    const message = (error as ResourceError).message
    expect(message).toMatch(/auth\.yaml: document 1 \(Component\/auth\): spec\.metadata\.url: .*MQTTFN_TEST_URL/)
    expect(message).toMatch(/envstore/)
    expect(message).not.toContain(PASSWORD)
    expect(message).not.toContain('PRIVATE KEY')
  })
})
