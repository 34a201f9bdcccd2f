/**
 * The topic templates of the ARM template's Event Grid topic spaces (`broker: event-grid`),
 * derived from the Dapr resources the code will load, with the project's own loader, the way
 * infra/aws/iot-permissions.ts derives the IoT Core policies. An ARM template cannot read YAML, so
 * the template takes the three lists as parameters whose defaults are what this file derives from
 * infra/resources/functions-event-grid and forwarder-event-grid
 * (test/unit/infra/azure-event-grid.test.ts fails when they drift); for other resources run
 *
 *   npx tsx infra/azure/event-grid-topics.ts [functionsDir] [forwarderDir] [appId]
 *
 * and pass what it prints as `--parameters`.
 *
 * Event Grid's rules (learn.microsoft.com/azure/event-grid/mqtt-topic-spaces): a topic space holds
 * at most 10 topic templates, MQTT wildcards `+` and `#` are allowed, topics starting with `$` are
 * reserved. A shared subscription `$share/<group>/<filter>` is authorized on its filter, so the
 * template is the filter without that prefix. A part that differs per replica (`{podName}`) becomes
 * `+` for its whole level (topic template variables name client attributes, not host names). A
 * template with no literal level would grant every topic of the namespace: refused, as the AWS
 * side refuses a bare `*`.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ledgerTopic, LEDGER_PREFIX } from '../../src/forwarder/session-ledger.js'
import {
  inScope,
  isPublishAllowed,
  loadResourcesFromDocuments,
  type LoadedResources,
  type PubsubComponent,
} from '../../src/core/resources/index.js'

/** What the ARM template's three topic spaces hold; each list sorted, without duplicates. */
export interface EventGridTopics {
  /** `functions-publish` (parameter eventGridFunctionTopics): the functions' allowedTopics. */
  functionTopics: string[]
  /** `forwarder-subscribe` (eventGridForwarderFilters): the Subscriptions' filters, and the session ledger. */
  forwarderFilters: string[]
  /** `forwarder-publish` (eventGridForwarderTopics): dead-letter topics, and the session ledger. */
  forwarderTopics: string[]
}

/** Event Grid's limit of topic templates per topic space. */
export const MAX_TOPIC_TEMPLATES = 10

/** The host the loader is given for MQTT_URL: any Event Grid MQTT hostname has this shape. */
export const STUB_HOSTNAME = 'mqttfn-eg-stub.westeurope-1.ts.eventgrid.azure.net'

/** Stands for a per-replica part (`{podName}`, `{uuid}`); letters only, so a valid client id and topic level. */
const VARIABLE = 'MQTTFNVARIABLEPARTQZX'

export class EventGridTopicsError extends Error {
  override readonly name = 'EventGridTopicsError'
}

export async function eventGridTopics(functionsDir: string, forwarderDir: string, appId: string): Promise<EventGridTopics> {
  const functions = await load(functionsDir, appId)
  const forwarder = await load(forwarderDir, appId)
  const result = {
    functionTopics: functionTopics(functions, appId),
    ...forwarderTemplates(forwarder, appId),
  }
  for (const [key, list] of Object.entries(result)) {
    if (list.length > MAX_TOPIC_TEMPLATES) {
      throw new EventGridTopicsError(`${key}: ${list.length} topic templates; an Event Grid topic space holds at most ${MAX_TOPIC_TEMPLATES} (use a wildcard level, e.g. orders/+)`)
    }
  }
  return result
}

/**
 * The folder's YAML with the environment the template gives the code in event-grid mode: MQTT_URL
 * (the namespace's hostname) and nothing secret. `{uuid}` is read as `{podName}`, and the pod name
 * is VARIABLE, so both come out as the same marker instead of a random value.
 */
async function load(dir: string, appId: string): Promise<LoadedResources> {
  const names = (await readdir(dir)).filter((name) => /\.ya?ml$/i.test(name)).sort()
  const files = await Promise.all(
    names.map(async (name) => ({ file: join(dir, name), text: (await readFile(join(dir, name), 'utf8')).replaceAll('{uuid}', '{podName}') })),
  )
  let loaded: LoadedResources
  try {
    loaded = await loadResourcesFromDocuments(files, { appId, env: { MQTT_URL: `mqtts://${STUB_HOSTNAME}:8883`, POD_NAME: VARIABLE, APP_ID: appId } })
  } catch (error) {
    throw new EventGridTopicsError(
      `${dir}: the resources do not load with broker event-grid, where the template sets MQTT_URL (mqtts://<namespace hostname>:8883) and no other broker secret: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
  const pubsubs = used(loaded, appId)
  if (pubsubs.length === 0) throw new EventGridTopicsError(`${dir}: no pubsub.mqtt component for app id ${appId}`)
  for (const pubsub of pubsubs) {
    if (pubsub.metadata.auth?.method !== 'oauth2-jwt') {
      throw new EventGridTopicsError(`${where(pubsub)}: spec.metadata.authMethod: must be oauth2-jwt with broker event-grid (the code connects with its managed identity's Microsoft Entra token)`)
    }
    if (pubsub.metadata.url.host !== STUB_HOSTNAME) {
      throw new EventGridTopicsError(`${where(pubsub)}: spec.metadata.url: must be the secretKeyRef MQTT_URL with broker event-grid (the namespace hostname the template sets)`)
    }
  }
  return loaded
}

function used(loaded: LoadedResources, appId: string): PubsubComponent[] {
  return loaded.pubsubs.filter((p) => inScope(p.scopes, appId))
}

function functionTopics(loaded: LoadedResources, appId: string): string[] {
  const topics: string[] = []
  for (const pubsub of used(loaded, appId)) {
    const allowed = (pubsub.runtime.allowedTopics ?? []).filter((topic) => isPublishAllowed(pubsub, topic, appId))
    if (allowed.length === 0) {
      throw new EventGridTopicsError(
        `${where(pubsub)}: spec.metadata.allowedTopics: set it to the topics the functions publish to (comma list); with broker event-grid the Function App's publish permission covers exactly those topics`,
      )
    }
    topics.push(...allowed.map((topic) => template(topic, `${where(pubsub)}: spec.metadata.allowedTopics`)))
  }
  return tidy(topics)
}

function forwarderTemplates(loaded: LoadedResources, appId: string): Pick<EventGridTopics, 'forwarderFilters' | 'forwarderTopics'> {
  const filters: string[] = []
  const topics: string[] = []
  const pubsubs = used(loaded, appId)
  const subscribed = new Set<PubsubComponent>()
  for (const subscription of loaded.subscriptions) {
    if (!inScope(subscription.scopes, appId)) continue
    const pubsub = pubsubs.find((p) => p.name === subscription.pubsubname)
    if (!pubsub) continue
    subscribed.add(pubsub)
    const at = `${subscription.file}: document ${subscription.document} (Subscription/${subscription.name})`
    filters.push(template(unshared(subscription.topic), `${at}: spec.topic`))
    if (subscription.deadLetterTopic !== undefined) topics.push(template(subscription.deadLetterTopic, `${at}: spec.deadLetterTopic`))
  }
  for (const pubsub of subscribed) {
    const ledger = ledgerTopic(pubsub.metadata)
    if (ledger === undefined) continue
    // A default ledger of a per-replica client id is LEDGER_PREFIX plus the id or its hash: one level.
    const configured = typeof pubsub.metadata.sessionLedgerTopic === 'string'
    const name = !configured && pubsub.metadata.consumerID.includes(VARIABLE) ? `${LEDGER_PREFIX}+` : template(ledger, `${where(pubsub)}: spec.metadata.sessionLedgerTopic`)
    filters.push(name)
    topics.push(name)
  }
  return { forwarderFilters: tidy(filters), forwarderTopics: tidy(topics) }
}

/** `$share/<group>/<filter>` → `<filter>`: the broker authorizes the filter, not the group. */
export function unshared(filter: string): string {
  const levels = filter.split('/')
  return levels[0] === '$share' && levels.length >= 3 ? levels.slice(2).join('/') : filter
}

/** A topic or filter as a topic template: a level with a per-replica part becomes `+`. */
function template(value: string, at: string): string {
  const name = value
    .split('/')
    .map((level) => (level.includes(VARIABLE) ? '+' : level))
    .join('/')
  const shown = JSON.stringify(value.replaceAll(VARIABLE, '{podName}'))
  if (name.startsWith('$')) throw new EventGridTopicsError(`${at}: ${shown}: Event Grid reserves topics starting with $`)
  if (name.split('/').every((level) => level === '+' || level === '#')) {
    throw new EventGridTopicsError(`${at}: ${shown} would need a topic template covering every topic of the namespace; put a fixed level before the variable one (e.g. orders/#)`)
  }
  return name
}

/**
 * Whether topic template `template` covers `filter` (a topic, or a filter the client subscribes
 * with): every topic the filter can match is matched by the template. Variables (`${...}`) are
 * not used by this project's templates and are treated as literals.
 */
export function covers(template: string, filter: string): boolean {
  const t = template.split('/')
  const f = filter.split('/')
  for (let i = 0; i < t.length; i++) {
    const level = t[i]!
    if (level === '#') return true
    const other = f[i]
    if (other === undefined || other === '#') return false
    if (level === '+') continue
    if (level !== other) return false
  }
  return t.length === f.length
}

function where(pubsub: PubsubComponent): string {
  return `${pubsub.file}: document ${pubsub.document} (Component/${pubsub.name})`
}

function tidy(names: string[]): string[] {
  return [...new Set(names)].sort()
}

/** Prints the three lists as `az deployment group create --parameters` JSON. */
async function main(argv: string[]): Promise<void> {
  const root = resolve(import.meta.dirname, '../..')
  const [functionsDir = join(root, 'infra/resources/functions-event-grid'), forwarderDir = join(root, 'infra/resources/forwarder-event-grid'), appId = 'mqtt-fn'] = argv
  const topics = await eventGridTopics(functionsDir, forwarderDir, appId)
  const parameters = {
    eventGridFunctionTopics: { value: topics.functionTopics },
    eventGridForwarderFilters: { value: topics.forwarderFilters },
    eventGridForwarderTopics: { value: topics.forwarderTopics },
  }
  process.stdout.write(`${JSON.stringify(parameters, null, 2)}\n`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
    process.exitCode = 1
  })
}
