/**
 * The Kubernetes deployment of infra/kubernetes, run as far as this machine can without a
 * cluster or Docker: Mosquitto (Debian's 2.0) started with the mosquitto.conf of the
 * ConfigMap, and two forwarder replicas started as the image starts them (bin/mqtt-fn.mjs
 * beside the CLI bundle, no src/; the Deployment's args; MQTT_URL from the Secret and POD_NAME
 * in the environment; the ConfigMap's resources mounted in a folder). What the cluster would
 * check is checked: the probes' paths on the metrics port, the Prometheus endpoint, the $share
 * subscription splitting the messages between the replicas, and a clean stop on SIGTERM.
 * Only the route's host (a cluster DNS name) is pointed at a local HTTP server.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseAllDocuments } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MqttClient } from 'mqtt'
import { buildCli } from '../../../scripts/build-cli.mjs'
import { cloudEvent, mqttClient, publishAll, startApp, waitFor, type TestApp } from '../../helpers/forwarder.js'
import { MOSQUITTO_BIN } from '../../../support/mosquitto.js'
import { getFreePort, waitForPort } from '../../../support/ports.js'

const root = resolve(import.meta.dirname, '../../..')
const CLUSTER_ROUTE = 'http://orders.mqtt-fn.svc.cluster.local:8080/orders'

interface K8sDoc {
  kind: string
  metadata: { name: string }
  data?: Record<string, string>
  stringData?: Record<string, string>
  spec?: { template?: { spec: { containers: { args: string[] }[] } } }
}

interface Replica {
  name: string
  port: number
  proc: ChildProcess
  output: () => string
  exited: Promise<number | string>
}

let work: string
let image: string
let app: TestApp
let mosquitto: ChildProcess
let brokerPort: number
let publisher: MqttClient
const replicas: Replica[] = []

async function manifests(): Promise<K8sDoc[]> {
  const docs: K8sDoc[] = []
  for (const file of ['forwarder-resources.yaml', 'broker-secret.yaml', 'forwarder.yaml', 'mosquitto.yaml']) {
    for (const doc of parseAllDocuments(await readFile(join(root, 'infra/kubernetes', file), 'utf8'))) docs.push(doc.toJS() as K8sDoc)
  }
  return docs
}

function startReplica(name: string, args: string[], port: number, resources: string, brokerUrl: string): Replica {
  // The Deployment's args, with the mount and the port of this machine.
  const argv = args.map((a) => (a === '/resources' ? resources : a === '9464' ? String(port) : a))
  const proc = spawn(process.execPath, [join(image, 'bin/mqtt-fn.mjs'), 'forward', ...argv, '--host', '127.0.0.1'], {
    cwd: image,
    env: { ...process.env, MQTT_URL: brokerUrl, POD_NAME: name, NAMESPACE: 'mqtt-fn', APP_ID: 'mqtt-fn', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  proc.stdout?.setEncoding('utf8').on('data', (c: string) => (out += c))
  proc.stderr?.setEncoding('utf8').on('data', (c: string) => (out += c))
  const exited = new Promise<number | string>((done) => proc.once('exit', (code, signal) => done(code ?? signal ?? -1)))
  return { name, port, proc, output: () => out, exited }
}

/** A counter of one replica's /metrics, summed over its labels. */
const metricTotal = async (replica: Replica, name: string): Promise<number> => {
  const { status, text } = await get(replica, '/metrics')
  expect(status).toBe(200)
  return [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0)
}

const get = async (replica: Replica, path: string) => {
  const res = await fetch(`http://127.0.0.1:${replica.port}${path}`)
  return { status: res.status, text: await res.text() }
}

beforeAll(async () => {
  if (!MOSQUITTO_BIN) throw new Error('mosquitto is not installed (apt-get install -y mosquitto mosquitto-clients)')
  await mkdir(join(root, '.tmp'), { recursive: true })
  // Inside the repository: the bundle's packages resolve from its node_modules, as from /app/node_modules in the image.
  work = await mkdtemp(join(root, '.tmp', 'k8s-'))
  image = join(work, 'app')
  await cp(join(root, 'bin'), join(image, 'bin'), { recursive: true })
  await buildCli({ outfile: join(image, 'dist/cli/main.js') })

  const docs = await manifests()
  const find = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name)!

  // Mosquitto with the ConfigMap's config; only the listener moves to a free port on loopback.
  brokerPort = await getFreePort('127.0.0.1')
  const conf = find('ConfigMap', 'mosquitto-config').data!['mosquitto.conf']!.replace(/^listener 1883$/m, `listener ${brokerPort} 127.0.0.1`)
  expect(conf).toContain(`listener ${brokerPort} 127.0.0.1`)
  await writeFile(join(work, 'mosquitto.conf'), conf)
  mosquitto = spawn(MOSQUITTO_BIN, ['-c', join(work, 'mosquitto.conf')], { stdio: 'ignore' })
  await waitForPort(brokerPort)

  app = await startApp(() => ({ status: 200, body: { status: 'SUCCESS' } }))
  const resources = join(work, 'resources')
  await mkdir(resources)
  for (const [file, text] of Object.entries(find('ConfigMap', 'mqtt-fn-resources').data!)) {
    await writeFile(join(resources, file), text.replace(CLUSTER_ROUTE, `${app.url}/orders`))
  }
  // The Secret's URL names the Service `mosquitto:1883`; here the same broker is on loopback.
  const secretUrl = find('Secret', 'mqtt-fn-broker').stringData!['MQTT_URL']!
  expect(secretUrl).toBe('mqtt://mosquitto:1883')
  const brokerUrl = secretUrl.replace('mosquitto:1883', `127.0.0.1:${brokerPort}`)
  const args = find('Deployment', 'mqtt-fn-forwarder').spec!.template!.spec.containers[0]!.args

  for (const name of ['mqtt-fn-forwarder-7d9c5b8f6d-aaaaa', 'mqtt-fn-forwarder-7d9c5b8f6d-bbbbb']) {
    replicas.push(startReplica(name, args, await getFreePort('127.0.0.1'), resources, brokerUrl))
  }
  publisher = await mqttClient(`mqtt://127.0.0.1:${brokerPort}`, { protocolVersion: 5 })
}, 60_000)

afterAll(async () => {
  for (const r of replicas) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL')
  await publisher?.endAsync()
  mosquitto?.kill('SIGTERM')
  await app?.close()
  if (work) await rm(work, { recursive: true, force: true })
})

describe('the forwarder as infra/kubernetes deploys it', () => {
  it('answers the liveness and readiness probes once subscribed', async () => {
    for (const r of replicas) {
      await waitFor(async () => (await get(r, '/readyz').catch(() => ({ status: 0 }))).status === 200, 20_000, `${r.name} ready:\n${r.output()}`)
      expect((await get(r, '/healthz')).status).toBe(200)
    }
  })

  it('splits the messages of the $share subscription between the replicas, each delivered once', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `order-${i}`)
    await publishAll(publisher, ids.map((id) => ({ topic: `orders/eu/${id}`, payload: cloudEvent(id, { id }, `orders/eu/${id}`) })))
    await waitFor(() => app.requests.length >= ids.length, 15_000, 'deliveries')
    // A duplicate would reach a replica before anything published later on its connection, and
    // is counted when received. Markers go out one at a time until each replica has had one:
    // then every replica has received all it ever will of the 20.
    const receivedBy = () => Promise.all(replicas.map((r) => metricTotal(r, 'mqttfn_forwarder_received_total')))
    const hadMarker = replicas.map(() => false)
    let markers = 0
    while (!hadMarker.every(Boolean)) {
      if (markers >= 50) throw new Error(`50 markers and still not one to each replica: ${JSON.stringify(hadMarker)}`)
      const before = await receivedBy()
      const id = `marker-${markers++}`
      await publishAll(publisher, [{ topic: `orders/eu/${id}`, payload: cloudEvent(id, { id }, `orders/eu/${id}`) }])
      await waitFor(() => app.requests.some((r) => (r.json as { id: string }).id === id), 15_000, id)
      const after = await receivedBy()
      after.forEach((n, i) => (hadMarker[i] ||= n > before[i]!))
    }
    expect((await receivedBy()).reduce((a, b) => a + b, 0)).toBe(ids.length + markers)
    const delivered = app.requests.map((r) => (r.json as { id: string }).id).filter((id) => !id.startsWith('marker-'))
    expect(delivered.sort()).toEqual([...ids].sort())
    expect(new Set(app.requests.map((r) => r.path))).toEqual(new Set(['/orders']))
    // Each replica's Prometheus endpoint counts what it delivered; together, every message.
    const counts = await Promise.all(replicas.map((r) => metricTotal(r, 'mqttfn_forwarder_delivered_total')))
    expect(counts.reduce((a, b) => a + b, 0)).toBe(ids.length + markers)
    for (const count of counts) expect(count).toBeGreaterThan(0)
  })

  it('stops cleanly on SIGTERM, as the kubelet stops a pod', async () => {
    for (const r of replicas) r.proc.kill('SIGTERM')
    expect(await Promise.all(replicas.map((r) => r.exited))).toEqual([0, 0])
  })
})
