/**
 * Every error mqtt-fn raises on purpose is an MqttFnError: a stable `code` that the HTTP
 * layer maps to Dapr's `errorCode`, and a `retriable` flag in the spirit of components-contrib's
 * NewTerminalError / NewRetriableError. Messages never carry secret values.
 */
export class MqttFnError extends Error {
  override name = 'MqttFnError'
  readonly code: string
  readonly retriable: boolean

  constructor(code: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.retriable = options.retriable ?? false
  }
}

/** Where a resource problem sits: `FILE: document N (Kind/name): field: problem`. */
export interface ResourceLocation {
  file: string
  /** 1-based index of the YAML document in the file; 0 for the file or folder as a whole. */
  document: number
  kind?: string
  name?: string
}

export interface ResourceProblem extends ResourceLocation {
  /** Dotted path of the field, e.g. `spec.metadata.qos`; empty when the whole document is wrong. */
  field: string
  problem: string
}

export function formatProblem(p: ResourceProblem): string {
  const what = p.kind || p.name ? ` (${p.kind ?? '?'}/${p.name ?? '?'})` : ''
  const field = p.field ? `${p.field}: ` : ''
  // Document 0 marks a problem with the file or folder itself (unreadable, no YAML files).
  const where = p.document > 0 ? `${p.file}: document ${p.document}${what}` : `${p.file}${what}`
  return `${where}: ${field}${p.problem}`
}

/** One or more bad resources; `message` holds one formatted line per problem. */
export class ResourceError extends MqttFnError {
  override name = 'ResourceError'
  readonly problems: readonly ResourceProblem[]

  constructor(problems: readonly ResourceProblem[]) {
    super('ERR_RESOURCE_INVALID', problems.map(formatProblem).join('\n'))
    this.problems = problems
  }
}

/** A topic or topic filter that breaks the MQTT rules. */
export class TopicError extends MqttFnError {
  override name = 'TopicError'
  readonly topic: string

  constructor(topic: string, problem: string) {
    super('ERR_TOPIC_INVALID', `topic ${JSON.stringify(topic)}: ${problem}`)
    this.topic = topic
  }
}

/** The broker did not answer (CONNACK, PUBACK, SUBACK) within the bound. Retriable. */
export class TimeoutError extends MqttFnError {
  override name = 'TimeoutError'
  readonly timeoutMs: number

  constructor(what: string, timeoutMs: number) {
    // What is left of a budget is fractional on the performance.now() clock; whole ms read better.
    super('ERR_TIMEOUT', `${what} timed out after ${Math.round(timeoutMs)} ms`, { retriable: true })
    this.timeoutMs = timeoutMs
  }
}

/** A publish that the broker refused or that could not reach it. */
export class PublishError extends MqttFnError {
  override name = 'PublishError'
  readonly topic: string

  constructor(topic: string, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super('ERR_PUBSUB_PUBLISH_MESSAGE', `publish to ${JSON.stringify(topic)}: ${message}`, {
      retriable: options.retriable ?? true,
      cause: options.cause,
    })
    this.topic = topic
  }
}

/** The client was closed; nothing more can be published or acknowledged on it. */
export class ClosedError extends MqttFnError {
  override name = 'ClosedError'
  constructor(what = 'component is closed') {
    super('ERR_CLOSED', what)
  }
}

/** The message of anything thrown: an Error's message, else its string form. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
