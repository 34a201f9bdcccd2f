import { MqttFnError } from '../errors.js'

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

  constructor(filter: string, problem: string, options: { reasonCode?: number; retriable?: boolean; cause?: unknown } = {}) {
    super('ERR_PUBSUB_SUBSCRIBE', `subscribe to ${JSON.stringify(filter)}: ${problem}`, {
      retriable: options.retriable ?? false,
      cause: options.cause,
    })
    this.filter = filter
    this.reasonCode = options.reasonCode
  }
}
