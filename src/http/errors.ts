/**
 * The publish API's own errors: request parts that do not decode the way daprd decodes them.
 * publish-api.ts turns each into daprd's error body; messages are Go's, because Dapr clients
 * and tests compare them.
 */
import { MqttFnError } from '../core/errors.js'

/** A path parameter with a bad percent escape (Go's url.PathUnescape error). */
export class UnescapeError extends MqttFnError {
  override name = 'UnescapeError'

  constructor(message: string) {
    super('ERR_MALFORMED_REQUEST', message, { retriable: false })
  }
}

/** A bulk publish body that does not decode as daprd's []BulkPublishRequestEntry. */
export class BulkDecodeError extends MqttFnError {
  override name = 'BulkDecodeError'

  constructor(message: string) {
    super('ERR_PUBSUB_EVENTS_SER', message, { retriable: false })
  }
}
