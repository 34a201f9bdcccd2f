// The CDK app of infra/aws with context broker=iot-core, synthesized as `npm run synth -- -c
// broker=iot-core` does (createApp: the IoT permissions are read from the resources first), then
// checked with aws-cdk-lib's assertions and cdk-nag; and loadIotPermissions' refusals. Offline,
// no Docker; the functions' code built by the stack with functions-iot compiled in (see aws-stack.test.ts).
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { App, Validations } from 'aws-cdk-lib'
import { Match, Template } from 'aws-cdk-lib/assertions'
import { AwsSolutionsChecks } from 'cdk-nag'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, createApp, STACK_NAME } from '../../../infra/aws/build-app.js'
import { ConfigError, configFromContext, type MqttFnConfig } from '../../../infra/aws/config.js'
import { loadIotPermissions, type IotGrant, type IotPermissions } from '../../../infra/aws/iot-permissions.js'
import type { MqttFnStack } from '../../../infra/aws/stack.js'

const root = resolve(import.meta.dirname, '../../..')

type Json = Record<string, unknown>
interface Resource {
  Type: string
  Properties?: Json
}

let work: string
let app: App
let stack: MqttFnStack
let template: Template
let json: { Resources: Record<string, Resource>; Parameters?: Record<string, Json>; Outputs: Record<string, Json> }
let config: MqttFnConfig
let derived: IotPermissions
let savedDocker: string | undefined


const resourcesOf = (type: string): [string, Resource][] => Object.entries(json.Resources).filter(([, r]) => r.Type === type)
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v])

/** An ARN of the template as text: pseudo parameters as <AWS::...>, as cdk-nag writes them. */
function arnText(value: unknown): string {
  if (typeof value === 'string') return value
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join']
  if (join) return join[1].map(arnText).join(join[0])
  const ref = (value as { Ref?: string }).Ref
  if (ref) return `<${ref}>`
  return JSON.stringify(value)
}

/** Every statement of the IAM policies attached to the role with logical id prefix `role`. */
function roleStatements(role: string): Json[] {
  return resourcesOf('AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties!['Roles'] as { Ref: string }[]).some((r) => r.Ref.startsWith(role)))
    .flatMap(([, p]) => (p.Properties!['PolicyDocument'] as { Statement: Json[] }).Statement)
}

const PREFIX = 'arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:'

/** The iot: statements of a role as {action: [ARN text]}. */
function iotOf(role: string): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const statement of roleStatements(role)) {
    for (const action of asList(statement['Action']).map(String)) {
      if (!action.startsWith('iot:')) continue
      out[action] = [...(out[action] ?? []), ...asList(statement['Resource']).map(arnText)].sort()
    }
  }
  return out
}

/** What `grant` must become: one ARN list per action that has names. */
function expectedIot(grant: IotGrant): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  const add = (action: string, kind: string, names: string[]): void => {
    if (names.length > 0) out[action] = names.map((n) => `${PREFIX}${kind}/${n}`).sort()
  }
  add('iot:Connect', 'client', grant.connect)
  add('iot:Publish', 'topic', grant.publish)
  add('iot:RetainPublish', 'topic', grant.retainPublish)
  add('iot:Subscribe', 'topicfilter', grant.subscribe)
  add('iot:Receive', 'topic', grant.receive)
  return out
}

const MQTT_URL = { 'Fn::Join': ['', ['wss://', { 'Fn::GetAtt': [Match.stringLikeRegexp('^IotEndpointLookup'), 'endpointAddress'] }, '/mqtt']] }

beforeAll(async () => {
  savedDocker = process.env.CDK_DOCKER
  process.env.CDK_DOCKER = join(tmpdir(), 'mqttfn-no-docker', 'docker')
  work = await mkdtemp(join(tmpdir(), 'mqttfn-cdk-iot-'))
  const context = { broker: 'iot-core', relayTopic: 'orders/new' }
  ;({ app, stack } = await createApp({ outdir: join(work, 'cdk.out'), context }, root))
  app.synth() // throws on any cdk-nag finding not acknowledged
  template = Template.fromStack(stack)
  json = template.toJSON() as typeof json
  config = configFromContext(new App({ context }).node, root)
  derived = await loadIotPermissions(config)
}, 120_000)

afterAll(async () => {
  if (savedDocker === undefined) delete process.env.CDK_DOCKER
  else process.env.CDK_DOCKER = savedDocker
  await rm(work, { recursive: true, force: true })
})

describe('broker iot-core: no broker secret', () => {
  it('has no BrokerSecretArn parameter, no broker reference and only the API token secret', () => {
    expect(stack.stackName).toBe(STACK_NAME)
    expect(Object.keys(json.Parameters ?? {})).not.toContain('BrokerSecretArn')
    expect(JSON.stringify(json)).not.toContain('BrokerSecretArn')
    const secrets = resourcesOf('AWS::SecretsManager::Secret')
    expect(secrets.map(([id]) => id)).toEqual([expect.stringMatching(/^ApiToken/)])
    for (const [, fn] of resourcesOf('AWS::Lambda::Function')) {
      const vars = (fn.Properties!['Environment'] as { Variables: Json } | undefined)?.Variables ?? {}
      for (const name of ['MQTT_CA_CERT', 'MQTT_CLIENT_CERT', 'MQTT_CLIENT_KEY']) expect(vars[name]).toBeUndefined()
      for (const [name, value] of Object.entries(vars)) {
        if (name !== 'APP_API_TOKEN') expect(JSON.stringify(value), name).not.toContain('secretsmanager')
      }
    }
    const reads = resourcesOf('AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties).includes('secretsmanager:'))
    expect(reads).toEqual([])
  })

  it("uses the iot-core resource folders (the functions' code and the forwarder image)", async () => {
    expect(config.functionResourcesPath).toBe(join(root, 'infra/resources/functions-iot'))
    expect(config.forwarderResourcesPath).toBe('infra/resources/forwarder-iot')
    const manifest = JSON.parse(await readFile(join(work, 'cdk.out', `${STACK_NAME}.assets.json`), 'utf8')) as {
      dockerImages: Record<string, { source: { dockerBuildArgs: Record<string, string> } }>
    }
    expect(Object.values(manifest.dockerImages).map((i) => i.source.dockerBuildArgs)).toEqual([{ RESOURCES: 'infra/resources/forwarder-iot' }])
    // Both functions run their bundle with functions-iot/pubsub.yaml compiled in: no layer, no MQTTFN_RESOURCES_PATH.
    const ours = resourcesOf('AWS::Lambda::Function').filter(([, r]) => /^mqtt-fn (HTTP publish|SQS relay)/.test(String(r.Properties?.['Description'])))
    expect(ours).toHaveLength(2)
    for (const [id, fn] of ours) {
      expect(fn.Properties?.['Layers'], id).toBeUndefined()
      expect(Object.keys((fn.Properties!['Environment'] as { Variables: Json }).Variables), id).not.toContain('MQTTFN_RESOURCES_PATH')
      const key = String((fn.Properties!['Code'] as { S3Key: unknown }).S3Key)
      const code = await readFile(join(work, 'cdk.out', `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs'), 'utf8')
      for (const text of ['aws-sigv4', 'orders/new,orders/priority', 'envstore']) expect(code, `${id}: ${text}`).toContain(text)
      expect(code, id).not.toContain('MQTT_CA_CERT')
    }
    template.resourceCountIs('AWS::Lambda::LayerVersion', 0)
  })
})

describe('broker iot-core: the data endpoint', () => {
  it('is looked up at deploy time by a custom resource calling iot:DescribeEndpoint for iot:Data-ATS', () => {
    const lookups = resourcesOf('Custom::AWS')
    expect(lookups).toHaveLength(1)
    for (const phase of ['Create', 'Update']) {
      const call = JSON.parse(lookups[0]![1].Properties![phase] as string) as Json
      expect(call, phase).toMatchObject({ service: 'Iot', action: 'describeEndpoint', parameters: { endpointType: 'iot:Data-ATS' }, outputPaths: ['endpointAddress'] })
    }
    expect(lookups[0]![1].Properties!['InstallLatestAwsSdk']).toBe(false)
    expect(json.Outputs['IotDataEndpoint']!['Value']).toEqual({ 'Fn::GetAtt': [lookups[0]![0], 'endpointAddress'] })
  })

  it('lets the lookup do iot:DescribeEndpoint and write its own log group, nothing else', () => {
    const provider = resourcesOf('AWS::Lambda::Function').find(([id]) => id.startsWith('AWS679f53fac002430cb0da5b7982bd2287'))![1]
    const role = (provider.Properties!['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]
    expect(role).toMatch(/^IotEndpointLookupRole/)
    expect(json.Resources[role]!.Properties!['ManagedPolicyArns']).toBeUndefined()
    const actions = roleStatements(role).flatMap((s) => asList(s['Action']))
    expect(actions.sort()).toEqual(['iot:DescribeEndpoint', 'logs:CreateLogStream', 'logs:PutLogEvents'])
  })

  it('hands MQTT_URL=wss://<endpoint>/mqtt to both functions and the forwarder task as a plain variable', () => {
    for (const description of ['HTTP publish', 'SQS relay']) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp(description),
        Environment: { Variables: Match.objectLike({ MQTT_URL: MQTT_URL, APP_ID: 'mqtt-fn' }) },
      })
    }
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ Environment: Match.arrayWith([{ Name: 'MQTT_URL', Value: MQTT_URL }]), Secrets: Match.absent() })],
    })
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('SQS relay'),
      Environment: { Variables: Match.objectLike({ MQTTFN_TOPIC: 'orders/new' }) },
    })
  })
})

describe('broker iot-core: IAM scoped to the resources', () => {
  it('derives the client ids, topics and filters of the example resources', () => {
    const functions: IotGrant = { connect: ['mqttfn-mqtt-fn-*'], publish: ['orders/new', 'orders/priority'], retainPublish: [], subscribe: [], receive: [] }
    expect(derived).toEqual({
      httpPublish: functions,
      sqsRelay: functions,
      forwarder: {
        connect: ['mqtt-fn-forwarder-*'],
        publish: ['mqtt-fn/sessions/*', 'orders-dead'],
        retainPublish: ['mqtt-fn/sessions/*'],
        subscribe: ['$share/mqtt-fn/orders/#', 'mqtt-fn/sessions/*'],
        receive: ['mqtt-fn/sessions/*', 'orders/*'],
      },
    })
  })

  it("gives each role exactly its derived iot: statements, as ARNs of the stack's account and region", () => {
    expect(iotOf('HttpPublishHandlerRole')).toEqual(expectedIot(derived.httpPublish))
    expect(iotOf('SqsRelayHandlerRole')).toEqual(expectedIot(derived.sqsRelay))
    expect(iotOf('ForwarderTaskTaskRole')).toEqual(expectedIot(derived.forwarder))
    expect(iotOf('ForwarderTaskTaskRole')['iot:Subscribe']).toEqual([
      `${PREFIX}topicfilter/$share/mqtt-fn/orders/#`,
      `${PREFIX}topicfilter/mqtt-fn/sessions/*`,
    ])
    // The forwarder still invokes its target functions; the execution role has no iot: action.
    expect(roleStatements('ForwarderTaskTaskRole').flatMap((s) => asList(s['Action']))).toContain('lambda:InvokeFunction')
    expect(Object.keys(iotOf('ForwarderTaskExecutionRole'))).toEqual([])
  })

  it('has no "*" resource on any iot: action except iot:DescribeEndpoint, and no wildcard action', () => {
    const statements = resourcesOf('AWS::IAM::Policy').flatMap(([id, p]) =>
      (p.Properties!['PolicyDocument'] as { Statement: Json[] }).Statement.map((statement) => ({ id, statement })),
    )
    let iot = 0
    for (const { id, statement } of statements) {
      const actions = asList(statement['Action']).map(String)
      for (const action of actions) expect(action, id).not.toMatch(/\*/)
      const resources = asList(statement['Resource']).map(arnText)
      if (resources.includes('*')) expect(actions, id).toEqual([expect.stringMatching(/^(iot:DescribeEndpoint|ecr:GetAuthorizationToken)$/)])
      if (!actions.some((a) => a.startsWith('iot:')) || actions.includes('iot:DescribeEndpoint')) continue
      iot++
      for (const resource of resources) {
        expect(resource, id).toMatch(/^arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:(client|topic|topicfilter)\/[^*]/)
      }
    }
    expect(iot).toBe(2 + 2 + 5)
  })
})

describe('broker iot-core: cdk-nag AwsSolutions', () => {
  it('reports nothing that is not acknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(app)
    const open = report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath ?? r.resourceLogicalId).join(', ')}`)
    expect(open).toEqual([])
    expect(report.success).toBe(true)
  })

  it('acknowledges "*" only for DescribeEndpoint and ecr:GetAuthorizationToken, and each wildcard IoT name on its own, with reasons', () => {
    const acknowledged: { path: string; id: string; reason: string }[] = []
    for (const node of app.node.findAll()) {
      for (const entry of node.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) acknowledged.push({ path: node.node.path, id: id.replace(/^Annotation::/, ''), reason })
      }
    }
    const star = acknowledged.filter((a) => a.id === 'AwsSolutions-IAM5[Resource::*]')
    expect(star.map((a) => a.path).sort()).toEqual([`${STACK_NAME}/Forwarder/Task/ExecutionRole`, `${STACK_NAME}/IotEndpoint/Lookup`])
    expect(star.find((a) => a.path.endsWith('Lookup'))!.reason).toMatch(/iot:DescribeEndpoint/)
    const iot = acknowledged.filter((a) => a.id.startsWith('AwsSolutions-IAM5[Resource::arn:'))
    expect(iot.map((a) => `${a.path} ${a.id}`).sort()).toEqual(
      [
        `${STACK_NAME}/HttpPublish/Handler/Role AwsSolutions-IAM5[Resource::${PREFIX}client/mqttfn-mqtt-fn-*]`,
        `${STACK_NAME}/SqsRelay/Handler/Role AwsSolutions-IAM5[Resource::${PREFIX}client/mqttfn-mqtt-fn-*]`,
        `${STACK_NAME}/Forwarder/Task/TaskRole AwsSolutions-IAM5[Resource::${PREFIX}client/mqtt-fn-forwarder-*]`,
        `${STACK_NAME}/Forwarder/Task/TaskRole AwsSolutions-IAM5[Resource::${PREFIX}topic/mqtt-fn/sessions/*]`,
        `${STACK_NAME}/Forwarder/Task/TaskRole AwsSolutions-IAM5[Resource::${PREFIX}topicfilter/mqtt-fn/sessions/*]`,
        `${STACK_NAME}/Forwarder/Task/TaskRole AwsSolutions-IAM5[Resource::${PREFIX}topic/orders/*]`,
      ].sort(),
    )
    for (const { id, reason } of acknowledged) expect(reason.length, id).toBeGreaterThan(40)
  })
})

describe('broker iot-core: context', () => {
  const check = (context: Record<string, unknown>) => () => configFromContext(new App({ context }).node, root)

  it('refuses an unknown broker and brokerTls with iot-core, naming the context key', () => {
    expect(check({ broker: 'foo' })).toThrow(ConfigError)
    expect(check({ broker: 'foo' })).toThrow(/context broker: one of secret, iot-core, got "foo"/)
    expect(check({ broker: 'iot-core', brokerTls: 'none' })).toThrow(/context brokerTls: applies to broker secret only/)
    expect(check({ broker: 'iot-core', brokerTls: 'mutual' })).toThrow(ConfigError)
    expect(check({}).call(undefined).broker).toBe('secret')
  })

  it('refuses to build an iot-core stack synchronously without its IoT permissions', () => {
    expect(() => buildApp({ outdir: join(work, 'cdk.out.sync'), context: { broker: 'iot-core' } }, root)).toThrow(/context broker: iot-core needs the IoT permissions/)
  })

  it('refuses a relayTopic the functions may not publish to', async () => {
    await expect(loadIotPermissions({ ...config, relayTopic: 'relay/default' })).rejects.toThrow(/context relayTopic: "relay\/default" is not in the allowedTopics/)
  })
})

describe('loadIotPermissions refuses resources it cannot scope', () => {
  const envstore = ['apiVersion: dapr.io/v1alpha1', 'kind: Component', 'metadata:', '  name: envstore', 'spec:', '  type: secretstores.local.env', '  version: v1', '  metadata: []'].join('\n')
  const pubsub = (metadata: Record<string, string>): string =>
    [
      'apiVersion: dapr.io/v1alpha1',
      'kind: Component',
      'metadata:',
      '  name: pubsub',
      'spec:',
      '  type: pubsub.mqtt',
      '  version: v1',
      '  metadata:',
      '    - name: url',
      '      secretKeyRef:',
      '        name: MQTT_URL',
      '        key: MQTT_URL',
      ...Object.entries(metadata).flatMap(([name, value]) => [`    - name: ${name}`, `      value: ${JSON.stringify(value)}`]),
      'auth:',
      '  secretStore: envstore',
    ].join('\n')
  const subscription = (topic: string): string =>
    ['apiVersion: dapr.io/v2alpha1', 'kind: Subscription', 'metadata:', '  name: orders', 'spec:', '  pubsubname: pubsub', `  topic: ${JSON.stringify(topic)}`, '  routes:', '    default: lambda:mqtt-fn-orders'].join('\n')

  let n = 0
  /** A config whose two folders hold `functions` and `forwarder` (YAML documents). */
  async function withResources(functions: string[], forwarder: string[]): Promise<MqttFnConfig> {
    const dir = join(work, `case-${n++}`)
    await mkdir(join(dir, 'fn'), { recursive: true })
    await mkdir(join(dir, 'fwd'), { recursive: true })
    await writeFile(join(dir, 'fn', 'pubsub.yaml'), [envstore, ...functions].join('\n---\n'))
    await writeFile(join(dir, 'fwd', 'pubsub.yaml'), [envstore, ...forwarder].join('\n---\n'))
    const { relayTopic: _, ...rest } = config
    return { ...rest, root: dir, functionResourcesPath: join(dir, 'fn'), forwarderResourcesPath: 'fwd' }
  }
  const goodFunctions = pubsub({ authMethod: 'aws-sigv4', allowedTopics: 'orders/new' })
  const goodForwarder = [pubsub({ authMethod: 'aws-sigv4', consumerID: 'fwd-{podName}' }), subscription('orders/#')]

  it('accepts a minimal iot-core set', async () => {
    const permissions = await loadIotPermissions(await withResources([goodFunctions], goodForwarder))
    expect(permissions.httpPublish.publish).toEqual(['orders/new'])
    expect(permissions.forwarder.connect).toEqual(['fwd-*'])
    expect(permissions.forwarder.subscribe).toContain('orders/#')
    expect(permissions.forwarder.receive).toContain('orders/*')
  })

  it('a component without authMethod aws-sigv4', async () => {
    const c = await withResources([pubsub({ allowedTopics: 'orders/new' })], goodForwarder)
    await expect(loadIotPermissions(c)).rejects.toThrow(ConfigError)
    await expect(loadIotPermissions(c)).rejects.toThrow(/fn[/\\]pubsub\.yaml: document \d+ \(Component\/pubsub\): spec\.metadata\.authMethod: must be aws-sigv4/)
  })

  it("the functions' component without allowedTopics", async () => {
    const c = await withResources([pubsub({ authMethod: 'aws-sigv4' })], goodForwarder)
    await expect(loadIotPermissions(c)).rejects.toThrow(/fn[/\\]pubsub\.yaml: document \d+ \(Component\/pubsub\): spec\.metadata\.allowedTopics: set it/)
  })

  it('a consumerID that is only a variable part', async () => {
    const c = await withResources([goodFunctions], [pubsub({ authMethod: 'aws-sigv4', consumerID: '{podName}' }), subscription('orders/#')])
    await expect(loadIotPermissions(c)).rejects.toThrow(/fwd[/\\]pubsub\.yaml: document \d+ \(Component\/pubsub\): spec\.metadata\.consumerID: "\{podName\}" would need an IoT permission on every name/)
  })

  it('a subscription to every topic', async () => {
    const c = await withResources([goodFunctions], [pubsub({ authMethod: 'aws-sigv4', consumerID: 'fwd-{podName}' }), subscription('#')])
    await expect(loadIotPermissions(c)).rejects.toThrow(/\(Subscription\/orders\): spec\.topic: .* would need an IoT permission on every name/)
  })

  it('a url that is not the MQTT_URL the stack sets', async () => {
    const fixed = pubsub({ authMethod: 'aws-sigv4', allowedTopics: 'orders/new' }).replace(/ {4}- name: url\n {6}secretKeyRef:\n {8}name: MQTT_URL\n {8}key: MQTT_URL/, '    - name: url\n      value: "wss://other-ats.iot.eu-west-1.amazonaws.com/mqtt"')
    const c = await withResources([fixed], goodForwarder)
    await expect(loadIotPermissions(c)).rejects.toThrow(/spec\.metadata\.url: must be the secretKeyRef MQTT_URL/)
  })
})
