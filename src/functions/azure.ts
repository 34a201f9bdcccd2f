/**
 * The functions API on Azure Functions (v4 model): `withPubsub` hands any handler the pubsub
 * object, bounded by the function's timeout; `azureHttpTopicHandler` and
 * `azureQueueTopicHandler` receive topic deliveries from the forwarder (HTTP routes, `azqueue:`
 * routes) and answer them the way each trigger can.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions'
import { handleBulk, handleOne, isBulkEnvelope, type TopicFunction, type TopicLogger, type TopicStatus } from './delivery.js'
import { boundPubsub, publishApiFor, type FunctionPubsub, type PubsubOptions } from './pubsub.js'

/** The host's default `functionTimeout` on the Consumption plan. */
export const DEFAULT_AZURE_FUNCTION_TIMEOUT_MS = 5 * 60_000

export interface AzurePubsubOptions extends PubsubOptions {
  /**
   * The function's timeout, in ms or as host.json writes it (`"00:05:00"`). Else the app
   * setting `AzureFunctionsJobHost__functionTimeout`, else `functionTimeout` in the app's
   * host.json (the working directory), else 5 minutes. `-1` means unbounded.
   */
  functionTimeout?: number | string
}

export type AzurePubsubHandler<T, R> = (trigger: T, context: InvocationContext, pubsub: FunctionPubsub) => R | Promise<R>

/**
 * A v4 handler of any trigger with the pubsub as its third argument. One publish API and one
 * connection per instance (made by the first publish, reused while warm); every call is
 * bounded by the time the invocation has left before the host's `functionTimeout`.
 */
export function withPubsub<T, R>(handler: AzurePubsubHandler<T, R>, options: AzurePubsubOptions = {}): (trigger: T, context: InvocationContext) => Promise<R> {
  const api = publishApiFor(options)
  const timeoutMs = functionTimeoutMs(options)
  return async (trigger, context) => {
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs
    const pubsub = boundPubsub(api, () => (deadline === undefined ? undefined : Math.max(0, deadline - Date.now())))
    try {
      return await handler(trigger, context, pubsub)
    } finally {
      // The publish spans leave before the invocation ends.
      await api.flushTraces()
    }
  }
}

/** The timeout in ms, undefined when unbounded. A value that cannot be read is an error naming where it came from. */
export function functionTimeoutMs(options: AzurePubsubOptions = {}): number | undefined {
  const env = options.env ?? process.env
  if (options.functionTimeout !== undefined) return parseTimeout(options.functionTimeout, 'the functionTimeout option')
  const setting = env['AzureFunctionsJobHost__functionTimeout']
  if (setting !== undefined && setting.trim() !== '') return parseTimeout(setting, 'AzureFunctionsJobHost__functionTimeout')
  const hostJson = join(process.cwd(), 'host.json')
  if (existsSync(hostJson)) {
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(hostJson, 'utf8'))
    } catch {
      return DEFAULT_AZURE_FUNCTION_TIMEOUT_MS // the host itself refuses such a host.json; nothing to bound by
    }
    const value = (parsed as { functionTimeout?: unknown } | null)?.functionTimeout
    if (typeof value === 'string' || typeof value === 'number') return parseTimeout(value, `functionTimeout in ${hostJson}`)
  }
  return DEFAULT_AZURE_FUNCTION_TIMEOUT_MS
}

/** A .NET TimeSpan as host.json writes it (`[d.]hh:mm:ss[.fff]`), or ms; `-1` is unbounded. */
function parseTimeout(value: number | string, where: string): number | undefined {
  if (typeof value === 'number') {
    if (value === -1) return undefined
    if (Number.isFinite(value) && value > 0) return value
    throw new Error(`mqtt-fn: ${where} is ${value}; give a positive number of ms, a "hh:mm:ss" time span, or -1`)
  }
  const text = value.trim()
  if (text === '-1') return undefined
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$/.exec(text)
  if (!match) throw new Error(`mqtt-fn: ${where} is ${JSON.stringify(value)}; give a "hh:mm:ss" time span (as host.json writes it) or -1`)
  const [, days = '0', hours = '0', minutes = '0', seconds = '0', fraction = ''] = match
  const ms = ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Number(seconds) * 1000 + Math.round(Number(`0.${fraction || '0'}`) * 1000)
  if (ms <= 0) throw new Error(`mqtt-fn: ${where} is ${JSON.stringify(value)}; a timeout must be longer than 0`)
  return ms
}

export interface AzureTopicHandlerOptions {
  /** Default: the invocation's log (`context.warn` / `context.error`). */
  logger?: TopicLogger
}

function invocationLogger(context: InvocationContext, options: AzureTopicHandlerOptions): TopicLogger {
  return options.logger ?? { warn: (m, ...d) => context.warn(m, ...d), error: (m, ...d) => context.error(m, ...d) }
}

/**
 * An HTTP trigger for topic deliveries (the forwarder's HTTP routes, or daprd): `fn` per event
 * (per entry of a bulk envelope), answered 200 with Dapr's `{ status }` / `{ statuses }`.
 */
export function azureHttpTopicHandler<T = unknown>(fn: TopicFunction<T, InvocationContext>, options: AzureTopicHandlerOptions = {}) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    const logger = invocationLogger(context, options)
    const text = await request.text()
    let payload: unknown = text
    try {
      payload = JSON.parse(text) as unknown
    } catch {
      // Left as text: handleOne drops it, naming why.
    }
    const answer = isBulkEnvelope(payload) ? await handleBulk(fn, payload, context, logger) : { status: await handleOne(fn, payload, context, logger) }
    return { status: 200, jsonBody: answer }
  }
}

/** Thrown by `azureQueueTopicHandler` for RETRY, so that the host retries the message and, after `maxDequeueCount`, poisons it. */
export class TopicRetryError extends Error {
  override name = 'TopicRetryError'
}

/**
 * A Storage Queue trigger for topic deliveries (the forwarder's `azqueue:` routes: one base64
 * CloudEvent per message, which the host hands over decoded). SUCCESS and DROP return (the
 * message is deleted; DROP is logged), RETRY throws so the host retries and poisons.
 */
export function azureQueueTopicHandler<T = unknown>(fn: TopicFunction<T, InvocationContext>, options: AzureTopicHandlerOptions = {}) {
  return async (queueEntry: unknown, context: InvocationContext): Promise<void> => {
    const logger = invocationLogger(context, options)
    const id = messageId(context)
    let status: TopicStatus
    if (isBulkEnvelope(queueEntry)) {
      const { statuses } = await handleBulk(fn, queueEntry, context, logger)
      const retry = statuses.filter((s) => s.status === 'RETRY').map((s) => s.entryId)
      // A queue message is retried whole: its entries that succeeded run again, as at-least-once allows.
      status = retry.length > 0 ? 'RETRY' : 'SUCCESS'
      if (status === 'RETRY') throw new TopicRetryError(`mqtt-fn: queue message ${id}: entries ${retry.join(', ')} answered RETRY`)
      return
    }
    status = await handleOne(fn, queueEntry, context, logger)
    if (status === 'RETRY') throw new TopicRetryError(`mqtt-fn: queue message ${id} answered RETRY`)
    if (status === 'DROP') logger.warn(`mqtt-fn: queue message ${id} dropped`)
  }
}

function messageId(context: InvocationContext): string {
  const id = context.triggerMetadata?.['id']
  return typeof id === 'string' && id !== '' ? id : context.invocationId
}
