import { publishTopicProblem } from '../topics/index.js'
import { applyComponentProfile, parseBrokerProfile } from './broker-profile.js'
import { readAuth } from './auth-metadata.js'
import { parseBrokerUrl } from './broker-url.js'
import { FieldReader, type ResolvedItem } from './field-reader.js'
import { findField } from './field-table.js'
import { MQTT_FIELDS } from './mqtt-fields.js'
import { certificateProblem, keyMatchesCertificate, privateKeyProblem } from './pem.js'
import type { Reporter } from './problems.js'
import { sensitiveForms } from './redact.js'
import { parseScopes, parseTopicList } from './scopes.js'
import {
  MAX_PORTABLE_CLIENT_ID,
  expandTemplate,
  generateConsumerId,
  type TemplateContext,
} from './template.js'
import type { BrokerUrl, MqttMetadata, PubsubRuntimeMetadata } from './types.js'

export interface DecodedMqttMetadata {
  metadata: MqttMetadata
  runtime: PubsubRuntimeMetadata
  /** Every value after secret resolution and template expansion, keys as written. */
  raw: Record<string, string>
  /** Values that must not be logged (see redact.ts). */
  sensitiveValues: string[]
}

/** Stands in for a URL that failed to parse, so that the other fields still get checked. */
const NO_URL: BrokerUrl = { protocol: 'mqtt', host: '', port: 1883, path: '/', redacted: 'mqtt://(invalid url)' }

/**
 * Turns a `pubsub.mqtt` component's resolved metadata into MqttMetadata, reporting every problem.
 * The result is only meaningful when the reporter got no error.
 */
export function decodeMqttMetadata(
  items: readonly ResolvedItem[],
  reporter: Reporter,
  ctx: TemplateContext,
  componentType = 'pubsub.mqtt',
): DecodedMqttMetadata {
  const expanded = items.map((item) => ({ ...item, value: expandTemplate(item.value, ctx) }))
  const fields = new FieldReader(MQTT_FIELDS, expanded, reporter, componentType)

  const url = readUrl(fields, reporter)
  const configuredId = fields.string('consumerID')
  const consumerID = configuredId ?? generateConsumerId(ctx.appId)
  if (configuredId !== undefined && configuredId.length > MAX_PORTABLE_CLIENT_ID) {
    reporter.warn(
      fields.path('consumerID'),
      `is ${configuredId.length} characters; brokers may refuse client ids over ${MAX_PORTABLE_CLIENT_ID} (MQTT 3.1.1 guarantees only 23; aedes' default limit)`,
    )
  }

  const metadata: MqttMetadata = {
    url,
    consumerID,
    consumerIDConfigured: configuredId !== undefined,
    qos: (fields.number('qos') ?? 0) as 0 | 1 | 2,
    retain: fields.bool('retain'),
    cleanSession: fields.bool('cleanSession'),
    protocolVersion: (fields.number('protocolVersion') ?? 4) as 4 | 5,
    connectTimeout: fields.number('connectTimeout') ?? 5000,
    keepAlive: fields.number('keepAlive') ?? 30,
    publishTimeout: fields.number('publishTimeout') ?? 5000,
    maxInflight: fields.number('maxInflight') ?? 100,
  }
  const sessionExpiryInterval = fields.number('sessionExpiryInterval')
  if (sessionExpiryInterval !== undefined) metadata.sessionExpiryInterval = sessionExpiryInterval
  const ledger = fields.string('sessionLedgerTopic')
  if (ledger !== undefined) {
    if (ledger.trim().toLowerCase() === 'none') metadata.sessionLedgerTopic = null
    else {
      const problem = publishTopicProblem(ledger)
      if (problem !== undefined) reporter.error(fields.path('sessionLedgerTopic'), `${JSON.stringify(ledger)}: ${problem} (or \`none\` to turn the ledger off)`)
      else metadata.sessionLedgerTopic = ledger
    }
  }
  const contentMode = fields.string('contentMode')
  if (contentMode !== undefined && contentMode.trim() !== '') {
    const mode = contentMode.trim().toLowerCase()
    if (mode !== 'structured' && mode !== 'binary') reporter.error(fields.path('contentMode'), `expected structured or binary, got ${JSON.stringify(contentMode)}`)
    else if (mode === 'binary' && metadata.protocolVersion !== 5) reporter.error(fields.path('contentMode'), 'binary needs protocolVersion 5 (the attributes travel as MQTT 5 user properties)')
    else if (mode === 'binary') metadata.contentMode = 'binary'
  }
  readTls(fields, reporter, metadata)
  readAuth(fields, reporter, metadata)
  checkSession(fields, reporter, metadata)
  readBrokerProfile(fields, reporter, metadata)

  const raw: Record<string, string> = {}
  for (const item of expanded) Object.defineProperty(raw, item.name, { value: item.value, enumerable: true, writable: true, configurable: true })

  const sensitiveValues = new Set<string>()
  for (const item of expanded) {
    const field = findField(MQTT_FIELDS, item.name)
    // A URL is secret only through its password: masking every broker address would blind the logs.
    const secret = item.fromSecret || (field?.sensitive === true && (field.type !== 'url' || url.password !== undefined))
    if (secret) for (const form of sensitiveForms(item.value)) sensitiveValues.add(form)
  }
  if (url.password !== undefined) for (const form of sensitiveForms(url.password)) sensitiveValues.add(form)
  // A WebSocket query can be a presigned URL or an authorizer's token: never logged.
  if (url.query !== undefined) for (const form of sensitiveForms(url.query)) sensitiveValues.add(form)

  return {
    metadata,
    runtime: readRuntime(fields, reporter, ctx, items),
    raw,
    sensitiveValues: [...sensitiveValues],
  }
}

function readUrl(fields: FieldReader, reporter: Reporter): BrokerUrl {
  const text = fields.string('url')
  if (text === undefined) return NO_URL
  const result = parseBrokerUrl(text)
  if (!result.ok) {
    reporter.error(fields.path('url'), result.problem)
    return NO_URL
  }
  for (const warning of result.warnings) reporter.warn(fields.path('url'), warning)
  return result.url
}

function readTls(fields: FieldReader, reporter: Reporter, metadata: MqttMetadata): void {
  const caCert = fields.string('caCert')
  const clientCert = fields.string('clientCert')
  const clientKey = fields.string('clientKey')
  let certOk = false
  let keyOk = false
  if (caCert !== undefined) {
    const problem = certificateProblem(caCert)
    if (problem) reporter.error(fields.path('caCert'), problem)
    else metadata.caCert = caCert
  }
  if (clientCert !== undefined) {
    const problem = certificateProblem(clientCert)
    if (problem) reporter.error(fields.path('clientCert'), problem)
    else {
      metadata.clientCert = clientCert
      certOk = true
    }
  }
  if (clientKey !== undefined) {
    const problem = privateKeyProblem(clientKey)
    if (problem) reporter.error(fields.path('clientKey'), problem)
    else {
      metadata.clientKey = clientKey
      keyOk = true
    }
  }
  if (fields.present('clientCert') && !fields.present('clientKey')) {
    reporter.error(fields.path('clientKey'), 'is required when clientCert is set')
  }
  if (fields.present('clientKey') && !fields.present('clientCert')) {
    reporter.error(fields.path('clientCert'), 'is required when clientKey is set')
  }
  if (certOk && keyOk && clientCert !== undefined && clientKey !== undefined && !keyMatchesCertificate(clientCert, clientKey)) {
    reporter.error(fields.path('clientKey'), 'does not belong to clientCert (the public keys differ)')
  }
  const tls = metadata.url.protocol === 'mqtts' || metadata.url.protocol === 'wss'
  const tlsFields = [caCert, clientCert, clientKey].some((v) => v !== undefined)
  if (tlsFields && !tls && metadata.url !== NO_URL) {
    reporter.warn(
      fields.path('url'),
      'caCert, clientCert and clientKey have no effect without a TLS scheme (mqtts, tcps, ssl, tls or wss)',
    )
  }
}

/** Last: its rules look at (and may degrade) the fields read before. */
function readBrokerProfile(fields: FieldReader, reporter: Reporter, metadata: MqttMetadata): void {
  const parsed = parseBrokerProfile(fields.string('brokerProfile'))
  if ('problem' in parsed) {
    reporter.error(fields.path('brokerProfile'), parsed.problem)
    return
  }
  if (parsed.profile === 'generic') return
  metadata.brokerProfile = parsed.profile
  for (const finding of applyComponentProfile(metadata, parsed.profile)) {
    const path = fields.path(finding.field ?? 'brokerProfile')
    if (finding.level === 'error') reporter.error(path, finding.text)
    else reporter.warn(path, finding.text)
  }
}

function checkSession(fields: FieldReader, reporter: Reporter, metadata: MqttMetadata): void {
  if (metadata.sessionExpiryInterval !== undefined && metadata.protocolVersion !== 5) {
    reporter.warn(fields.path('sessionExpiryInterval'), 'is used only with protocolVersion 5; ignored')
  }
  if (metadata.cleanSession) return
  if (!metadata.consumerIDConfigured) {
    reporter.warn(
      fields.path('cleanSession'),
      'a persistent session needs a stable consumerID; the generated one changes on every start, so the session is never resumed',
    )
  }
  if (metadata.protocolVersion === 5 && metadata.sessionExpiryInterval === undefined) {
    reporter.warn(
      fields.path('cleanSession'),
      'with protocolVersion 5 the broker ends the session at disconnect unless sessionExpiryInterval is set',
    )
  }
}

function readRuntime(
  fields: FieldReader,
  reporter: Reporter,
  ctx: TemplateContext,
  items: readonly ResolvedItem[],
): PubsubRuntimeMetadata {
  const runtime: PubsubRuntimeMetadata = {}
  const allowed = fields.string('allowedTopics')
  if (allowed !== undefined) runtime.allowedTopics = parseTopicList(allowed)
  const protectedTopics = fields.string('protectedTopics')
  if (protectedTopics !== undefined) runtime.protectedTopics = parseTopicList(protectedTopics)
  for (const key of ['publishingScopes', 'subscriptionScopes'] as const) {
    const value = fields.string(key)
    if (value === undefined) continue
    const { scopes, skipped } = parseScopes(value)
    if (skipped > 0) reporter.warn(fields.path(key), `${skipped} entr${skipped === 1 ? 'y has' : 'ies have'} no "=" and ${skipped === 1 ? 'is' : 'are'} skipped (format app1=t1,t2;app2=t3)`)
    runtime[key] = scopes
  }
  // daprd checks the values as written, before expansion (meta.ContainsNamespace).
  if (items.some((item) => item.value.includes('{namespace}'))) runtime.namespace = ctx.namespace
  return runtime
}
