// infra/azure/azuredeploy.json, the ARM template, checked as text and structure: ARM itself
// (az deployment ... validate / what-if) needs an Azure subscription, so what can be proved
// offline is proved here: it parses, every parameter is used, every setting that names a queue
// or a secret points at a resource the template creates, secrets never appear as text.
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_QUEUE_CONNECTION } from '../../../src/platforms/azure/register.js'
import { loadResources } from '../../../src/core/resources/index.js'
import { makeCert } from '../core/resources/builders.js'
import type { ArmResource, ArmTemplate, Setting } from './arm-template.js'

const root = resolve(import.meta.dirname, '../../..')


let text: string
let arm: ArmTemplate
let params: { parameters: Record<string, { value: unknown }> }

const byType = (type: string): ArmResource[] => arm.resources.filter((r) => r.type === type)
const one = (type: string): ArmResource => {
  const found = byType(type)
  expect(found, type).toHaveLength(1)
  return found[0]!
}
/** `[variables('x')]` → the variable's value (one level; enough for this template's lists). */
const variable = (name: string): unknown => arm.variables[name]
/** A TLS mode's list: `"[concat(variables('a'), variables('b'))]"` → a's items then b's. */
function modeList(name: string, mode: string): Setting[] {
  const expr = (variable(name) as Record<string, string>)[mode]!
  return [...expr.matchAll(/variables\('(\w+)'\)/g)].flatMap((m) => variable(m[1]!) as Setting[])
}
/** The secret name a Key Vault reference or URL expression names: `variables('secretNames').url` → `mqtt-url`. */
function secretNameIn(expr: string): string {
  const key = /variables\('secretNames'\)\.(\w+)/.exec(expr)?.[1]
  expect(key, expr).toBeDefined()
  return (variable('secretNames') as Record<string, string>)[key!]!
}
/** Names of the Key Vault secrets the template creates, with each one's condition. */
function vaultSecrets(): Map<string, string | undefined> {
  return new Map(byType('Microsoft.KeyVault/vaults/secrets').map((r) => [secretNameIn(r.name), r.condition]))
}

beforeAll(async () => {
  text = await readFile(join(root, 'infra/azure/azuredeploy.json'), 'utf8')
  arm = JSON.parse(text) as ArmTemplate
  params = JSON.parse(await readFile(join(root, 'infra/azure/azuredeploy.parameters.json'), 'utf8')) as typeof params
})

describe('azuredeploy.json', () => {
  it('is an ARM deployment template whose expressions are balanced', () => {
    expect(arm.$schema).toMatch(/deploymentTemplate\.json#$/)
    const expressions = text.match(/"\[[^"]*\]"/g) ?? []
    expect(expressions.length).toBeGreaterThan(50)
    for (const e of expressions) {
      let depth = 0
      for (const c of e.replace(/'[^']*'/g, "''")) {
        if (c === '(') depth++
        if (c === ')') depth--
        expect(depth, e).toBeGreaterThanOrEqual(0)
      }
      expect(depth, e).toBe(0)
    }
  })

  it('uses every parameter and every variable, and refers to none that is missing', () => {
    const body = JSON.stringify({ variables: arm.variables, resources: arm.resources, outputs: arm.outputs })
    for (const name of Object.keys(arm.parameters)) expect(body, name).toContain(`parameters('${name}')`)
    for (const name of Object.keys(arm.variables)) expect(body.replace(`"${name}":`, ''), name).toContain(`variables('${name}')`)
    for (const m of text.matchAll(/parameters\('(\w+)'\)/g)) expect(arm.parameters, m[1]).toHaveProperty(m[1]!)
    for (const m of text.matchAll(/variables\('(\w+)'\)/g)) expect(arm.variables, m[1]).toHaveProperty(m[1]!)
  })

  it('gives no secure parameter a default, and the parameters file holds none of them', () => {
    const secure = Object.entries(arm.parameters).filter(([, p]) => p.type.toLowerCase().startsWith('secure'))
    expect(secure.map(([n]) => n).sort()).toEqual(['appApiToken', 'mqttCaCert', 'mqttClientCert', 'mqttClientKey', 'mqttUrl'])
    for (const [name, p] of secure) expect(p.defaultValue, name).toBeUndefined()
    for (const [name] of secure) expect(params.parameters, name).not.toHaveProperty(name)
    for (const name of Object.keys(params.parameters)) expect(arm.parameters, name).toHaveProperty(name)
    // Every required parameter that is not secure is in the parameters file.
    for (const [name, p] of Object.entries(arm.parameters)) {
      if (p.defaultValue === undefined && !p.type.startsWith('secure')) expect(params.parameters, name).toHaveProperty(name)
    }
  })

  it('writes no secret, key or connection string as text', () => {
    expect(text).not.toMatch(/-----BEGIN/)
    expect(text).not.toMatch(/AccountKey=[A-Za-z0-9+/=]{20}/)
    // (the parameter description's placeholder `user:password` aside)
    expect(text).not.toMatch(/mqtts?:\/\/(?!user:password@)[^'"\s]*:[^'"\s]*@/)
    // Secret values only ever come from the secure parameters, each into its own vault secret.
    for (const name of ['mqttUrl', 'mqttCaCert', 'mqttClientCert', 'mqttClientKey', 'appApiToken']) {
      const uses = arm.resources.filter((r) => JSON.stringify(r).includes(`parameters('${name}')`))
      expect(uses.map((r) => r.type), name).toEqual(['Microsoft.KeyVault/vaults/secrets'])
    }
    for (const output of Object.values(arm.outputs)) expect(output.value).not.toMatch(/listKeys|parameters\('(mqtt|appApi)/)
  })
})

describe('Function App', () => {
  it('is Linux, Node 22, Functions v4, node worker, HTTPS only, with a system-assigned identity', () => {
    const plan = one('Microsoft.Web/serverfarms')
    expect(plan.properties).toMatchObject({ reserved: true })
    const site = one('Microsoft.Web/sites')
    expect(site.kind).toBe('functionapp,linux')
    expect(site.identity?.type).toBe('SystemAssigned')
    expect(site.properties).toMatchObject({ reserved: true, httpsOnly: true, siteConfig: { linuxFxVersion: 'Node|22', ftpsState: 'Disabled' } })
    const settings = variable('functionAppSettings') as Setting[]
    expect(settings).toEqual(expect.arrayContaining([
      { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' },
      { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'node' },
    ]))
    const appSettings = (site.properties!['siteConfig'] as { appSettings: string }).appSettings
    for (const part of ["'AzureWebJobsStorage'", "'APPLICATIONINSIGHTS_CONNECTION_STRING'", "variables('functionAppSettings')", "variables('brokerAppSettings')[parameters('brokerTls')]"]) {
      expect(appSettings).toContain(part)
    }
  })

  it("reads its relay queue from a queue the template creates, with the connection the host uses, and its poison queue exists", () => {
    const settings = variable('functionAppSettings') as Setting[]
    const queue = settings.find((s) => s.name === 'MQTTFN_QUEUE')!.value!
    expect(queue).toBe("[parameters('relayQueueName')]")
    const queueNames = byType('Microsoft.Storage/storageAccounts/queueServices/queues').map((r) => r.name)
    expect(queueNames).toContain("[format('{0}/default/{1}', variables('storageAccountName'), parameters('relayQueueName'))]")
    expect(queueNames).toContain("[format('{0}/default/{1}-poison', variables('storageAccountName'), parameters('relayQueueName'))]")
    // The connection setting names an app setting that holds the storage account's connection string.
    const connection = settings.find((s) => s.name === 'MQTTFN_QUEUE_CONNECTION')!.value
    expect(connection).toBe(DEFAULT_QUEUE_CONNECTION)
    const site = one('Microsoft.Web/sites')
    expect((site.properties!['siteConfig'] as { appSettings: string }).appSettings).toMatch(/createObject\('name', 'AzureWebJobsStorage', 'value', format\('DefaultEndpointsProtocol=https;AccountName=\{0\}.*listKeys\(resourceId\('Microsoft\.Storage\/storageAccounts', variables\('storageAccountName'\)\)/)
  })

  it('gets APP_API_TOKEN and the broker settings as Key Vault references to secrets the template creates, in every TLS mode', () => {
    const secrets = vaultSecrets()
    const references = [...(variable('functionAppSettings') as Setting[])].filter((s) => s.value?.includes('@Microsoft.KeyVault'))
    expect(references.map((s) => s.name)).toEqual(['APP_API_TOKEN'])
    for (const mode of arm.parameters['brokerTls']!.allowedValues as string[]) {
      const list = modeList('brokerAppSettings', mode)
      const expected = { none: ['MQTT_URL'], ca: ['MQTT_URL', 'MQTT_CA_CERT'], mutual: ['MQTT_URL', 'MQTT_CA_CERT', 'MQTT_CLIENT_CERT', 'MQTT_CLIENT_KEY'] }[mode]
      expect(list.map((s) => s.name), mode).toEqual(expected)
      references.push(...list)
    }
    for (const setting of references) {
      expect(setting.value).toMatch(/^\[format\('@Microsoft\.KeyVault\(SecretUri=\{0\}secrets\/\{1\}\/\)', variables\('vaultUri'\), variables\('secretNames'\)\.\w+\)\]$/)
      expect(secrets.has(secretNameIn(setting.value!)), setting.name).toBe(true)
    }
    expect(String(variable('vaultUri'))).toContain("variables('keyVaultName')")
  })

  it('creates each broker secret exactly in the modes whose settings refer to it (none with broker event-grid)', () => {
    const secrets = vaultSecrets()
    expect(secrets.get('mqtt-url')).toBe("[variables('useSecretBroker')]")
    expect(secrets.get('app-api-token')).toBeUndefined()
    expect(secrets.get('mqtt-ca-cert')).toBe("[variables('useCa')]")
    expect(secrets.get('mqtt-client-cert')).toBe("[variables('useClientCert')]")
    expect(secrets.get('mqtt-client-key')).toBe("[variables('useClientCert')]")
    expect(variable('useSecretBroker')).toBe("[not(variables('useEventGrid'))]")
    expect(variable('useEventGrid')).toBe("[equals(parameters('broker'), 'event-grid')]")
    expect(variable('useCa')).toBe("[and(variables('useSecretBroker'), not(equals(parameters('brokerTls'), 'none')))]")
    expect(variable('useClientCert')).toBe("[and(variables('useSecretBroker'), equals(parameters('brokerTls'), 'mutual'))]")
    // The default is today's behaviour: a broker of yours, from the secure parameters.
    expect(arm.parameters['broker']).toMatchObject({ defaultValue: 'secret', allowedValues: ['secret', 'event-grid'] })
  })

  it("lets the Function App's identity read the vault's secrets (Key Vault Secrets User)", () => {
    const assignments = byType('Microsoft.Authorization/roleAssignments')
    const fn = assignments.find((a) => String(a.properties!['principalId']).includes("resourceId('Microsoft.Web/sites'"))!
    expect(fn.scope).toBe("[format('Microsoft.KeyVault/vaults/{0}', variables('keyVaultName'))]")
    expect(fn.properties!['roleDefinitionId']).toBe("[variables('keyVaultSecretsUserRole')]")
    expect(variable('keyVaultSecretsUserRole')).toContain('4633458b-17de-408a-b874-0445c86b69e6')
    const vault = one('Microsoft.KeyVault/vaults')
    expect(vault.properties).toMatchObject({ enableRbacAuthorization: true, enableSoftDelete: true })
  })

  it('has Application Insights on a Log Analytics workspace', () => {
    expect(one('Microsoft.Insights/components').properties).toMatchObject({ Application_Type: 'web' })
    one('Microsoft.OperationalInsights/workspaces')
  })

  it('has a storage account that refuses plain HTTP and public blobs', () => {
    expect(one('Microsoft.Storage/storageAccounts').properties).toMatchObject({ supportsHttpsTrafficOnly: true, allowBlobPublicAccess: false, minimumTlsVersion: 'TLS1_2' })
  })
})

describe('forwarder on Container Apps', () => {
  it('runs the given image with N replicas and probes /healthz and /readyz on 9464', () => {
    const app = one('Microsoft.App/containerApps')
    const template = app.properties!['template'] as { containers: { image: string; env: string; probes: { type: string; httpGet: { path: string; port: string } }[] }[]; scale: Record<string, string> }
    expect(template.scale).toEqual({ minReplicas: "[parameters('forwarderReplicas')]", maxReplicas: "[parameters('forwarderReplicas')]" })
    expect(arm.parameters['forwarderReplicas']!.defaultValue).toBe(2)
    const [container] = template.containers
    expect(container!.image).toBe("[parameters('forwarderImage')]")
    expect(variable('forwarderPort')).toBe(9464)
    expect(container!.probes.map((p) => [p.type, p.httpGet.path, p.httpGet.port])).toEqual([
      ['Liveness', '/healthz', "[variables('forwarderPort')]"],
      ['Readiness', '/readyz', "[variables('forwarderPort')]"],
    ])
    expect(app.properties!['configuration']).not.toHaveProperty('ingress')
  })

  it('reads its secrets from Key Vault with its user-assigned identity, and every env secretRef names one of them', () => {
    const app = one('Microsoft.App/containerApps')
    expect(Object.keys(app.identity!.userAssignedIdentities!)).toEqual(["[variables('forwarderIdentityId')]"])
    const vault = vaultSecrets()
    for (const mode of arm.parameters['brokerTls']!.allowedValues as string[]) {
      const secrets = modeList('forwarderSecrets', mode) as unknown as { name: string; keyVaultUrl: string; identity: string }[]
      for (const s of secrets) {
        expect(s.identity).toBe("[variables('forwarderIdentityId')]")
        expect(vault.has(secretNameIn(s.keyVaultUrl)), s.name).toBe(true)
        expect(secretNameIn(s.keyVaultUrl)).toBe(s.name)
      }
      const env = modeList('forwarderEnv', mode)
      for (const e of env.filter((e) => e.secretRef)) expect(secrets.map((s) => s.name), `${mode}: ${e.name}`).toContain(e.secretRef)
      const names = env.map((e) => e.name)
      expect(names).toEqual(expect.arrayContaining(['MQTT_URL', 'AZURE_STORAGE_CONNECTION_STRING', 'APP_ID', 'MQTTFN_FORWARD_PORT']))
      // Secret values never as plain env values.
      for (const e of env) if (e.name.startsWith('MQTT_') || e.name.startsWith('AZURE_')) expect(e.secretRef, e.name).toBeDefined()
    }
    const kv = byType('Microsoft.Authorization/roleAssignments').find((a) => String(a.name).includes("variables('forwarderIdentityName'), 'Key Vault Secrets User'"))!
    expect(kv.properties!['principalId']).toContain("variables('forwarderIdentityId')")
    expect(app.dependsOn).toContain(kv.name)
  })

  it("routes the example subscription to a queue the template creates", async () => {
    const cert = makeCert('azure')
    const loaded = await loadResources(join(root, 'infra/resources/forwarder-azure'), {
      env: { MQTT_URL: 'mqtts://broker:8883', MQTT_CA_CERT: cert.cert, MQTT_CLIENT_CERT: cert.cert, MQTT_CLIENT_KEY: cert.key },
    })
    const queues = loaded.subscriptions.flatMap((s) => s.rules.map((r) => r.path)).filter((p) => p.startsWith('azqueue:'))
    expect(queues).toEqual([`azqueue:${String(arm.parameters['forwarderQueueName']!.defaultValue)}`])
    expect(byType('Microsoft.Storage/storageAccounts/queueServices/queues').map((r) => r.name)).toContain(
      "[format('{0}/default/{1}', variables('storageAccountName'), parameters('forwarderQueueName'))]",
    )
  })

  it('lives in a managed environment that logs to the workspace', () => {
    const env = one('Microsoft.App/managedEnvironments')
    expect(env.properties!['appLogsConfiguration']).toMatchObject({ destination: 'log-analytics' })
  })
})
