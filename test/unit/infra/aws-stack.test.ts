// The CDK app of infra/aws, synthesized here as `npm run synth` does (offline: no AWS account,
// no Docker; the forwarder image is only fingerprinted), then checked with aws-cdk-lib's
// assertions and cdk-nag. The stack builds the functions' code itself at synth, with the
// resources of functionResourcesPath compiled in (infra/aws/function-code.ts runs
// scripts/build.mjs into a temp folder), so this file does not depend on, or race with, `npm run build`.
import { cp, mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Validations, type App } from 'aws-cdk-lib'
import { Match, Template } from 'aws-cdk-lib/assertions'
import { AwsSolutionsChecks } from 'cdk-nag'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildApp, STACK_NAME } from '../../../infra/aws/build-app.js'
import { ConfigError, configFromContext, DEFAULT_TARGET_FUNCTIONS } from '../../../infra/aws/config.js'
import type { MqttFnStack } from '../../../infra/aws/stack.js'
import { loadResources } from '../../../src/core/resources/index.js'
import { httpEventV2, lambdaContext } from '../../../support/aws-events.js'
import { makeCert } from '../core/resources/builders.js'

const root = resolve(import.meta.dirname, '../../..')

// Values a careless stack could copy from the synthesizing environment into the template.
const cert = makeCert('mqtt-fn-infra-test')
const SECRET_ENV = {
  MQTT_URL: 'mqtts://infra-user:Infra-Pa55-zz9@broker.example.com:8883',
  MQTT_CA_CERT: cert.cert,
  MQTT_CLIENT_CERT: cert.cert,
  MQTT_CLIENT_KEY: cert.key,
  APP_API_TOKEN: 'infra-test-token-0123456789abcdef',
  DAPR_API_TOKEN: 'infra-test-dapr-token-fedcba9876543210',
}

const TARGETS = [
  'arn:aws:lambda:eu-west-1:123456789012:function:orders-handler',
  'arn:aws:lambda:eu-west-1:123456789012:function:priority-orders',
]

type Json = Record<string, unknown>
interface Resource {
  Type: string
  Properties?: Json
}

let work: string
let app: App
let stack: MqttFnStack
let template: Template
let json: { Resources: Record<string, Resource>; Parameters: Record<string, Json>; Outputs: Record<string, Json> }
const savedEnv: Record<string, string | undefined> = {}

function synth(context: Record<string, unknown>, outdir: string): { app: App; stack: MqttFnStack } {
  return buildApp({ outdir, context }, root)
}

/** The folder of cdk.out (`outdir`) that `template`'s function `description` deploys: its Code.S3Key is the asset hash. */
function functionAsset(t: { Resources: Record<string, Resource> }, outdir: string, description: RegExp): string {
  const fn = Object.values(t.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && description.test(String(r.Properties?.['Description'])))
  const key = (fn?.Properties?.['Code'] as { S3Key?: unknown } | undefined)?.S3Key
  expect(key, `the function ${description}`).toMatch(/^[0-9a-f]{64}\.zip$/)
  return join(outdir, `asset.${String(key).replace(/\.zip$/, '')}`)
}

function resourcesOf(type: string): [string, Resource][] {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type)
}

/** Every IAM policy document of the template: policies, inline role policies, managed policies. */
function policyStatements(): { owner: string; statement: Json }[] {
  const out: { owner: string; statement: Json }[] = []
  for (const [id, r] of Object.entries(json.Resources)) {
    const docs: unknown[] = []
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') docs.push(r.Properties?.['PolicyDocument'])
    if (r.Type === 'AWS::IAM::Role') {
      for (const p of (r.Properties?.['Policies'] as { PolicyDocument: unknown }[] | undefined) ?? []) docs.push(p.PolicyDocument)
    }
    for (const doc of docs) {
      for (const statement of (doc as { Statement: Json[] }).Statement) out.push({ owner: id, statement })
    }
  }
  return out
}

const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v])

beforeAll(async () => {
  // Docker made unusable: aws-cdk-lib runs every Docker command (bundling, image builds) as
  // CDK_DOCKER, so a synth that needed Docker would throw here instead of merely taking long.
  for (const [k, v] of Object.entries({ ...SECRET_ENV, CDK_DOCKER: join(tmpdir(), 'mqttfn-no-docker', 'docker') })) {
    savedEnv[k] = process.env[k]
    process.env[k] = v
  }
  work = await mkdtemp(join(tmpdir(), 'mqttfn-cdk-'))
  ;({ app, stack } = synth(
    { forwarderReplicas: '3', forwarderTargetFunctions: TARGETS.join(','), relayTopic: 'relay/default', forwarderAppUrl: 'https://orders.example.com' },
    join(work, 'cdk.out'),
  ))
  // With the cdk-nag plugin registered, synth throws on any finding not acknowledged.
  app.synth()
  template = Template.fromStack(stack)
  json = template.toJSON() as typeof json
}, 120_000)

afterAll(async () => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k]
    else process.env[k] = v
  }
  await rm(work, { recursive: true, force: true })
})

describe('synthesis', () => {
  it('runs offline, without Docker (CDK_DOCKER points at nothing)', () => {
    // No wall-clock bound: synth with the functions' build takes 15-20 s on a 2-core box; what
    // matters is that it needs neither Docker (see beforeAll) nor an AWS account, and the hook's
    // 120 s timeout catches a hang.
    expect(stack.stackName).toBe(STACK_NAME)
    expect(process.env.CDK_DOCKER).toContain('mqttfn-no-docker')
  })

  it('stages the forwarder image context from the repository root with what .dockerignore lets through only', async () => {
    const manifest = JSON.parse(await readFile(join(work, 'cdk.out', `${STACK_NAME}.assets.json`), 'utf8')) as {
      dockerImages: Record<string, { source: { directory: string; dockerFile: string; dockerBuildArgs: Record<string, string>; platform: string } }>
    }
    const images = Object.values(manifest.dockerImages)
    expect(images).toHaveLength(1)
    const source = images[0]!.source
    expect(source).toMatchObject({
      dockerFile: 'infra/forwarder/Dockerfile',
      dockerBuildArgs: { RESOURCES: 'infra/resources/forwarder' },
      platform: 'linux/arm64',
    })
    const context = join(work, 'cdk.out', source.directory)
    const top = (await readdir(context)).sort()
    expect(top).toEqual(expect.arrayContaining(['bin', 'functions', 'infra', 'package-lock.json', 'package.json', 'resources', 'scripts', 'src']))
    for (const heavy of ['node_modules', 'dist', 'test', 'bench', '.git', 'cdk.out']) expect(top).not.toContain(heavy)
    await stat(join(context, 'infra/forwarder/Dockerfile'))
    await stat(join(context, 'infra/resources/forwarder/subscription.yaml'))
  })
})

describe('HTTP publish function', () => {
  it('is Node.js 22 on arm64 and runs index.handler of its bundle, with no layer', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('HTTP publish'),
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Layers: Match.absent(),
      Environment: { Variables: Match.objectLike({ APP_ID: 'mqtt-fn' }) },
    })
    template.resourceCountIs('AWS::Lambda::LayerVersion', 0)
  })

  it('has a public Function URL (the function checks dapr-api-token itself)', () => {
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' })
    template.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'NONE', Principal: '*' })
    // Function URLs created since October 2025 also need lambda:InvokeFunction via the URL.
    template.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', InvokedViaFunctionUrl: true, Principal: '*' })
  })

  it('is behind an HTTP API on ANY /{proxy+} with payload format 2.0 and access logs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' })
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'ANY /{proxy+}' })
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' })
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
    })
  })

  it('gets APP_API_TOKEN from a generated Secrets Manager secret as a dynamic reference', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ PasswordLength: 48 }) })
    const fn = resourcesOf('AWS::Lambda::Function').find(([, r]) => String(r.Properties?.['Description']).includes('HTTP publish'))![1]
    const token = JSON.stringify((fn.Properties!['Environment'] as { Variables: Json }).Variables['APP_API_TOKEN'])
    expect(token).toContain('{{resolve:secretsmanager:')
    expect(token).toMatch(/"Ref":"ApiToken[0-9A-F]+"/)
  })

  it('outputs the Function URL and the HTTP API URL', () => {
    expect(Object.keys(json.Outputs)).toEqual(expect.arrayContaining(['FunctionUrl', 'HttpApiUrl', 'ApiTokenSecretArn']))
  })
})

describe('SQS relay', () => {
  it('reads its queue with batches of 10 and partial batch responses', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SqsRelayQueue'), 'Arn'] },
    })
  })

  it('moves a message to the dead-letter queue after 5 receives', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SqsRelayDeadLetters'), 'Arn'] }, maxReceiveCount: 5 },
    })
    template.resourceCountIs('AWS::SQS::Queue', 2)
  })

  it('keeps the visibility timeout at least 6 times the function timeout', () => {
    const relay = resourcesOf('AWS::Lambda::Function').find(([, r]) => String(r.Properties?.['Description']).includes('SQS relay'))![1]
    const queue = resourcesOf('AWS::SQS::Queue').find(([id]) => id.startsWith('SqsRelayQueue'))![1]
    const timeout = relay.Properties!['Timeout'] as number
    expect(timeout).toBeGreaterThan(0)
    expect(queue.Properties!['VisibilityTimeout']).toBeGreaterThanOrEqual(6 * timeout)
  })

  it('is Node.js 22 on arm64 with the default topic of the context', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('SQS relay'),
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Layers: Match.absent(),
      Environment: { Variables: Match.objectLike({ MQTTFN_TOPIC: 'relay/default' }) },
    })
  })

  it('queues refuse plain HTTP and are encrypted', () => {
    for (const [, queue] of resourcesOf('AWS::SQS::Queue')) expect(queue.Properties?.['SqsManagedSseEnabled']).toBe(true)
    expect(resourcesOf('AWS::SQS::QueuePolicy')).toHaveLength(2)
    for (const [, policy] of resourcesOf('AWS::SQS::QueuePolicy')) {
      expect(JSON.stringify(policy.Properties)).toContain('"aws:SecureTransport":"false"')
    }
  })

  it('outputs the queue URL', () => {
    expect(Object.keys(json.Outputs)).toEqual(expect.arrayContaining(['QueueUrl', 'DeadLetterQueueUrl']))
  })
})

/** yaml's own message for MULTILINE_IMPLICIT_KEY: in the YAML chunk, never in a bundle with compiled resources. */
const YAML_PARSER_MARKER = 'Implicit keys need to be on a single line'

describe("the functions' code: resources compiled in at synth", () => {
  it('gives no function MQTTFN_RESOURCES_PATH and no layer', () => {
    const functions = resourcesOf('AWS::Lambda::Function')
    expect(functions.length).toBeGreaterThanOrEqual(2)
    for (const [id, fn] of functions) {
      expect(fn.Properties?.['Layers'], id).toBeUndefined()
      const vars = (fn.Properties?.['Environment'] as { Variables?: Json } | undefined)?.Variables ?? {}
      expect(Object.keys(vars), id).not.toContain('MQTTFN_RESOURCES_PATH')
    }
    template.resourceCountIs('AWS::Lambda::LayerVersion', 0)
  })

  it('deploys each function as scripts/build.mjs builds it with infra/resources/functions compiled in, the documents as written', async () => {
    const publish = functionAsset(json, join(work, 'cdk.out'), /HTTP publish/)
    const relay = functionAsset(json, join(work, 'cdk.out'), /SQS relay/)
    expect(publish).not.toBe(relay)
    for (const dir of [publish, relay]) {
      const files = await readdir(dir)
      expect(files).toEqual(expect.arrayContaining(['index.mjs', 'index.mjs.map', 'resources-yaml.mjs', 'mqtt-ws.mjs', 'aws-sigv4.mjs']))
      // The folder is copied only for a resource that reads a file at run time; these do not.
      expect(files).not.toContain('resources')
      const code = await readFile(join(dir, 'index.mjs'), 'utf8')
      // infra/resources/functions/pubsub.yaml, compiled: the file, its components, the secret
      // references by name (resolved from the environment at cold start).
      for (const text of ['pubsub.yaml', 'envstore', 'secretstores.local.env', 'MQTT_URL', 'MQTT_CA_CERT', 'MQTT_CLIENT_CERT', 'MQTT_CLIENT_KEY']) expect(code, text).toContain(text)
      // No YAML parser, and the YAML chunk only as the dynamic import MQTTFN_RESOURCES_PATH takes.
      expect(code).not.toContain(YAML_PARSER_MARKER)
      expect(code).not.toMatch(/from\s*["']\.\/resources-yaml\.mjs["']/)
      expect(await readFile(join(dir, 'resources-yaml.mjs'), 'utf8')).toContain(YAML_PARSER_MARKER)
    }
    // Each asset is its own function's bundle.
    expect(await readFile(join(publish, 'index.mjs'), 'utf8')).not.toBe(await readFile(join(relay, 'index.mjs'), 'utf8'))
  })

  it('loads the compiled resources at cold start without the YAML chunk, the secrets from its environment', async () => {
    const copy = join(work, 'cold-start')
    await cp(functionAsset(json, join(work, 'cdk.out'), /HTTP publish/), copy, { recursive: true })
    // Reading YAML would need this chunk: without it, only the compiled resources can load.
    await rm(join(copy, 'resources-yaml.mjs'))
    const saved = { APP_ID: process.env['APP_ID'], MQTTFN_RESOURCES_PATH: process.env['MQTTFN_RESOURCES_PATH'] }
    process.env['APP_ID'] = 'cold-start-app'
    delete process.env['MQTTFN_RESOURCES_PATH']
    try {
      // The bundle reads its settings when imported, as Lambda's cold start does; MQTT_* and the tokens are SECRET_ENV.
      const { handler } = (await import(pathToFileURL(join(copy, 'index.mjs')).href)) as {
        handler: (event: unknown, context: unknown) => Promise<{ statusCode: number; body?: string }>
      }
      const res = await handler(httpEventV2({ method: 'GET', url: '/v1.0/metadata', headers: { 'dapr-api-token': SECRET_ENV.DAPR_API_TOKEN } }), lambdaContext())
      expect(res.statusCode, res.body).toBe(200)
      const metadata = JSON.parse(res.body ?? '{}') as { id?: string; components?: { name: string; type: string }[] }
      expect(metadata.id).toBe('cold-start-app')
      // Loading resolved the pubsub's secretKeyRefs from the environment (a missing one fails the request).
      expect(metadata.components?.map((c) => `${c.name} ${c.type}`)).toEqual(['pubsub pubsub.mqtt'])
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
    }
  })

  it('compiles the folder functionResourcesPath names, its secrets and template tags left to the cold start', async () => {
    const resources = join(work, 'custom-resources')
    await mkdir(resources, { recursive: true })
    const yaml = (lines: string[]) => `${lines.join('\n')}\n`
    await writeFile(
      join(resources, 'pubsub.yaml'),
      yaml([
        'apiVersion: dapr.io/v1alpha1',
        'kind: Component',
        'metadata:',
        '  name: bus-secrets',
        'spec:',
        '  type: secretstores.local.file',
        '  version: v1',
        '  metadata:',
        '    - name: secretsFile',
        '      value: bus-secrets.json',
        '---',
        'apiVersion: dapr.io/v1alpha1',
        'kind: Component',
        'metadata:',
        '  name: orders-bus',
        'spec:',
        '  type: pubsub.mqtt',
        '  version: v1',
        '  metadata:',
        '    - name: url',
        '      secretKeyRef: { name: BUS_URL, key: BUS_URL }',
        '    - name: consumerID',
        '      value: "{appID}-{podName}"',
        'auth:',
        '  secretStore: bus-secrets',
      ]),
    )
    await writeFile(join(resources, 'bus-secrets.json'), '{"BUS_URL": "mqtt://bus.example.com:1883"}\n')
    const outdir = join(work, 'cdk.out.resources')
    const other = synth({ functionResourcesPath: resources, appId: 'shop-7', brokerTls: 'none' }, outdir)
    other.app.synth()
    const t = Template.fromStack(other.stack).toJSON() as typeof json
    for (const description of [/HTTP publish/, /SQS relay/]) {
      const dir = functionAsset(t, outdir, description)
      expect(dir).not.toBe(functionAsset(json, join(work, 'cdk.out'), description))
      const code = await readFile(join(dir, 'index.mjs'), 'utf8')
      for (const text of ['orders-bus', 'bus-secrets', 'BUS_URL', '{appID}-{podName}']) expect(code, text).toContain(text)
      expect(code).not.toContain('envstore')
      // APP_ID is the function's environment; the consumerID is resolved with it at cold start.
      expect(code).not.toContain('shop-7')
      expect(code).not.toContain(YAML_PARSER_MARKER)
      // A secretstores.local.file reads its file at run time: the build puts the folder beside the bundle.
      expect((await readdir(join(dir, 'resources'))).sort()).toEqual(['bus-secrets.json', 'pubsub.yaml'])
    }
    for (const r of Object.values(t.Resources).filter((r) => r.Type === 'AWS::Lambda::Function')) {
      const vars = (r.Properties!['Environment'] as { Variables: Json }).Variables
      expect(vars['APP_ID']).toBe('shop-7')
      expect(vars['MQTTFN_RESOURCES_PATH']).toBeUndefined()
      expect(r.Properties!['Layers']).toBeUndefined()
    }
  }, 120_000)
})

describe('forwarder on ECS Fargate', () => {
  it('runs the requested number of replicas in private subnets, without public IPs', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      DesiredCount: 3,
      DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: 100, DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
    })
  })

  it('checks the container on /readyz port 9464, exposes 9464 and logs to CloudWatch', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          HealthCheck: Match.objectLike({ Command: Match.arrayWith(['CMD', 'node', '-e', Match.stringLikeRegexp('127\\.0\\.0\\.1:9464/readyz')]) }),
          PortMappings: [Match.objectLike({ ContainerPort: 9464 })],
          LogConfiguration: Match.objectLike({ LogDriver: 'awslogs' }),
          ReadonlyRootFilesystem: true,
          Environment: Match.arrayWith([{ Name: 'APP_URL', Value: 'https://orders.example.com' }]),
        }),
      ],
    })
  })

  it('gets the broker secrets from Secrets Manager (ECS secrets), one field each', () => {
    const task = resourcesOf('AWS::ECS::TaskDefinition')[0]![1]
    const container = (task.Properties!['ContainerDefinitions'] as Json[])[0]!
    const secrets = container['Secrets'] as { Name: string; ValueFrom: unknown }[]
    expect(secrets.map((s) => s.Name)).toEqual(['MQTT_URL', 'MQTT_CA_CERT', 'MQTT_CLIENT_CERT', 'MQTT_CLIENT_KEY'])
    for (const s of secrets) expect(JSON.stringify(s.ValueFrom)).toMatch(/"Ref":"BrokerSecretArn"\},":(url|caCert|clientCert|clientKey)::"/)
    const names = (container['Environment'] as { Name: string }[]).map((e) => e.Name)
    for (const name of Object.keys(SECRET_ENV)) expect(names).not.toContain(name)
  })

  it('may invoke exactly the target functions of the context, and only the task role may', () => {
    const invoke = policyStatements().filter(({ statement }) => asList(statement['Action']).includes('lambda:InvokeFunction'))
    expect(invoke).toHaveLength(1)
    expect(invoke[0]!.owner).toMatch(/^ForwarderTaskTaskRole/)
    expect(asList(invoke[0]!.statement['Resource']).sort()).toEqual([...TARGETS].sort())
  })

  it('has its own VPC with flow logs, and a security group without ingress', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1)
    template.resourceCountIs('AWS::EC2::FlowLog', 1)
    for (const [, sg] of resourcesOf('AWS::EC2::SecurityGroup')) expect(sg.Properties?.['SecurityGroupIngress']).toBeUndefined()
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0)
  })
})

describe('secrets and least privilege', () => {
  it('puts no secret value in the template or anywhere in cdk.out', async () => {
    const files: string[] = []
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name)
        if (entry.isDirectory()) await walk(path)
        else files.push(path)
      }
    }
    await walk(join(work, 'cdk.out'))
    const needles = [
      'Infra-Pa55-zz9',
      SECRET_ENV.APP_API_TOKEN,
      SECRET_ENV.DAPR_API_TOKEN,
      cert.key.split('\n')[1]!,
      cert.cert.split('\n')[1]!,
    ]
    for (const file of files) {
      const text = await readFile(file, 'utf8')
      for (const needle of needles) expect(text.includes(needle), `${needle.slice(0, 12)}... in ${file}`).toBe(false)
      // Templates, manifests and resources (source files of the image's context do mention PEM headers).
      if (/\.(json|ya?ml)$/.test(file)) expect(text, file).not.toMatch(/-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE)-----/)
    }
  })

  it('passes every broker value to the functions as a dynamic reference, never as text', () => {
    for (const [, fn] of resourcesOf('AWS::Lambda::Function')) {
      const vars = (fn.Properties!['Environment'] as { Variables: Json }).Variables
      for (const name of ['MQTT_URL', 'MQTT_CA_CERT', 'MQTT_CLIENT_CERT', 'MQTT_CLIENT_KEY']) {
        expect(JSON.stringify(vars[name])).toMatch(/^\{"Fn::Join":\["",\["\{\{resolve:secretsmanager:",\{"Ref":"BrokerSecretArn"\},":SecretString:\w+::\}\}"\]\]\}$/)
      }
    }
    expect(json.Parameters['BrokerSecretArn']).toMatchObject({ Type: 'String' })
    expect(json.Parameters['BrokerSecretArn']!['Default']).toBeUndefined()
  })

  it('grants no wildcard action anywhere, and "*" resources only for ecr:GetAuthorizationToken', () => {
    const statements = policyStatements()
    expect(statements.length).toBeGreaterThan(0)
    for (const { owner, statement } of statements) {
      for (const action of asList(statement['Action'])) {
        expect(action, owner).not.toBe('*')
        expect(String(action), owner).not.toMatch(/:\*$|\*/)
      }
      if (asList(statement['Resource']).includes('*')) expect(statement['Action'], owner).toBe('ecr:GetAuthorizationToken')
      expect(statement['Effect']).toBe('Allow')
    }
    // Own log groups instead of the AWS managed AWSLambdaBasicExecutionRole (every log group).
    for (const [id, role] of resourcesOf('AWS::IAM::Role')) expect(role.Properties?.['ManagedPolicyArns'], id).toBeUndefined()
  })

  it('lets the task execution role read the broker secret only', () => {
    const reads = policyStatements().filter(({ statement }) => asList(statement['Action']).includes('secretsmanager:GetSecretValue'))
    expect(reads).toHaveLength(1)
    expect(reads[0]!.owner).toMatch(/^ForwarderTaskExecutionRole/)
    expect(reads[0]!.statement['Resource']).toEqual({ Ref: 'BrokerSecretArn' })
  })
})

describe('cdk-nag AwsSolutions', () => {
  it('reports nothing that is not acknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(app)
    const open = report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath ?? r.resourceLogicalId).join(', ')}`)
    expect(open).toEqual([])
    expect(report.success).toBe(true)
  })

  it('gives every acknowledgement a reason', () => {
    const acknowledged: { id: string; reason: string }[] = []
    for (const node of app.node.findAll()) {
      for (const entry of node.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) acknowledged.push({ id: id.replace(/^Annotation::/, ''), reason })
      }
    }
    const ours = acknowledged.filter((a) => a.id.startsWith('AwsSolutions-') || a.id.endsWith('W2509'))
    expect(ours.map((a) => a.id).sort()).toEqual(
      [
        'AwsSolutions-APIG4',
        'AwsSolutions-ECS2',
        'AwsSolutions-IAM5[Resource::*]',
        'AwsSolutions-L1',
        'AwsSolutions-L1',
        'AwsSolutions-SMG4',
        'CloudFormation-Validate::W2509',
      ].sort(),
    )
    for (const { id, reason } of acknowledged) expect(reason.length, id).toBeGreaterThan(40)
  })

  it('fails the synthesis on a finding nobody acknowledged', async () => {
    const { Queue } = await import('aws-cdk-lib/aws-sqs')
    const other = synth({}, join(work, 'cdk.out.nag'))
    new Queue(other.stack, 'Unchecked') // no dead-letter queue, plain HTTP allowed: AwsSolutions-SQS3, SQS4
    expect(() => other.app.synth()).toThrow(/AwsSolutions-SQS3/)
  })
})

describe('context', () => {
  it('with brokerTls none, hands the functions and the forwarder MQTT_URL only', async () => {
    const other = synth({ brokerTls: 'none', forwarderArchitecture: 'x86_64' }, join(work, 'cdk.out.none'))
    const t = Template.fromStack(other.stack).toJSON() as typeof json
    for (const r of Object.values(t.Resources).filter((r) => r.Type === 'AWS::Lambda::Function')) {
      const vars = Object.keys((r.Properties!['Environment'] as { Variables: Json }).Variables)
      expect(vars.filter((v) => v.startsWith('MQTT_'))).toEqual(['MQTT_URL'])
    }
    const task = Object.values(t.Resources).find((r) => r.Type === 'AWS::ECS::TaskDefinition')!
    const container = (task.Properties!['ContainerDefinitions'] as Json[])[0]!
    expect((container['Secrets'] as { Name: string }[]).map((s) => s.Name)).toEqual(['MQTT_URL'])
    expect(task.Properties!['RuntimePlatform']).toEqual({ CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' })
    // The default targets are the example subscription's functions, in the stack's account and region.
    const invoke = JSON.stringify(Object.values(t.Resources).filter((r) => r.Type === 'AWS::IAM::Policy').map((r) => r.Properties))
    for (const name of DEFAULT_TARGET_FUNCTIONS) expect(invoke).toContain(`:function:${name}"`)
  })

  it('refuses values it cannot use, naming the context key', async () => {
    const { App } = await import('aws-cdk-lib')
    const check = (context: Record<string, unknown>) => () => configFromContext(new App({ context }).node, root)
    expect(check({ brokerTls: 'tls' })).toThrow(ConfigError)
    expect(check({ brokerTls: 'tls' })).toThrow(/context brokerTls/)
    expect(check({ forwarderReplicas: 'two' })).toThrow(/context forwarderReplicas/)
    expect(check({ forwarderTargetFunctions: 'arn:aws:lambda:x' })).toThrow(/context forwarderTargetFunctions/)
    expect(check({ forwarderTargetFunctions: '*' })).toThrow(/context forwarderTargetFunctions/)
    expect(check({ forwarderResourcesPath: '/etc' })).toThrow(/context forwarderResourcesPath/)
    expect(check({ forwarderResourcesPath: 'test/fixtures/resources/valid' })).toThrow(/not in the image's build context/)
    expect(check({ forwarderResourcesPath: 'resources' })().forwarderResourcesPath).toBe('resources')
    expect(check({ bundlesPath: 'dist/functions/aws' })).toThrow(/context bundlesPath: no longer used; the stack builds the functions' code at synth/)
    expect(check({ functionResourcesPath: join(work, 'nothing') })).toThrow(/context functionResourcesPath: no folder/)
    expect(check({ functionResourcesPath: 'infra/aws' })).toThrow(/context functionResourcesPath: .* holds no \.yaml files/)
    expect(check({ apiTokenSecretArn: 'my-token' })).toThrow(/context apiTokenSecretArn/)
    expect(check({ forwarderTargetFunctions: '["a-fn", "b-fn"]' })().forwarderTargetFunctions).toEqual(['a-fn', 'b-fn'])
  })

  it("covers every lambda: route of the forwarder's example resources with the default targets", async () => {
    const loaded = await loadResources(join(root, 'infra/resources/forwarder'), {
      env: { MQTT_URL: 'mqtts://broker:8883', MQTT_CA_CERT: cert.cert, MQTT_CLIENT_CERT: cert.cert, MQTT_CLIENT_KEY: cert.key },
    })
    const paths = loaded.subscriptions.flatMap((s) => s.rules.map((r) => r.path))
    const lambdas = paths.filter((p) => p.startsWith('lambda:')).map((p) => p.slice('lambda:'.length))
    expect(lambdas.length).toBeGreaterThan(0)
    expect([...new Set(lambdas)].sort()).toEqual([...DEFAULT_TARGET_FUNCTIONS].sort())
  })
})
