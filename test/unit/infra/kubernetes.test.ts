// infra/kubernetes without a cluster: every manifest parses, kustomization.yaml lists them all,
// what the pods mount or read exists in the set, the probes and ports are the forwarder's
// defaults, and the Dapr resources of the ConfigMap load with the Secret's variables.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseAllDocuments, parse } from 'yaml'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadResources } from '../../../src/core/resources/index.js'

const root = resolve(import.meta.dirname, '../../..')
const dir = join(root, 'infra/kubernetes')

// Structural views of the few fields checked here (the manifests are plain YAML).
interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
  data?: Record<string, string>
  stringData?: Record<string, string>
  spec?: Record<string, unknown>
}
interface Probe {
  httpGet?: { path: string; port: number | string }
  tcpSocket?: { port: number | string }
}
interface Container {
  name: string
  image: string
  args?: string[]
  ports?: { name?: string; containerPort: number }[]
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string }; fieldRef?: unknown } }[]
  envFrom?: { secretRef?: { name: string }; configMapRef?: { name: string } }[]
  volumeMounts?: { name: string; mountPath: string }[]
  livenessProbe?: Probe
  readinessProbe?: Probe
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> }
  securityContext?: Record<string, unknown>
}
interface PodSpec {
  containers: Container[]
  volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[]
  securityContext?: Record<string, unknown>
}
interface Deployment extends K8sObject {
  spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: K8sObject['metadata']; spec: PodSpec } }
}

let objects: K8sObject[]
let kustomization: { resources: string[]; namespace: string; images: { name: string }[] }

const find = <T extends K8sObject>(kind: string, name: string): T => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name)
  expect(found, `${kind}/${name}`).toBeDefined()
  return found as T
}
const deployments = (): Deployment[] => objects.filter((o): o is Deployment => o.kind === 'Deployment')
const forwarder = (): Deployment => find<Deployment>('Deployment', 'mqtt-fn-forwarder')
const container = (d: Deployment, name?: string): Container => d.spec.template.spec.containers.find((c) => name === undefined || c.name === name)!

/** A probe's port, with a named port resolved against the container's ports. */
function probePort(c: Container, probe: Probe | undefined): number | undefined {
  const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port
  return typeof port === 'string' ? c.ports?.find((p) => p.name === port)?.containerPort : port
}

beforeAll(async () => {
  kustomization = parse(await readFile(join(dir, 'kustomization.yaml'), 'utf8')) as typeof kustomization
  objects = []
  for (const file of kustomization.resources) {
    const docs = parseAllDocuments(await readFile(join(dir, file), 'utf8'))
    for (const doc of docs) {
      expect(doc.errors, file).toEqual([])
      const value = doc.toJS() as K8sObject | null
      if (value) objects.push(value)
    }
  }
})

describe('infra/kubernetes', () => {
  it('lists every manifest of the folder in kustomization.yaml, each parsing into Kubernetes objects', async () => {
    const files = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml').sort()
    expect([...kustomization.resources].sort()).toEqual(files)
    for (const o of objects) {
      expect(o.apiVersion, JSON.stringify(o.metadata)).toMatch(/^(v1|apps\/v1|policy\/v1)$/)
      expect(o.metadata.name).toMatch(/^[a-z0-9-]+$/)
    }
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'ConfigMap/mosquitto-config',
        'ConfigMap/mqtt-fn-resources',
        'Deployment/mosquitto',
        'Deployment/mqtt-fn-forwarder',
        'Namespace/mqtt-fn',
        'PodDisruptionBudget/mqtt-fn-forwarder',
        'Secret/mqtt-fn-broker',
        'Service/mosquitto',
      ].sort(),
    )
    expect(kustomization.namespace).toBe('mqtt-fn')
    expect(kustomization.images.map((i) => i.name)).toContain(container(forwarder()).image)
  })

  it('mounts and reads only ConfigMaps, Secrets and keys that the set defines', () => {
    for (const d of deployments()) {
      const pod = d.spec.template.spec
      const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]))
      for (const c of pod.containers) {
        for (const m of c.volumeMounts ?? []) expect(volumes.has(m.name), `${d.metadata.name}: volume ${m.name}`).toBe(true)
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef
          if (ref) expect(find('Secret', ref.name).stringData ?? {}, `${e.name}`).toHaveProperty(ref.key)
          const cm = e.valueFrom?.configMapKeyRef
          if (cm) expect(find('ConfigMap', cm.name).data ?? {}).toHaveProperty(cm.key)
        }
        for (const e of c.envFrom ?? []) {
          if (e.secretRef) find('Secret', e.secretRef.name)
          if (e.configMapRef) find('ConfigMap', e.configMapRef.name)
        }
      }
      for (const v of volumes.values()) {
        if (v.configMap) find('ConfigMap', v.configMap.name)
        if (v.secret) find('Secret', v.secret.secretName)
      }
      for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) expect(d.spec.template.metadata.labels?.[k]).toBe(v)
    }
  })

  it("probes the forwarder's defaults: /healthz and /readyz on 9464, which the container exposes and Prometheus scrapes", () => {
    const d = forwarder()
    const c = container(d)
    expect(d.spec.replicas).toBeGreaterThanOrEqual(2)
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 9464, protocol: 'TCP' }])
    expect(c.livenessProbe?.httpGet?.path).toBe('/healthz')
    expect(c.readinessProbe?.httpGet?.path).toBe('/readyz')
    expect(probePort(c, c.livenessProbe)).toBe(9464)
    expect(probePort(c, c.readinessProbe)).toBe(9464)
    expect(d.spec.template.metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464', 'prometheus.io/path': '/metrics' })
    expect(c.args).toEqual(['--resources-path', '/resources', '--port', '9464'])
    // The health port binds 127.0.0.1 by default; the kubelet probes the pod IP.
    expect(c.env?.find((e) => e.name === 'MQTTFN_FORWARD_HOST')?.value).toBe('0.0.0.0')
    expect(c.volumeMounts).toEqual([{ name: 'resources', mountPath: '/resources', readOnly: true }])
  })

  it('runs every container as non-root, read-only, without privileges, with requests and limits', () => {
    for (const d of deployments()) {
      const pod = d.spec.template.spec
      expect(pod.securityContext, d.metadata.name).toMatchObject({ runAsNonRoot: true, runAsUser: expect.any(Number), seccompProfile: { type: 'RuntimeDefault' } })
      expect(pod.securityContext!['runAsUser']).not.toBe(0)
      for (const c of pod.containers) {
        expect(c.securityContext, c.name).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } })
        expect(Object.keys(c.resources?.requests ?? {}).sort(), c.name).toEqual(['cpu', 'memory'])
        expect(Object.keys(c.resources?.limits ?? {}), c.name).toContain('memory')
      }
    }
    // The image's user `node` is uid 1000 in the node images.
    expect(forwarder().spec.template.spec.securityContext!['runAsUser']).toBe(1000)
  })

  it("gives the forwarder its pod name for the Component's {podName} client id", () => {
    const env = container(forwarder()).env ?? []
    expect(env.find((e) => e.name === 'POD_NAME')?.valueFrom?.fieldRef).toEqual({ fieldPath: 'metadata.name' })
  })

  it('loads the ConfigMap resources with the Secret as environment, on a $share subscription', async () => {
    const cm = find('ConfigMap', 'mqtt-fn-resources')
    const tmp = await mkdtemp(join(tmpdir(), 'mqttfn-k8s-'))
    try {
      for (const [file, text] of Object.entries(cm.data ?? {})) await writeFile(join(tmp, file), text)
      const podName = 'mqtt-fn-forwarder-7d9c5b8f6d-x2kqp'
      const env: Record<string, string> = { POD_NAME: podName }
      for (const e of container(forwarder()).env ?? []) {
        const ref = e.valueFrom?.secretKeyRef
        if (ref) env[e.name] = find('Secret', ref.name).stringData![ref.key]!
      }
      const loaded = await loadResources(tmp, { env })
      // Pod names are longer than the 23 characters MQTT guarantees (Mosquitto accepts them).
      expect(loaded.warnings).toEqual([expect.stringMatching(/consumerID: is 34 characters; brokers may refuse client ids over 23/)])
      const [pubsub] = loaded.pubsubs
      expect(pubsub?.metadata).toMatchObject({ consumerID: podName, protocolVersion: 5, url: { host: 'mosquitto', port: 1883 } })
      expect(loaded.subscriptions.map((s) => s.topic)).toEqual(['$share/mqtt-fn/orders/#'])
      // The Secret's URL names the broker Service of the set.
      const service = find('Service', 'mosquitto') as K8sObject & { spec: { ports: { port: number }[] } }
      expect(service.spec.ports[0]!.port).toBe(1883)
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
  })

  it('runs Mosquitto 2 on 1883 with the ConfigMap config (anonymous: an example broker only)', () => {
    const d = find<Deployment>('Deployment', 'mosquitto')
    const c = container(d)
    expect(c.image).toBe('eclipse-mosquitto:2')
    expect(c.ports?.[0]?.containerPort).toBe(1883)
    expect(probePort(c, c.readinessProbe)).toBe(1883)
    const conf = find('ConfigMap', 'mosquitto-config').data!['mosquitto.conf']!
    expect(conf).toMatch(/^listener 1883$/m)
    expect(conf).toMatch(/^allow_anonymous true$/m)
    expect(c.volumeMounts).toEqual([{ name: 'config', mountPath: '/mosquitto/config', readOnly: true }])
  })
})
