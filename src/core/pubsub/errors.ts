/**
 * Every error the pubsub client raises, and how MQTT.js's errors and reason codes become them.
 * PublishError, TimeoutError, TopicError and ClosedError are shared with the other layers, so
 * they live in core/errors.ts; they are re-exported here so this file is the one to read.
 */
import { ErrorWithReasonCode, ReasonCodes } from 'mqtt'
import { ClosedError, errorMessage, MqttFnError, PublishError, TimeoutError, TopicError } from '../errors.js'
import type { Subscription } from './types.js'

export { ClosedError, errorMessage, PublishError, TimeoutError, TopicError }

/**
 * The broker could not be reached or refused us. Names the broker by its redacted URL only.
 * `reasonCode` is the CONNACK return code (3.1.1) / reason code (5) when the broker refused.
 */
export class ConnectError extends MqttFnError {
  override name = 'ConnectError'
  readonly url: string
  readonly reasonCode: number | undefined

  constructor(url: string, problem: string, options: { reasonCode?: number; retriable?: boolean; cause?: unknown } = {}) {
    super('ERR_PUBSUB_CONNECT', `connect to ${url}: ${problem}`, {
      retriable: options.retriable ?? true,
      cause: options.cause,
    })
    this.url = url
    this.reasonCode = options.reasonCode
  }
}

/** The broker refused a SUBSCRIBE (SUBACK failure code), or did not answer it. */
export class SubscribeError extends MqttFnError {
  override name = 'SubscribeError'
  readonly filter: string
  readonly reasonCode: number | undefined
  /**
   * Set when no SUBACK came in time (retriable, no reason code): the handler stays registered,
   * the filter is subscribed again on every reconnect, and messages for it are delivered.
   * Subscribing the same handler again waits for that; `unsubscribe()` gives up.
   */
  subscription?: Subscription

  constructor(filter: string, problem: string, options: { reasonCode?: number; retriable?: boolean; cause?: unknown } = {}) {
    super('ERR_PUBSUB_SUBSCRIBE', `subscribe to ${JSON.stringify(filter)}: ${problem}`, {
      retriable: options.retriable ?? false,
      cause: options.cause,
    })
    this.filter = filter
    this.reasonCode = options.reasonCode
  }
}

// ---------------------------------------------------------------- classification

/** PUBACK reason codes that will not change on retry. */
const TERMINAL_PUBACK_CODES = new Set([0x83, 0x87, 0x90, 0x99])
/** CONNACK codes worth retrying (server unavailable / busy / quota / rate). */
const RETRIABLE_CONNACK_CODES = new Set([3, 0x88, 0x89, 0x97, 0x9f])
const TLS_ERROR_CODE = /^(ERR_TLS|ERR_SSL|UNABLE_TO_|CERT_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_OSSL)/

/** MQTT.js's name of a reason code (3.1.1 return codes share the table). */
export function reasonText(code: number): string {
  return (ReasonCodes as Record<number, string>)[code] || 'unknown reason'
}

/**
 * What an MQTT.js 'error' means for the caller: a refusal with its CONNACK code (retriable
 * or not), a TLS problem with what to check, a missing CONNACK, a socket error; anything
 * else is passed on as it is.
 */
export function classifyConnectionError(err: Error, ctx: { url: string; protocolVersion: 4 | 5; connectTimeout: number }): Error {
  const { url } = ctx
  if (err instanceof ErrorWithReasonCode && err.message.startsWith('Connection refused')) {
    const code = err.code
    const kind = ctx.protocolVersion === 5 ? 'reason code' : 'return code'
    return new ConnectError(url, `refused by the broker: ${reasonText(code)} (${kind} ${code})`, {
      reasonCode: code,
      retriable: RETRIABLE_CONNACK_CODES.has(code),
      cause: err,
    })
  }
  const code = (err as NodeJS.ErrnoException).code
  if ((typeof code === 'string' && TLS_ERROR_CODE.test(code)) || err.message === 'TLS not authorized') {
    return new ConnectError(url, `TLS: ${tlsProblem(err.message, code)}`, { retriable: false, cause: err })
  }
  if (err.message === 'connack timeout') {
    return new ConnectError(url, `no CONNACK within ${ctx.connectTimeout} ms`, { cause: err })
  }
  if (typeof code === 'string') return new ConnectError(url, err.message, { cause: err })
  return err
}

/** OpenSSL's one-line errors, cut to their reason, plus what to check. */
export function tlsProblem(message: string, code: string | undefined): string {
  const reason = /SSL routines:[^:]*:([^:]+)/.exec(message)?.[1] ?? message.trim()
  let hint = ''
  if (code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' || code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE') {
    hint = '; the broker wants a client certificate (clientCert + clientKey)'
  } else if (code === 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' || code === 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE') {
    hint = '; the broker does not accept the client certificate'
  } else if (code && /^(UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|CERT_)/.test(code)) {
    hint = "; the broker's certificate is not trusted (caCert)"
  } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
    hint = "; the broker's certificate does not name this host"
  }
  return `${reason}${code ? ` (${code})` : ''}${hint}`
}

/** A PUBACK / PUBREC with a failure reason code, as the publisher sees it. */
export function publishRefusal(topic: string, url: string, err: ErrorWithReasonCode): PublishError {
  const code = err.code
  return new PublishError(topic, `refused by ${url}: ${reasonText(code)} (reason code 0x${code.toString(16)})`, {
    retriable: !TERMINAL_PUBACK_CODES.has(code),
    cause: err,
  })
}

/** A SUBACK that refused the filter, or a SUBSCRIBE that failed on the way. */
export function subscribeFailure(filter: string, url: string, err: Error): SubscribeError {
  const code = (err as { packet?: { granted?: unknown[] } }).packet?.granted?.[0]
  if (typeof code === 'number' && (code & 0x80) !== 0) {
    return new SubscribeError(filter, `refused by ${url}: ${reasonText(code)} (reason code 0x${code.toString(16)})`, { reasonCode: code })
  }
  return new SubscribeError(filter, err.message, { retriable: true, cause: err })
}
