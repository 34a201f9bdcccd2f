// infra/azure/azuredeploy.json with `broker: event-grid`, checked as structure (no Azure
// subscription here, so ARM's own validation and Event Grid's verdict on the tokens are not
// shown): the namespace and its MQTT broker, topic spaces that cover every topic the event-grid
// resources use (derived by infra/azure/event-grid-topics.ts), role assignments for exactly the
// two identities with the least role each needs, and no broker secret in that mode; plus the
// derivation's refusals.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadResources } from '../../../src/core/resources/index.js'
import { ledgerTopic } from '../../../src/forwarder/session-ledger.js'
import { covers, eventGridTopics, MAX_TOPIC_TEMPLATES, unshared, type EventGridTopics } from '../../../infra/azure/event-grid-topics.js'
import type { ArmResource, ArmTemplate, Setting } from './arm-template.js'

const root = resolve(import.meta.dirname, '../../..')
const FUNCTIONS = join(root, 'infra/resources/functions-event-grid')
const FORWARDER = join(root, 'infra/resources/forwarder-event-grid')
const HOST = 'mqttfn-eg-abc.westeurope-1.ts.eventgrid.azure.net'
/** A Container Apps replica's host name, the forwarder's {podName}. */
const REPLICA = 'mqttfn-fwd-abc--0000001-6d8f9b7c4-x2x9z'


let arm: ArmTemplate
let derived: EventGridTopics
let work: string

const byType = (type: string): ArmResource[] => arm.resources.filter((r) => r.type === type)
const variable = (name: string): unknown => arm.variables[name]
const topicSpaceNames = (): Record<string, string> => variable('topicSpaceNames') as Record<string, string>
/** The topic space (by its key in variables.topicSpaceNames) a name or scope expression names. */
function topicSpaceKey(expr: string): string {
  const key = /variables\('topicSpaceNames'\)\.(\w+)/.exec(expr)?.[1]
  expect(key, expr).toBeDefined()
  return key!
}
const eventGridAssignments = (): ArmResource[] =>
  byType('Microsoft.Authorization/roleAssignments').filter((r) => String(r.scope).includes('Microsoft.EventGrid/'))
const topicSpace = (key: string): ArmResource => {
  const found = byType('Microsoft.EventGrid/namespaces/topicSpaces').filter((r) => topicSpaceKey(r.name) === key)
  expect(found, key).toHaveLength(1)
  return found[0]!
}

/**
 * The arguments of the first call of `fn` in an ARM expression, split at its top-level commas
 * (quoted strings and nested calls kept whole).
 */
function callArgs(expr: string, fn: string): string[] {
  const start = expr.indexOf(`${fn}(`)
  expect(start, `${fn}( in ${expr}`).toBeGreaterThanOrEqual(0)
  const args: string[] = []
  let depth = 0
  let quoted = false
  let current = ''
  for (const c of expr.slice(start + fn.length + 1)) {
    if (c === "'") quoted = !quoted
    if (!quoted && c === '(') depth++
    if (!quoted && c === ')') {
      if (depth === 0) break
      depth--
    }
    if (!quoted && depth === 0 && c === ',') {
      args.push(current.trim())
      current = ''
      continue
    }
    current += c
  }
  args.push(current.trim())
  return args
}
/** `if(variables('useEventGrid'), A, B)` inside `expr` → A (event-grid) and B (secret). */
function modes(expr: string): { eventGrid: string; secret: string } {
  const [condition, eventGrid, secret] = callArgs(expr, 'if')
  expect(condition).toBe("variables('useEventGrid')")
  return { eventGrid: eventGrid!, secret: secret! }
}
/** The objects of a `createArray(createObject('name', 'X', 'value', V), ...)` expression, V as text. */
function createdSettings(expr: string): Setting[] {
  return callArgs(expr, 'createArray').map((obj) => {
    const [, name, kind, value] = callArgs(obj, 'createObject')
    return { name: name!.replace(/'/g, ''), [kind!.replace(/'/g, '')]: value }
  })
}

beforeAll(async () => {
  arm = JSON.parse(await readFile(join(root, 'infra/azure/azuredeploy.json'), 'utf8')) as ArmTemplate
  derived = await eventGridTopics(FUNCTIONS, FORWARDER, 'mqtt-fn')
  work = await mkdtemp(join(tmpdir(), 'mqttfn-eg-'))
})
afterAll(async () => {
  await rm(work, { recursive: true, force: true })
})

describe('broker event-grid: the namespace', () => {
  it('is an Event Grid namespace (2025-02-15) with the MQTT broker enabled, TLS 1.2 at least, created only in that mode', () => {
    const namespaces = byType('Microsoft.EventGrid/namespaces')
    expect(namespaces).toHaveLength(1)
    const ns = namespaces[0]!
    expect(ns.condition).toBe("[variables('useEventGrid')]")
    expect(ns.apiVersion).toBe('2025-02-15')
    expect(ns.name).toBe("[variables('eventGridNamespaceName')]")
    expect(ns.sku).toMatchObject({ name: 'Standard' })
    expect(ns.properties).toMatchObject({
      minimumTlsVersionAllowed: '1.2',
      topicSpacesConfiguration: { state: 'Enabled', maximumClientSessionsPerAuthenticationName: "[parameters('eventGridSessionsPerIdentity')]" },
    })
    expect(variable('eventGridNamespaceId')).toBe("[resourceId('Microsoft.EventGrid/namespaces', variables('eventGridNamespaceName'))]")
    // Namespace names: 3-50 of [a-zA-Z0-9-]; namePrefix is at most 11 lower-case letters and digits.
    expect(variable('eventGridNamespaceName')).toBe("[take(concat(parameters('namePrefix'), '-eg-', variables('suffix')), 50)]")
    expect(arm.parameters['namePrefix']!.maxLength! + '-eg-'.length + 13).toBeLessThanOrEqual(50)
  })

  it("allows a session per function instance and forwarder replica of one identity, and the forwarder's session expiry", async () => {
    // Every instance of the Function App connects with its one identity; Event Grid counts the
    // sessions per authentication name and refuses past the limit (default 1).
    const sessions = arm.parameters['eventGridSessionsPerIdentity']!
    expect(sessions).toMatchObject({ type: 'int', defaultValue: 100, minValue: 1, maxValue: 100 })
    const replicas = arm.parameters['forwarderReplicas']!
    expect(Number(sessions.defaultValue)).toBeGreaterThanOrEqual(Number(replicas.maxValue))
    const ns = byType('Microsoft.EventGrid/namespaces')[0]!
    const hours = (ns.properties!['topicSpacesConfiguration'] as { maximumSessionExpiryInHours: number }).maximumSessionExpiryInHours
    expect(hours).toBeGreaterThanOrEqual(1)
    expect(hours).toBeLessThanOrEqual(8)
    const fwd = await loadResources(FORWARDER, { env: { MQTT_URL: `mqtts://${HOST}:8883`, HOSTNAME: REPLICA } })
    // A longer expiry would be cut to the namespace's maximum, and the forwarder's unacked messages with it.
    expect(fwd.pubsubs[0]!.metadata.sessionExpiryInterval).toBeLessThanOrEqual(hours * 3600)
  })

  it('reports the MQTT hostname, and the code gets it as mqtts://<hostname>:8883', () => {
    const hostname = "reference(variables('eventGridNamespaceId'), '2025-02-15').topicSpacesConfiguration.hostname"
    expect(modes(arm.outputs['mqttHostname']!.value)).toEqual({ eventGrid: hostname, secret: "''" })
    const site = byType('Microsoft.Web/sites')[0]!
    const fnSettings = createdSettings(modes((site.properties!['siteConfig'] as { appSettings: string }).appSettings).eventGrid)
    expect(fnSettings).toEqual([{ name: 'MQTT_URL', value: `format('mqtts://{0}:8883', ${hostname})` }])
    expect(site.dependsOn).toContain("[variables('eventGridNamespaceId')]")
    const app = byType('Microsoft.App/containerApps')[0]!
    const template = app.properties!['template'] as { containers: { env: string }[] }
    const env = modes(template.containers[0]!.env).eventGrid
    expect(callArgs(env, 'concat')[0]).toBe("variables('forwarderCommonEnv')")
    expect(createdSettings(env)).toEqual([
      { name: 'MQTT_URL', value: `format('mqtts://{0}:8883', ${hostname})` },
      // DefaultAzureCredential picks a user-assigned identity by its client id.
      { name: 'AZURE_CLIENT_ID', value: "reference(variables('forwarderIdentityId'), '2023-01-31').clientId" },
    ])
  })
})

describe('broker event-grid: topic spaces', () => {
  it('hold, by default, exactly what the event-grid resources use (infra/azure/event-grid-topics.ts)', () => {
    expect(derived).toEqual({
      functionTopics: ['orders/new', 'orders/priority'],
      forwarderFilters: ['mqtt-fn/sessions/+', 'orders/#'],
      forwarderTopics: ['mqtt-fn/sessions/+', 'orders-dead'],
    })
    const parameterOf = { functions: 'eventGridFunctionTopics', forwarderSubscribe: 'eventGridForwarderFilters', forwarderPublish: 'eventGridForwarderTopics' }
    const expected = { functions: derived.functionTopics, forwarderSubscribe: derived.forwarderFilters, forwarderPublish: derived.forwarderTopics }
    expect(Object.keys(topicSpaceNames()).sort()).toEqual(Object.keys(parameterOf).sort())
    for (const [key, parameter] of Object.entries(parameterOf)) {
      const space = topicSpace(key)
      expect(space.condition, key).toBe("[variables('useEventGrid')]")
      expect(space.apiVersion).toBe('2025-02-15')
      expect(space.dependsOn).toEqual(["[variables('eventGridNamespaceId')]"])
      expect(space.properties!['topicTemplates'], key).toBe(`[parameters('${parameter}')]`)
      const p = arm.parameters[parameter]!
      expect(p, parameter).toMatchObject({ type: 'array', minLength: 1, maxLength: MAX_TOPIC_TEMPLATES })
      expect(p.defaultValue, parameter).toEqual(expected[key as keyof typeof expected])
    }
    // Topic space names: 3-50 of [a-zA-Z0-9-].
    for (const name of Object.values(topicSpaceNames())) expect(name).toMatch(/^[a-zA-Z0-9-]{3,50}$/)
  })

  it('cover every topic the functions publish, every filter the forwarder subscribes and every topic it publishes, as the code will send them', async () => {
    const defaults = (name: string): string[] => arm.parameters[name]!.defaultValue as string[]
    const env = { MQTT_URL: `mqtts://${HOST}:8883`, HOSTNAME: REPLICA }
    const fn = await loadResources(FUNCTIONS, { env })
    const fwd = await loadResources(FORWARDER, { env })
    const published = fn.pubsubs.flatMap((p) => p.runtime.allowedTopics ?? [])
    expect(published.length).toBeGreaterThan(0)
    for (const topic of published) expect(defaults('eventGridFunctionTopics').some((t) => covers(t, topic)), topic).toBe(true)
    const ledger = ledgerTopic(fwd.pubsubs[0]!.metadata)
    expect(ledger).toBe(`mqtt-fn/sessions/${REPLICA}`)
    const filters = [...fwd.subscriptions.map((s) => unshared(s.topic)), ledger!]
    expect(filters).toContain('orders/#')
    for (const filter of filters) expect(defaults('eventGridForwarderFilters').some((t) => covers(t, filter)), filter).toBe(true)
    const forwarderPublishes = [...fwd.subscriptions.flatMap((s) => (s.deadLetterTopic === undefined ? [] : [s.deadLetterTopic])), ledger!]
    expect(forwarderPublishes).toContain('orders-dead')
    for (const topic of forwarderPublishes) expect(defaults('eventGridForwarderTopics').some((t) => covers(t, topic)), topic).toBe(true)
    // Least privilege: the functions may not publish where they have no business (the dead
    // letters, the forwarder's ledger, the whole orders/ tree).
    for (const other of ['orders-dead', ledger!, 'orders/other']) {
      expect(defaults('eventGridFunctionTopics').some((t) => covers(t, other)), other).toBe(false)
    }
    // The forwarder may publish no order of its own.
    expect(defaults('eventGridForwarderTopics').some((t) => covers(t, 'orders/new')), 'orders/new').toBe(false)
    // No template starts with $ (reserved) or grants the whole namespace.
    for (const t of [...defaults('eventGridFunctionTopics'), ...defaults('eventGridForwarderFilters'), ...defaults('eventGridForwarderTopics')]) {
      expect(t).not.toMatch(/^\$/)
      expect(t.split('/').some((level) => level !== '+' && level !== '#'), t).toBe(true)
    }
  })

  it('read their rules from the MQTT spec: covers() and unshared()', () => {
    const table: [string, string, boolean][] = [
      ['orders/#', 'orders/new', true],
      ['orders/#', 'orders', true],
      ['orders/#', 'orders/#', true],
      ['orders/#', 'orders/+/x', true],
      ['orders/+', 'orders/new', true],
      ['orders/+', 'orders/+', true],
      ['orders/+', 'orders/#', false],
      ['orders/+', 'orders/a/b', false],
      ['orders/+', 'orders', false],
      ['orders/new', 'orders/new', true],
      ['orders/new', 'orders/+', false],
      ['orders/new', 'orders/newer', false],
      ['orders-dead', 'orders/dead', false],
      ['mqtt-fn/sessions/+', `mqtt-fn/sessions/${REPLICA}`, true],
    ]
    for (const [template, filter, expected] of table) expect(covers(template, filter), `${template} ⊇ ${filter}`).toBe(expected)
    expect(unshared('$share/mqtt-fn/orders/#')).toBe('orders/#')
    expect(unshared('orders/#')).toBe('orders/#')
    expect(unshared('$share/g')).toBe('$share/g')
  })
})

describe('broker event-grid: who may do what', () => {
  it('assigns EventGrid TopicSpaces roles (the built-in role GUIDs) to exactly the two identities, each on its own topic space only', () => {
    expect(variable('topicSpacesPublisherRole')).toBe("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'a12b0b94-b317-4dcd-84a8-502ce99884c6')]")
    expect(variable('topicSpacesSubscriberRole')).toBe("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4b0f2fd7-60b4-4eca-896f-4435034f8bf5')]")
    const functionApp = "reference(resourceId('Microsoft.Web/sites', variables('functionAppName')), '2023-12-01', 'full').identity.principalId"
    const forwarder = "reference(variables('forwarderIdentityId'), '2023-01-31').principalId"
    const grants = eventGridAssignments().map((a) => {
      expect(a.condition, a.name).toBe("[variables('useEventGrid')]")
      expect(a.properties!['principalType']).toBe('ServicePrincipal')
      // Scoped to one topic space, never the namespace: the role covers only that space's templates.
      expect(a.scope).toMatch(/^\[format\('Microsoft\.EventGrid\/namespaces\/\{0\}\/topicSpaces\/\{1\}', variables\('eventGridNamespaceName'\), variables\('topicSpaceNames'\)\.\w+\)\]$/)
      const key = topicSpaceKey(a.scope!)
      expect(topicSpaceKey(a.name)).toBe(key)
      expect(a.dependsOn).toContain(`[resourceId('Microsoft.EventGrid/namespaces/topicSpaces', variables('eventGridNamespaceName'), variables('topicSpaceNames').${key})]`)
      const principal = String(a.properties!['principalId']).slice(1, -1)
      const who = principal === functionApp ? 'functionApp' : principal === forwarder ? 'forwarder' : principal
      const role = String(a.properties!['roleDefinitionId'])
      return `${who} ${role === "[variables('topicSpacesPublisherRole')]" ? 'Publisher' : role === "[variables('topicSpacesSubscriberRole')]" ? 'Subscriber' : role} ${key}`
    })
    expect(grants.sort()).toEqual([
      'forwarder Publisher forwarderPublish',
      'forwarder Subscriber forwarderSubscribe',
      'functionApp Publisher functions',
    ])
    expect(new Set(eventGridAssignments().map((a) => a.name)).size).toBe(3)
    // Entra-authenticated clients are authorized by RBAC; client groups and permission bindings
    // (for registered X.509 clients) would grant nothing to these identities.
    expect(byType('Microsoft.EventGrid/namespaces/permissionBindings')).toEqual([])
    expect(byType('Microsoft.EventGrid/namespaces/clientGroups')).toEqual([])
  })

  it('starts the forwarder after its Event Grid roles exist', () => {
    const app = byType('Microsoft.App/containerApps')[0]!
    const forwarderRoles = eventGridAssignments().filter((a) => String(a.properties!['principalId']).includes("variables('forwarderIdentityId')"))
    expect(forwarderRoles).toHaveLength(2)
    for (const role of forwarderRoles) expect(app.dependsOn, role.name).toContain(role.name)
  })

  it('uses the new parameters only for the Event Grid resources', () => {
    for (const name of ['eventGridSessionsPerIdentity', 'eventGridFunctionTopics', 'eventGridForwarderFilters', 'eventGridForwarderTopics']) {
      const users = arm.resources.filter((r) => JSON.stringify(r).includes(`parameters('${name}')`)).map((r) => r.type)
      expect(users.length, name).toBeGreaterThan(0)
      for (const type of users) expect(type, name).toMatch(/^Microsoft\.EventGrid\/namespaces/)
    }
  })
})

describe('broker event-grid: no broker secret', () => {
  it('creates no broker secret in the vault in that mode', () => {
    const conditions = new Map(
      byType('Microsoft.KeyVault/vaults/secrets').map((r) => [/variables\('secretNames'\)\.(\w+)/.exec(r.name)![1]!, r.condition]),
    )
    expect(conditions.get('url')).toBe("[variables('useSecretBroker')]")
    for (const key of ['caCert', 'clientCert', 'clientKey']) {
      const condition = conditions.get(key)!
      const name = /variables\('(\w+)'\)/.exec(condition)![1]!
      expect(String(variable(name)), key).toMatch(/^\[and\(variables\('useSecretBroker'\), /)
    }
    // What stays: the API token and the forwarder's storage connection (its azqueue: route).
    expect(conditions.get('apiToken')).toBeUndefined()
    expect(conditions.get('storage')).toBeUndefined()
  })

  it('gives the functions and the forwarder no broker secret and no reference to one', () => {
    const site = byType('Microsoft.Web/sites')[0]!
    const fn = modes((site.properties!['siteConfig'] as { appSettings: string }).appSettings)
    expect(fn.eventGrid).not.toMatch(/KeyVault|secretNames|brokerAppSettings|brokerTls|parameters\('mqtt/)
    // Secret mode as before: the TLS mode's Key Vault references.
    expect(fn.secret).toBe("variables('brokerAppSettings')[parameters('brokerTls')]")
    const app = byType('Microsoft.App/containerApps')[0]!
    const configuration = app.properties!['configuration'] as { secrets: string }
    const secrets = modes(configuration.secrets.slice(1, -1))
    expect(secrets).toEqual({ eventGrid: "variables('forwarderCommonSecrets')", secret: "variables('forwarderSecrets')[parameters('brokerTls')]" })
    const common = variable('forwarderCommonSecrets') as { name: string }[]
    expect(common.map((s) => s.name)).toEqual(['storage-connection'])
    const template = app.properties!['template'] as { containers: { env: string }[] }
    const env = modes(template.containers[0]!.env)
    expect(env.secret).toBe("variables('forwarderEnv')[parameters('brokerTls')]")
    const eventGridEnv = [...(variable('forwarderCommonEnv') as Setting[]), ...createdSettings(env.eventGrid)]
    expect(eventGridEnv.map((e) => e.name).sort()).toEqual(['APP_ID', 'APP_URL', 'AZURE_CLIENT_ID', 'AZURE_STORAGE_CONNECTION_STRING', 'MQTTFN_FORWARD_PORT', 'MQTT_URL'])
    for (const e of eventGridEnv) if (e.secretRef !== undefined) expect(common.map((s) => s.name), e.name).toContain(e.secretRef)
    expect(eventGridEnv.filter((e) => /^MQTT_(CA|CLIENT)/.test(e.name))).toEqual([])
  })

  it('gives the resources exactly the variables they read: MQTT_URL, no certificate', async () => {
    for (const dir of [FUNCTIONS, FORWARDER]) {
      const text = await readFile(join(dir, 'pubsub.yaml'), 'utf8')
      expect([...text.matchAll(/secretKeyRef:\s*\n\s*name: (\w+)/g)].map((m) => m[1]), dir).toEqual(['MQTT_URL'])
      // Loads with nothing but what the template sets in event-grid mode.
      const loaded = await loadResources(dir, { env: { MQTT_URL: `mqtts://${HOST}:8883`, HOSTNAME: REPLICA } })
      // A replica's host name is longer than the 23 characters MQTT guarantees; Event Grid takes
      // session names (the client id) of up to 128.
      const expected = dir === FORWARDER ? [expect.stringMatching(/consumerID: is 39 characters; brokers may refuse client ids over 23/)] : []
      expect(loaded.warnings, dir).toEqual(expected)
      const md = loaded.pubsubs[0]!.metadata
      expect(md.auth?.method, dir).toBe('oauth2-jwt')
      expect(md.protocolVersion, dir).toBe(5)
      expect(md.qos, dir).toBe(1)
      expect(md.url.host, dir).toBe(HOST)
      expect(md).not.toHaveProperty('caCert')
    }
    // The functions keep a generated client id per instance; the forwarder one per replica.
    const fwd = await loadResources(FORWARDER, { env: { MQTT_URL: `mqtts://${HOST}:8883`, HOSTNAME: REPLICA } })
    expect(fwd.pubsubs[0]!.metadata.consumerID).toBe(REPLICA)
    expect(fwd.subscriptions.map((s) => [s.topic, s.deadLetterTopic, s.rules.map((r) => r.path)])).toEqual([['$share/mqtt-fn/orders/#', 'orders-dead', ['azqueue:orders']]])
  })
})

describe('event-grid-topics.ts refuses what it cannot scope', () => {
  const component = (metadata: string): string => `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: envstore
spec:
  type: secretstores.local.env
  version: v1
  metadata: []
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.mqtt
  version: v1
  metadata:
    - name: url
      secretKeyRef:
        name: MQTT_URL
        key: MQTT_URL
    - name: protocolVersion
      value: "5"
${metadata}
auth:
  secretStore: envstore
`
  const subscription = (topic: string): string => `apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: s
spec:
  pubsubname: pubsub
  topic: "${topic}"
  routes:
    default: /orders
`
  async function folder(name: string, files: Record<string, string>): Promise<string> {
    const dir = join(work, name)
    await mkdir(dir, { recursive: true })
    for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text)
    return dir
  }
  const jwt = '    - name: authMethod\n      value: oauth2-jwt'

  it('functions without allowedTopics', async () => {
    const fn = await folder('no-allowed', { 'pubsub.yaml': component(jwt) })
    await expect(eventGridTopics(fn, FORWARDER, 'mqtt-fn')).rejects.toThrow(/spec\.metadata\.allowedTopics: set it to the topics the functions publish to/)
  })

  it('a component without authMethod oauth2-jwt', async () => {
    const fn = await folder('no-jwt', { 'pubsub.yaml': component('    - name: allowedTopics\n      value: "a/b"') })
    await expect(eventGridTopics(fn, FORWARDER, 'mqtt-fn')).rejects.toThrow(/authMethod: must be oauth2-jwt with broker event-grid/)
  })

  it('a filter that would cover the whole namespace, and more than 10 templates', async () => {
    const fwdAll = await folder('fwd-all', { 'pubsub.yaml': component(jwt), 'sub.yaml': subscription('$share/g/#') })
    await expect(eventGridTopics(FUNCTIONS, fwdAll, 'mqtt-fn')).rejects.toThrow(/"#" would need a topic template covering every topic of the namespace/)
    const many = Array.from({ length: MAX_TOPIC_TEMPLATES + 1 }, (_, i) => `t/${i}`).join(',')
    const fnMany = await folder('fn-many', { 'pubsub.yaml': component(`${jwt}\n    - name: allowedTopics\n      value: "${many}"`) })
    await expect(eventGridTopics(fnMany, FORWARDER, 'mqtt-fn')).rejects.toThrow(/functionTopics: 11 topic templates; an Event Grid topic space holds at most 10/)
  })

  it('turns a per-replica level into + and keeps a literal ledger topic', async () => {
    const fwd = await folder('fwd-pod', {
      'pubsub.yaml': component(`${jwt}\n    - name: consumerID\n      value: "fwd-{podName}"\n    - name: cleanSession\n      value: "false"\n    - name: sessionLedgerTopic\n      value: "ledgers/fwd"`),
      'sub.yaml': subscription('$share/g/devices/+/telemetry'),
    })
    const topics = await eventGridTopics(FUNCTIONS, fwd, 'mqtt-fn')
    expect(topics.forwarderFilters).toEqual(['devices/+/telemetry', 'ledgers/fwd'])
    expect(topics.forwarderTopics).toEqual(['ledgers/fwd'])
  })
})
