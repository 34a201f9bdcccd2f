import { readFile } from 'node:fs/promises'
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
import type { ParsedFile, ParsedResources, ParseNote } from './parsed.js'

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
 * Validates parsed resources and resolves their secrets and template tags: the whole of
 * loading but the YAML (read-folder.ts). `folder` is where the files live: it places the
 * relative names of `readResourceFolder` (problems name `FOLDER/FILE`, a relative `secretsFile`
 * is read from there); undefined keeps the names as they are. Throws one ResourceError listing
 * every problem of every file; never throws anything else.
 */
export async function loadParsedResources(parsed: ParsedResources, options: LoadOptions = {}, folder?: string): Promise<LoadedResources> {
  const place = (file: string): string => (folder === undefined ? file : file === '' ? folder : join(folder, file))
  if (parsed.folderError !== undefined) throw new ResourceError([{ file: place(''), document: 0, field: '', problem: parsed.folderError }])
  const sink = new ProblemSink()
  replay(parsed.notes, sink, place)
  const files = parsed.files.map((f) => ({ ...f, file: place(f.file), place }))
  return load(files, options, sink)
}

/** Parse problems, in the sink as if the parser had reported them there. */
function replay(notes: readonly ParseNote[], sink: ProblemSink, place: (file: string) => string): void {
  for (const { severity, problem } of notes) {
    const placed = { ...problem, file: place(problem.file) }
    if (severity === 'error') sink.addError(placed)
    else sink.addWarning(placed)
  }
}

interface PlacedFile extends ParsedFile {
  place: (file: string) => string
}

async function load(files: readonly PlacedFile[], options: LoadOptions, sink: ProblemSink): Promise<LoadedResources> {
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

async function loadUnsafe(files: readonly PlacedFile[], options: LoadOptions, sink: ProblemSink): Promise<LoadedResources> {
  const env = options.env ?? process.env
  const ctx = templateContext(options.appId, env)

  const pubsubDocs: ComponentDoc[] = []
  const storeDocs: ComponentDoc[] = []
  const subscriptionDocs: { file: string; document: number; value: Record<string, unknown>; reporter: Reporter }[] = []
  const others: OtherResource[] = []
  const configurations: ConfigurationResource[] = []
  const firstSeen = new Map<string, { file: string; document: number }>()

  for (const { file, notes, documents, place } of files) {
    replay(notes, sink, place)
    for (const raw of documents) {
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
function inFileOrder(problems: readonly ResourceProblem[], files: readonly { file: string }[]): ResourceProblem[] {
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
