/**
 * The stack's settings: CDK context values (`cdk deploy -c key=value`, or `context` in a test's
 * App), each with a default, checked before any construct is made. They shape the template, so
 * they are known at synth time; what may differ between deployments of one template (the broker
 * secret) is a CloudFormation parameter instead (see stack.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { isAbsolute, relative, resolve } from 'node:path'
import type { Node } from 'constructs'

/**
 * Where the broker's address and credentials come from. `secret`: one Secrets Manager secret
 * (parameter BrokerSecretArn), any broker. `iot-core`: AWS IoT Core, no secret at all: the data
 * endpoint is looked up while the stack deploys and the code signs its connection with its own
 * role (`authMethod: aws-sigv4`), whose iot: permissions are derived from the resources.
 */
export const BROKER_MODES = ['secret', 'iot-core'] as const
export type BrokerMode = (typeof BROKER_MODES)[number]

/** The resource folders each broker mode uses unless the context names others. */
export const DEFAULT_RESOURCE_FOLDERS: Record<BrokerMode, { functions: string; forwarder: string }> = {
  secret: { functions: 'infra/resources/functions', forwarder: 'infra/resources/forwarder' },
  'iot-core': { functions: 'infra/resources/functions-iot', forwarder: 'infra/resources/forwarder-iot' },
}

/** Which TLS material the broker secret holds besides `url` (and the resources reference). */
export const BROKER_TLS_MODES = ['none', 'ca', 'mutual'] as const
export type BrokerTls = (typeof BROKER_TLS_MODES)[number]

export interface MqttFnConfig {
  /** Repository root: Docker build context of the forwarder image. */
  root: string
  /** Context `broker`: `secret` (default) or `iot-core`. */
  broker: BrokerMode
  /**
   * Dapr resources compiled into the functions' code, which the stack builds at synth
   * (function-code.ts). Context `functionResourcesPath`, default infra/resources/functions
   * (functions-iot with broker iot-core).
   */
  functionResourcesPath: string
  /** Dapr resources baked into the forwarder image, relative to `root`. Context `forwarderResourcesPath`, default infra/resources/forwarder (forwarder-iot with broker iot-core). */
  forwarderResourcesPath: string
  /** Context `brokerTls`: `none`, `ca` (caCert) or `mutual` (caCert, clientCert, clientKey). Default `mutual`, as the example resources. Broker `secret` only. */
  brokerTls: BrokerTls
  /** Context `apiTokenSecretArn`: an existing Secrets Manager secret (plain string) for APP_API_TOKEN. Default: the stack generates one. */
  apiTokenSecretArn?: string
  /** Context `appId`, default `mqtt-fn`: APP_ID of the functions and the forwarder. */
  appId: string
  /** Context `relayTopic`: MQTTFN_TOPIC of the SQS relay, for messages that name no topic. */
  relayTopic?: string
  /** Context `forwarderReplicas`, default 2: tasks sharing the `$share` subscriptions. */
  forwarderReplicas: number
  /**
   * Context `forwarderTargetFunctions`: the Lambda functions the forwarder may invoke (names in
   * the stack's account and region, or ARNs), a JSON list or comma-separated. Default: the two
   * functions of infra/resources/forwarder/subscription.yaml.
   */
  forwarderTargetFunctions: string[]
  /** Context `forwarderAppUrl`: `--app-url` of the forwarder (HTTP routes, `/dapr/subscribe`). Default none. */
  forwarderAppUrl?: string
  /** Context `forwarderArchitecture`: `arm64` (default, Graviton) or `x86_64`; the image is built for it. */
  forwarderArchitecture: 'arm64' | 'x86_64'
  /** Context `vpcId`: run the forwarder in this existing VPC (looked up: needs credentials and an env). Default: a VPC of its own. */
  vpcId?: string
}

export const DEFAULT_TARGET_FUNCTIONS = ['mqtt-fn-orders', 'mqtt-fn-priority-orders']

const LAMBDA_NAME = /^[A-Za-z0-9_-]{1,64}$/
const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]+)?$/
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/

/** Thrown for a context value the stack cannot use; names the context key. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Reads and checks the context of `node` (usually the App's). */
export function configFromContext(node: Node, root: string): MqttFnConfig {
  const get = (key: string): unknown => node.tryGetContext(key)
  const str = (key: string): string | undefined => {
    const value = get(key)
    if (value === undefined || value === null || value === '') return undefined
    if (typeof value !== 'string' && typeof value !== 'number') throw new ConfigError(`context ${key}: expected a string, got ${JSON.stringify(value)}`)
    return String(value)
  }

  const broker = str('broker') ?? 'secret'
  if (!(BROKER_MODES as readonly string[]).includes(broker)) {
    throw new ConfigError(`context broker: one of ${BROKER_MODES.join(', ')}, got ${JSON.stringify(broker)}`)
  }
  const defaults = DEFAULT_RESOURCE_FOLDERS[broker as BrokerMode]

  if (get('bundlesPath') !== undefined) {
    // Bundles built beforehand carry the resources they were built with, whatever this stack names.
    throw new ConfigError('context bundlesPath: no longer used; the stack builds the functions\' code at synth with the resources of functionResourcesPath compiled in')
  }
  const functionResourcesPath = folder(root, 'functionResourcesPath', str('functionResourcesPath') ?? defaults.functions)
  if (!readdirSync(functionResourcesPath).some((file) => /\.ya?ml$/i.test(file))) {
    throw new ConfigError(`context functionResourcesPath: ${functionResourcesPath} holds no .yaml files`)
  }
  const forwarderResources = folder(root, 'forwarderResourcesPath', str('forwarderResourcesPath') ?? defaults.forwarder)
  const forwarderResourcesPath = relative(root, forwarderResources).split('\\').join('/')
  if (forwarderResourcesPath.startsWith('..') || isAbsolute(forwarderResourcesPath)) {
    throw new ConfigError(`context forwarderResourcesPath: must be inside ${root} (the image's build context)`)
  }
  const context = dockerContextFolders(root)
  if (!context.some((allowed) => forwarderResourcesPath === allowed || forwarderResourcesPath.startsWith(`${allowed}/`))) {
    throw new ConfigError(`context forwarderResourcesPath: ${forwarderResourcesPath} is not in the image's build context; .dockerignore lets in ${context.join(', ')}`)
  }

  const brokerTlsText = str('brokerTls')
  if (broker === 'iot-core' && brokerTlsText !== undefined) {
    // No secret, so no TLS material to choose: IoT Core's server certificate is publicly trusted.
    throw new ConfigError('context brokerTls: applies to broker secret only; with broker iot-core the code signs its connection with its role (no certificates)')
  }
  const brokerTls = brokerTlsText ?? 'mutual'
  if (!(BROKER_TLS_MODES as readonly string[]).includes(brokerTls)) {
    throw new ConfigError(`context brokerTls: one of ${BROKER_TLS_MODES.join(', ')}, got ${JSON.stringify(brokerTls)}`)
  }

  const apiTokenSecretArn = str('apiTokenSecretArn')
  if (apiTokenSecretArn !== undefined && !SECRET_ARN.test(apiTokenSecretArn)) {
    throw new ConfigError(`context apiTokenSecretArn: not a Secrets Manager secret ARN: ${apiTokenSecretArn}`)
  }

  const replicasText = str('forwarderReplicas') ?? '2'
  const forwarderReplicas = Number(replicasText)
  if (!Number.isInteger(forwarderReplicas) || forwarderReplicas < 0 || forwarderReplicas > 100) {
    throw new ConfigError(`context forwarderReplicas: an integer 0-100, got ${JSON.stringify(replicasText)}`)
  }

  const forwarderTargetFunctions = list(get('forwarderTargetFunctions')) ?? DEFAULT_TARGET_FUNCTIONS
  for (const target of forwarderTargetFunctions) {
    if (!LAMBDA_NAME.test(target) && !LAMBDA_ARN.test(target)) {
      throw new ConfigError(`context forwarderTargetFunctions: not a Lambda function name or ARN: ${JSON.stringify(target)}`)
    }
  }

  const forwarderAppUrl = str('forwarderAppUrl')
  if (forwarderAppUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(forwarderAppUrl)) {
    throw new ConfigError(`context forwarderAppUrl: an http(s) URL, got ${JSON.stringify(forwarderAppUrl)}`)
  }

  const forwarderArchitecture = str('forwarderArchitecture') ?? 'arm64'
  if (forwarderArchitecture !== 'arm64' && forwarderArchitecture !== 'x86_64') {
    throw new ConfigError(`context forwarderArchitecture: arm64 or x86_64, got ${JSON.stringify(forwarderArchitecture)}`)
  }

  const vpcId = str('vpcId')
  if (vpcId !== undefined && !/^vpc-[0-9a-f]{8,17}$/.test(vpcId)) throw new ConfigError(`context vpcId: not a VPC id: ${vpcId}`)

  const appId = str('appId') ?? 'mqtt-fn'
  const relayTopic = str('relayTopic')
  return {
    root,
    broker: broker as BrokerMode,
    functionResourcesPath,
    forwarderResourcesPath,
    brokerTls: brokerTls as BrokerTls,
    ...(apiTokenSecretArn !== undefined ? { apiTokenSecretArn } : {}),
    appId,
    ...(relayTopic !== undefined ? { relayTopic } : {}),
    forwarderReplicas,
    forwarderTargetFunctions,
    ...(forwarderAppUrl !== undefined ? { forwarderAppUrl } : {}),
    forwarderArchitecture,
    ...(vpcId !== undefined ? { vpcId } : {}),
  }
}

/** The paths `.dockerignore` lets into the build context (its `!path` lines after `**`). */
function dockerContextFolders(root: string): string[] {
  const file = resolve(root, '.dockerignore')
  if (!existsSync(file)) return ['']
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('!'))
    .map((line) => line.slice(1).replace(/\/+$/, ''))
}

/** `value` resolved against `root`; it must be an existing folder. */
function folder(root: string, key: string, value: string): string {
  const path = resolve(root, value)
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new ConfigError(`context ${key}: no folder at ${path}`)
  return path
}

/** A JSON array or a comma-separated string (what `-c key=a,b` gives). */
function list(value: unknown): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined
  if (Array.isArray(value)) return value.map(String)
  if (typeof value !== 'string') throw new ConfigError(`context forwarderTargetFunctions: a list or a comma-separated string`)
  const text = value.trim()
  if (text.startsWith('[')) {
    const parsed: unknown = JSON.parse(text)
    if (!Array.isArray(parsed)) throw new ConfigError('context forwarderTargetFunctions: a JSON list')
    return parsed.map(String)
  }
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '')
}

/** The environment variable of each broker secret field the resources read through `secretKeyRef`. */
export const BROKER_SECRET_FIELDS = [
  { field: 'url', env: 'MQTT_URL', tls: ['none', 'ca', 'mutual'] },
  { field: 'caCert', env: 'MQTT_CA_CERT', tls: ['ca', 'mutual'] },
  { field: 'clientCert', env: 'MQTT_CLIENT_CERT', tls: ['mutual'] },
  { field: 'clientKey', env: 'MQTT_CLIENT_KEY', tls: ['mutual'] },
] as const satisfies readonly { field: string; env: string; tls: readonly BrokerTls[] }[]

/** The broker secret's JSON fields used with `mode`. */
export function brokerFields(mode: BrokerTls): { field: string; env: string }[] {
  return BROKER_SECRET_FIELDS.filter((f) => (f.tls as readonly BrokerTls[]).includes(mode)).map(({ field, env }) => ({ field, env }))
}
