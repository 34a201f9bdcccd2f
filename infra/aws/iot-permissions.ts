/**
 * The AWS IoT Core permissions of each role of the stack (context `broker=iot-core`), derived at
 * synth time from the Dapr resources the code will load, with the project's own loader: the
 * client ids it connects as, the topics it publishes to, the filters it subscribes to and the
 * topics those deliver. A resource set that cannot be scoped is refused, naming the file and
 * the field to set; nothing here ever becomes a bare `*`.
 *
 * The names are IoT policy resource names after `client/`, `topic/` and `topicfilter/` (stack.ts
 * makes them ARNs). IoT policies follow IAM: `*` and `?` are wildcards, MQTT's `+` and `#` are
 * plain characters (docs.aws.amazon.com/iot/latest/developerguide/pub-sub-policy.html).
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { LEDGER_PREFIX, ledgerTopic } from '../../src/forwarder/session-ledger.js'
import {
  inScope,
  isPublishAllowed,
  loadResourcesFromDocuments,
  type LoadedResources,
  type PubsubComponent,
} from '../../src/core/resources/index.js'
import { ConfigError, type MqttFnConfig } from './config.js'

/** What one role may do on IoT Core; each list is sorted and without duplicates. */
export interface IotGrant {
  /** iot:Connect, `client/<id>`. */
  connect: string[]
  /** iot:Publish, `topic/<name>`. */
  publish: string[]
  /** iot:RetainPublish, `topic/<name>`: publishes with the RETAIN flag (the session ledger; a component with `retain: true`). */
  retainPublish: string[]
  /** iot:Subscribe, `topicfilter/<filter>`: the filter exactly as the SUBSCRIBE carries it, `$share/...` included. */
  subscribe: string[]
  /** iot:Receive, `topic/<name>`: the topics a subscription delivers. */
  receive: string[]
}

export interface IotPermissions {
  httpPublish: IotGrant
  sqsRelay: IotGrant
  forwarder: IotGrant
}

/** The host of the endpoint the stack stubs MQTT_URL with while it reads the resources. */
export const STUB_ENDPOINT = 'mqttfn-synth-ats.iot.us-east-1.amazonaws.com'

/**
 * Stands for a part of a value that differs per process or replica (`{podName}`, `{uuid}`): it
 * becomes `*` in the policy. Letters only, so that it is a valid client id and topic level and
 * the ledger keeps it unhashed.
 */
const VARIABLE = 'MQTTFNVARIABLEPARTQZX'

/** The suffix generateConsumerId (src/core/resources/template.ts) appends: 8 random hex digits. */
const GENERATED_SUFFIX = /-[0-9a-f]{8}$/

/**
 * Reads both resource folders of `config` and returns what each role needs. Throws ConfigError
 * for resources that do not fit IoT Core or cannot be scoped.
 */
export async function loadIotPermissions(config: MqttFnConfig): Promise<IotPermissions> {
  const functions = await load(config.functionResourcesPath, 'functionResourcesPath', config.appId)
  const forwarder = await load(join(config.root, config.forwarderResourcesPath), 'forwarderResourcesPath', config.appId)
  const httpPublish = functionGrant(functions, config.appId)
  const relayTopic = config.relayTopic
  if (relayTopic !== undefined) {
    const allowed = usedPubsubs(functions, config.appId).some((p) => isPublishAllowed(p, relayTopic, config.appId))
    if (!allowed) {
      throw new ConfigError(
        `context relayTopic: ${JSON.stringify(relayTopic)} is not in the allowedTopics of ${config.functionResourcesPath} (the relay would refuse it, and its role could not publish it); add it there`,
      )
    }
  }
  return {
    httpPublish,
    sqsRelay: httpPublish,
    forwarder: forwarderGrant(forwarder, config.appId),
  }
}

/**
 * The folder's YAML through the loader's document API, with the environment the stack gives
 * the code in iot-core mode: MQTT_URL (a stub endpoint) and nothing else secret. `{uuid}` is
 * read as `{podName}` and the pod name is VARIABLE, so both come out as the same marker instead
 * of a random value.
 */
async function load(dir: string, key: string, appId: string): Promise<LoadedResources> {
  const names = (await readdir(dir)).filter((name) => /\.ya?ml$/i.test(name)).sort()
  const files = await Promise.all(
    names.map(async (name) => ({ file: join(dir, name), text: (await readFile(join(dir, name), 'utf8')).replaceAll('{uuid}', '{podName}') })),
  )
  let loaded: LoadedResources
  try {
    loaded = await loadResourcesFromDocuments(files, {
      appId,
      env: { MQTT_URL: `wss://${STUB_ENDPOINT}/mqtt`, POD_NAME: VARIABLE, APP_ID: appId },
    })
  } catch (error) {
    throw new ConfigError(
      `context ${key}: the resources do not load with broker iot-core, where the stack sets MQTT_URL (wss://<endpoint>/mqtt) and no other secret: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
  const pubsubs = usedPubsubs(loaded, appId)
  if (pubsubs.length === 0) throw new ConfigError(`context ${key}: ${dir} has no pubsub.mqtt component for app id ${appId}`)
  for (const pubsub of pubsubs) {
    if (pubsub.metadata.auth?.method !== 'aws-sigv4') {
      throw new ConfigError(`${where(pubsub)}: spec.metadata.authMethod: must be aws-sigv4 with broker iot-core (the code signs its connection with its role)`)
    }
    if (pubsub.metadata.url.host !== STUB_ENDPOINT) {
      throw new ConfigError(`${where(pubsub)}: spec.metadata.url: must be the secretKeyRef MQTT_URL with broker iot-core (the endpoint the stack looks up)`)
    }
  }
  return loaded
}

/** The pubsub components the app id may use (component `scopes`). */
function usedPubsubs(loaded: LoadedResources, appId: string): PubsubComponent[] {
  return loaded.pubsubs.filter((p) => inScope(p.scopes, appId))
}

/** The functions: connect as their client ids, publish to each component's allowedTopics (as the app id may). */
function functionGrant(loaded: LoadedResources, appId: string): IotGrant {
  const grant = emptyGrant()
  for (const pubsub of usedPubsubs(loaded, appId)) {
    grant.connect.push(clientPattern(pubsub))
    const allowed = (pubsub.runtime.allowedTopics ?? []).filter((topic) => isPublishAllowed(pubsub, topic, appId))
    if (allowed.length === 0) {
      throw new ConfigError(
        `${where(pubsub)}: spec.metadata.allowedTopics: set it to the topics the functions publish to (comma list); with broker iot-core the functions' iot:Publish permission is scoped to exactly those topics`,
      )
    }
    for (const topic of allowed) {
      grant.publish.push(literal(topic))
      if (pubsub.metadata.retain) grant.retainPublish.push(literal(topic))
    }
  }
  return normalized(grant)
}

/**
 * The forwarder: connect as its client ids; subscribe to each Subscription's filter and receive
 * what it delivers; publish dead letters; and its session ledger (a retained message it
 * publishes, subscribes to and receives; src/forwarder/session-ledger.ts).
 */
function forwarderGrant(loaded: LoadedResources, appId: string): IotGrant {
  const grant = emptyGrant()
  const pubsubs = usedPubsubs(loaded, appId)
  for (const pubsub of pubsubs) grant.connect.push(clientPattern(pubsub))
  const subscribed = new Set<PubsubComponent>()
  for (const subscription of loaded.subscriptions) {
    if (!inScope(subscription.scopes, appId)) continue
    const pubsub = pubsubs.find((p) => p.name === subscription.pubsubname)
    if (!pubsub) continue
    subscribed.add(pubsub)
    const at = `${subscription.file}: document ${subscription.document} (Subscription/${subscription.name}): spec.topic`
    grant.subscribe.push(pattern(subscription.topic, at))
    grant.receive.push(pattern(deliveredTopics(subscription.topic), at))
    if (subscription.deadLetterTopic !== undefined) {
      grant.publish.push(literal(subscription.deadLetterTopic))
      if (pubsub.metadata.retain) grant.retainPublish.push(literal(subscription.deadLetterTopic))
    }
  }
  for (const pubsub of subscribed) {
    const ledger = ledgerPattern(pubsub)
    if (ledger === undefined) continue
    grant.publish.push(ledger)
    grant.retainPublish.push(ledger)
    grant.subscribe.push(ledger)
    grant.receive.push(ledger)
  }
  return normalized(grant)
}

/**
 * The client id as a policy name. A configured consumerID keeps its text, each `{podName}` /
 * `{uuid}` becoming `*`; the generated one (`mqttfn-<app id>-<8 hex>`) becomes
 * `mqttfn-<app id>-*`. Refused when nothing fixed is left.
 */
function clientPattern(pubsub: PubsubComponent): string {
  const id = pubsub.metadata.consumerID
  const at = `${where(pubsub)}: spec.metadata.consumerID`
  if (!pubsub.metadata.consumerIDConfigured) return `${escape(id.replace(GENERATED_SUFFIX, '-'))}*`
  return pattern(id, at)
}

/**
 * The session ledger topic (ledgerTopic, the forwarder's own rule). A default ledger of a client
 * id with a variable part is `mqtt-fn/sessions/<id>` or, when the id at run time has characters
 * a topic must not (a host name's dots), a hash of it: either way under LEDGER_PREFIX.
 */
function ledgerPattern(pubsub: PubsubComponent): string | undefined {
  const topic = ledgerTopic(pubsub.metadata)
  if (topic === undefined) return undefined
  const configured = typeof pubsub.metadata.sessionLedgerTopic === 'string'
  if (!configured && pubsub.metadata.consumerID.includes(VARIABLE)) return `${escape(LEDGER_PREFIX)}*`
  return pattern(topic, `${where(pubsub)}: spec.metadata.sessionLedgerTopic`)
}

/**
 * The topics a filter delivers, as an IoT policy names them: a shared subscription's messages
 * keep their own topic (`$share/<group>/` is only in the SUBSCRIBE), `+` and a trailing `#`
 * become `*`. `*` also crosses levels, so `a/+/b` allows a little more than MQTT would deliver;
 * `orders/#` becomes `orders/*`, which is what IoT Core delivers (its `#` does not match the
 * parent `orders`).
 */
export function deliveredTopics(filter: string): string {
  const levels = filter.split('/')
  const shared = levels[0] === '$share' && levels.length >= 3 ? levels.slice(2) : levels
  return shared.map((level) => (level === '+' || level === '#' ? VARIABLE : level)).join('/')
}

/** `value` as a policy name, VARIABLE becoming `*`; refused when it would be only `*` (every name). */
function pattern(value: string, at: string): string {
  const parts = value.split(VARIABLE).map(escape)
  const name = parts.join('*').replace(/\*{2,}/g, '*')
  if (name === '*') {
    throw new ConfigError(
      `${at}: ${JSON.stringify(value.replaceAll(VARIABLE, '{podName}'))} would need an IoT permission on every name of the account; put a fixed part before the variable one (e.g. mqtt-fn-forwarder-{podName}, orders/#)`,
    )
  }
  return name
}

/** A name with no variable part. */
function literal(value: string): string {
  return escape(value)
}

/**
 * IAM's special characters as plain text: `*` and `?` would be wildcards and `${` would start a
 * policy variable; `${*}`, `${?}` and `${$}` are IAM's escapes for them.
 */
function escape(value: string): string {
  return value.replace(/\$\{|[*?]/g, (match) => (match === '${' ? '${$}{' : `\${${match}}`))
}

function where(pubsub: PubsubComponent): string {
  return `${pubsub.file}: document ${pubsub.document} (Component/${pubsub.name})`
}

function emptyGrant(): IotGrant {
  return { connect: [], publish: [], retainPublish: [], subscribe: [], receive: [] }
}

function normalized(grant: IotGrant): IotGrant {
  const tidy = (names: string[]): string[] => [...new Set(names)].sort()
  return {
    connect: tidy(grant.connect),
    publish: tidy(grant.publish),
    retainPublish: tidy(grant.retainPublish),
    subscribe: tidy(grant.subscribe),
    receive: tidy(grant.receive),
  }
}
