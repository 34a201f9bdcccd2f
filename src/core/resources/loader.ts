import { constants, type Dirent, type Stats } from 'node:fs'
import { open, readdir, readFile, readlink, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { ResourceError, type ResourceProblem } from '../errors.js'
import { checkComponentVersions, readComponentHeader, resourceName, type ComponentHeader } from './component.js'
import { FieldReader } from './field-reader.js'
import { readMetadataList } from './metadata-list.js'
import { decodeMqttMetadata } from './mqtt-metadata.js'
import { ProblemSink, type Reporter } from './problems.js'
import { registerSensitiveValues } from './redact.js'
import { rejectSecretRefs, resolveSecrets, type StoreEntry } from './secret-resolver.js'
import { ENV_STORE_FIELDS, FILE_STORE_FIELDS } from './secret-store-fields.js'
import { EnvSecretStore } from './secret-store-env.js'
import { FileSecretStore } from './secret-store-file.js'
import type { SecretStore } from './secret-store.js'
import { readSubscription } from './subscription.js'
import { readConfiguration, selectConfiguration } from './configuration.js'
import { expandTemplate, templateContext, type TemplateContext } from './template.js'
import type {
  ConfigurationResource,
  LoadOptions,
  LoadedResources,
  OtherResource,
  PubsubComponent,
  SecretStoreComponent,
  SubscriptionResource,
} from './types.js'
import { isRecord, own, scalarToString } from './values.js'
import { readYamlDocuments } from './yaml-documents.js'

/** A YAML file held in memory: `file` is how problems name it. */
export interface ResourceFile {
  file: string
  text: string
}

export const PUBSUB_TYPES = ['pubsub.mqtt', 'pubsub.mqtt3'] as const
export const SECRET_STORE_TYPES = ['secretstores.local.env', 'secretstores.local.file'] as const

type PubsubType = (typeof PUBSUB_TYPES)[number]
type StoreType = (typeof SECRET_STORE_TYPES)[number]

interface ComponentDoc {
  file: string
  document: number
  header: ComponentHeader
  reporter: Reporter
}

/**
 * Reads every `*.yaml` / `*.yml` file of `dir` (not recursive, sorted by name). An entry with such
 * a name that is not a regular file (or a symlink to one) is an error, never skipped: a FIFO,
 * socket, device, directory or dangling symlink. Throws one ResourceError listing every problem
 * of every file; never throws anything else.
 */
export async function loadResources(dir: string, options: LoadOptions = {}): Promise<LoadedResources> {
  let entries: Dirent[]
  try {
    entries = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => /\.ya?ml$/i.test(e.name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  } catch (error) {
    throw new ResourceError([{ file: dir, document: 0, field: '', problem: `cannot read the resources folder (${errorCode(error)})` }])
  }
  const problems: ResourceProblem[] = []
  const files: ResourceFile[] = []
  for (const entry of entries) {
    const file = join(dir, entry.name)
    const read = await readRegularFile(file, entry)
    if (typeof read === 'string') files.push({ file, text: read })
    else problems.push({ file, document: 0, field: '', problem: read.problem })
  }
  const sink = new ProblemSink()
  sink.problems.push(...problems)
  if (entries.length === 0) sink.at({ file: dir, document: 0 }).warn('', 'no .yaml or .yml files: no components loaded')
  return load(files, options, sink)
}

/** What a directory entry is, in words, for one that is not a regular file. */
function kindOf(entry: Dirent | Stats): string {
  if (entry.isFIFO()) return 'a FIFO (named pipe)'
  if (entry.isSocket()) return 'a socket'
  if (entry.isDirectory()) return 'a directory'
  if (entry.isCharacterDevice()) return 'a character device'
  if (entry.isBlockDevice()) return 'a block device'
  if (entry.isSymbolicLink()) return 'a symlink'
  return 'not a regular file'
}

const NOT_REGULAR = 'resource files must be regular files or symlinks to them; remove it or rename it so that it does not end in .yaml/.yml'

/**
 * The text of a regular file (or of the regular file a symlink points at), or the problem.
 * The file is opened non-blocking and checked with fstat before reading, so that a FIFO (or a
 * file swapped for one after readdir) is named, never waited on.
 */
async function readRegularFile(file: string, entry: Dirent): Promise<string | { problem: string }> {
  const link = entry.isSymbolicLink()
  if (!link && !entry.isFile()) return { problem: `is ${kindOf(entry)}, not a regular file: ${NOT_REGULAR}` }
  let handle
  try {
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0))
  } catch (error) {
    return { problem: link ? await brokenLink(file, error) : `cannot read the file (${errorCode(error)})` }
  }
  try {
    const stats = await handle.stat()
    if (!stats.isFile()) {
      const what = kindOf(stats)
      return { problem: link ? `is a symlink to ${what}${await target(file)}, not a regular file: ${NOT_REGULAR}` : `is ${what}, not a regular file: ${NOT_REGULAR}` }
    }
    return await handle.readFile('utf8')
  } catch (error) {
    return { problem: `cannot read the file (${errorCode(error)})` }
  } finally {
    await handle.close().catch(() => undefined)
  }
}

/** Why a symlink could not be opened: dangling, a loop, or what it points at cannot be opened. */
async function brokenLink(file: string, error: unknown): Promise<string> {
  const code = errorCode(error)
  const to = await target(file)
  if (code === 'ENOENT' || code === 'ENOTDIR') return `is a dangling symlink${to}: its target does not exist`
  if (code === 'ELOOP') return `is a symlink loop${to}`
  // ENXIO: a socket (open(2) refuses those); describe what the link points at when stat can.
  const stats = await stat(file).catch(() => undefined)
  if (stats && !stats.isFile()) return `is a symlink to ${kindOf(stats)}${to}, not a regular file: ${NOT_REGULAR}`
  return `cannot read the file${to} (${code})`
}

/** ` (-> TARGET)` for a symlink, or nothing. */
async function target(file: string): Promise<string> {
  try {
    return ` (-> ${await readlink(file)})`
  } catch {
    return ''
  }
}

/** The same as `loadResources`, from files held in memory (bundled functions, tests). */
export async function loadResourcesFromDocuments(
  files: readonly ResourceFile[],
  options: LoadOptions = {},
): Promise<LoadedResources> {
  return load(files, options, new ProblemSink())
}

async function load(files: readonly ResourceFile[], options: LoadOptions, sink: ProblemSink): Promise<LoadedResources> {
  try {
    return await loadUnsafe(files, options, sink)
  } catch (error) {
    if (error instanceof ResourceError) throw error
    // A bug must still surface as the one error type callers handle. The original is not attached:
    // its message could hold a metadata value. The fuzz tests fail on this problem text.
    throw new ResourceError([
      ...sink.problems,
      { file: files[0]?.file ?? '(resources)', document: 0, field: '', problem: `internal error while loading (${errorName(error)})` },
    ])
  }
}

async function loadUnsafe(files: readonly ResourceFile[], options: LoadOptions, sink: ProblemSink): Promise<LoadedResources> {
  const env = options.env ?? process.env
  const ctx = templateContext(options.appId, env)

  const pubsubDocs: ComponentDoc[] = []
  const storeDocs: ComponentDoc[] = []
  const subscriptionDocs: { file: string; document: number; value: Record<string, unknown>; reporter: Reporter }[] = []
  const others: OtherResource[] = []
  const configurations: ConfigurationResource[] = []
  const firstSeen = new Map<string, { file: string; document: number }>()

  for (const { file, text } of files) {
    for (const raw of readYamlDocuments(file, text, sink)) {
      const { document } = raw
      const base = sink.at({ file, document })
      if (!isRecord(raw.value)) {
        base.error('', 'not a Dapr resource: expected a mapping with apiVersion, kind, metadata and spec')
        continue
      }
      const value = raw.value
      const name = resourceName(value)
      const kind = scalarToString(own(value, 'kind'))
      if (kind === undefined || kind === '') {
        base.named(undefined, name).warn('kind', 'missing, so this is not a Dapr resource; ignored')
        continue
      }
      const reporter = base.named(kind, name)
      if (name !== undefined) {
        const key = `${kind}\u0000${name}`
        const first = firstSeen.get(key)
        if (first) reporter.error('metadata.name', `duplicate ${kind} name ${JSON.stringify(name)} (first in ${first.file}: document ${first.document})`)
        else firstSeen.set(key, { file, document })
      }
      if (kind === 'Subscription') {
        subscriptionDocs.push({ file, document, value, reporter })
      } else if (kind === 'Component') {
        const header = readComponentHeader(value, reporter)
        if (!header) continue
        if (isPubsubType(header.type)) pubsubDocs.push({ file, document, header, reporter })
        else if (isStoreType(header.type)) storeDocs.push({ file, document, header, reporter })
        else others.push(other(file, document, kind, header.name, value))
      } else {
        if (kind === 'Configuration') {
          const configuration = readConfiguration(value, reporter, { file, document })
          if (configuration) configurations.push(configuration)
        }
        others.push(other(file, document, kind, name ?? '', value))
      }
    }
  }

  const stores = new Map<string, StoreEntry>()
  for (const o of others) {
    if (o.kind === 'Component' && isRecord(o.spec)) {
      const type = scalarToString(own(o.spec, 'type')) ?? ''
      if (type.startsWith('secretstores.')) stores.set(o.name, { status: 'unsupported', type })
    }
  }
  const secretStores: SecretStoreComponent[] = []
  for (const doc of storeDocs) {
    const loaded = await loadSecretStore(doc, options, env, ctx)
    if (loaded) {
      stores.set(doc.header.name, { status: 'ready', store: loaded.store })
      secretStores.push(loaded.component)
    } else {
      stores.set(doc.header.name, { status: 'broken' })
    }
  }

  const pubsubs: PubsubComponent[] = []
  for (const doc of pubsubDocs) {
    const pubsub = loadPubsub(doc, stores, ctx)
    if (pubsub) pubsubs.push(pubsub)
  }

  const pubsubNames = new Set(pubsubDocs.map((d) => d.header.name))
  const otherPubsubs = new Map<string, string>()
  for (const o of others) {
    if (o.kind === 'Component' && isRecord(o.spec)) {
      const type = scalarToString(own(o.spec, 'type')) ?? ''
      if (type.startsWith('pubsub.')) otherPubsubs.set(o.name, type)
    }
  }
  const subscriptions: SubscriptionResource[] = []
  for (const doc of subscriptionDocs) {
    const subscription = readSubscription(doc.value, doc.reporter, { ...doc.reporter.location })
    if (!subscription) continue
    if (pubsubNames.has(subscription.pubsubname)) {
      subscriptions.push(subscription)
      continue
    }
    const otherType = otherPubsubs.get(subscription.pubsubname)
    if (otherType !== undefined) {
      doc.reporter.warn(
        'spec.pubsubname',
        `${JSON.stringify(subscription.pubsubname)} is a ${otherType} component, which mqtt-fn does not run; subscription ignored`,
      )
      others.push(other(doc.file, doc.document, 'Subscription', subscription.name, doc.value))
      continue
    }
    const known = [...pubsubNames]
    doc.reporter.error(
      'spec.pubsubname',
      `no pubsub component named ${JSON.stringify(subscription.pubsubname)} in the resources` +
        (known.length > 0 ? ` (pubsub components: ${known.join(', ')})` : ' (there is no pubsub.mqtt component)'),
    )
  }

  const selected = selectConfiguration(configurations, options.config ?? env.MQTTFN_CONFIG)
  if (selected.problem !== undefined) sink.at({ file: configurations[0]?.file ?? files[0]?.file ?? '(resources)', document: 0 }).error('', selected.problem)

  if (sink.problems.length > 0) throw new ResourceError(inFileOrder(sink.problems, files))

  const sensitiveValues = [...new Set(pubsubs.flatMap((p) => p.sensitiveValues ?? []))]
  registerSensitiveValues(sensitiveValues)
  const loaded: LoadedResources = { pubsubs, secretStores, subscriptions, others, configurations, warnings: sink.warnings, sensitiveValues }
  if (selected.configuration) loaded.configuration = selected.configuration
  return loaded
}

function loadPubsub(doc: ComponentDoc, stores: ReadonlyMap<string, StoreEntry>, ctx: TemplateContext): PubsubComponent | undefined {
  const { header, reporter } = doc
  const before = reporter.errorCount
  checkComponentVersions(header, reporter)
  const items = readMetadataList(own(header.spec, 'metadata'), reporter)
  const resolved = resolveSecrets(items, header.secretStore, stores, reporter)
  const decoded = decodeMqttMetadata(resolved, reporter, ctx, header.type)
  if (reporter.errorCount > before) return undefined
  const component: PubsubComponent = {
    file: doc.file,
    document: doc.document,
    kind: 'Component',
    name: header.name,
    type: header.type as PubsubType,
    metadata: decoded.metadata,
    runtime: decoded.runtime,
    scopes: header.scopes,
    raw: decoded.raw,
    sensitiveValues: decoded.sensitiveValues,
  }
  if (header.secretStore !== undefined) component.secretStore = header.secretStore
  return component
}

async function loadSecretStore(
  doc: ComponentDoc,
  options: LoadOptions,
  env: Record<string, string | undefined>,
  ctx: TemplateContext,
): Promise<{ store: SecretStore; component: SecretStoreComponent } | undefined> {
  const { header, reporter } = doc
  const before = reporter.errorCount
  const type = header.type as StoreType
  checkComponentVersions(header, reporter)
  const items = readMetadataList(own(header.spec, 'metadata'), reporter)
  const resolved = rejectSecretRefs(items, reporter).map((item) => ({ ...item, value: expandTemplate(item.value, ctx) }))
  const fields = new FieldReader(type === 'secretstores.local.env' ? ENV_STORE_FIELDS : FILE_STORE_FIELDS, resolved, reporter, type)

  let store: SecretStore | undefined
  if (type === 'secretstores.local.env') {
    store = new EnvSecretStore(header.name, fields.string('prefix') ?? '', env)
  } else {
    const secretsFile = fields.string('secretsFile')
    const separator = fields.string('nestedSeparator') ?? ':'
    const multiValued = fields.bool('multiValued')
    if (secretsFile !== undefined) {
      const path = resolve(options.baseDir ?? dirname(doc.file), secretsFile)
      const json = await readSecretsFile(path, fields.path('secretsFile'), reporter)
      if (json) {
        try {
          store = new FileSecretStore(header.name, json, separator, multiValued)
        } catch (error) {
          reporter.error(fields.path('secretsFile'), `${path}: ${error instanceof Error ? error.message : 'cannot be read'}`)
        }
      }
    }
  }
  if (reporter.errorCount > before || !store) return undefined
  const raw: Record<string, string> = {}
  for (const item of resolved) Object.defineProperty(raw, item.name, { value: item.value, enumerable: true, writable: true, configurable: true })
  return {
    store,
    component: { file: doc.file, document: doc.document, kind: 'Component', name: header.name, type, raw },
  }
}

async function readSecretsFile(path: string, field: string, reporter: Reporter): Promise<Record<string, unknown> | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    reporter.error(field, `cannot read ${path} (${errorCode(error)})`)
    return undefined
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    // JSON.parse's message quotes the text around the fault: a secret, here.
    reporter.error(field, `${path} is not valid JSON`)
    return undefined
  }
  if (!isRecord(json)) {
    reporter.error(field, `${path} must hold a JSON object`)
    return undefined
  }
  return json
}

/** Problems by file, then document: syntax errors are found before the others, but read better in place. */
function inFileOrder(problems: readonly ResourceProblem[], files: readonly ResourceFile[]): ResourceProblem[] {
  const order = new Map(files.map((f, i) => [f.file, i]))
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort(
      (a, b) =>
        (order.get(a.problem.file) ?? -1) - (order.get(b.problem.file) ?? -1) ||
        a.problem.document - b.problem.document ||
        a.index - b.index,
    )
    .map(({ problem }) => problem)
}

function other(file: string, document: number, kind: string, name: string, value: Record<string, unknown>): OtherResource {
  const resource: OtherResource = { file, document, kind, name, spec: own(value, 'spec') }
  const apiVersion = scalarToString(own(value, 'apiVersion'))
  if (apiVersion !== undefined) resource.apiVersion = apiVersion
  const scopes = own(value, 'scopes')
  if (Array.isArray(scopes)) resource.scopes = scopes.map((s) => scalarToString(s) ?? '').filter((s) => s !== '')
  return resource
}

function isPubsubType(type: string): type is PubsubType {
  return (PUBSUB_TYPES as readonly string[]).includes(type)
}

function isStoreType(type: string): type is StoreType {
  return (SECRET_STORE_TYPES as readonly string[]).includes(type)
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : 'unknown error'
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error
}
