import type { InvocationContext, StorageQueueHandler } from '@azure/functions'
import { errorMessage } from '../../core/errors.js'
import { relayMessage, type QueueMessage } from '../../function-runtime/relay.js'
import { lazyRelayTarget } from '../../function-runtime/relay-target.js'
import type { FunctionRuntime } from '../../function-runtime/runtime.js'
import { contextLogger } from './context-logger.js'

/**
 * The Storage Queue relay (v4 model): one queue message becomes one MQTT message, with the
 * rules of `function-runtime/relay.ts`. The host hands over the body already decoded (base64 removed,
 * JSON parsed into a value, other text as a string, non-text as bytes); queue messages have
 * no attributes, so the topic is a CloudEvent body's `topic`, else `MQTTFN_TOPIC`.
 *
 * A message that fails throws: the host retries it and, after `maxDequeueCount` attempts
 * (host.json, 5 in the built app), moves it to `<queue>-poison`. Nothing is swallowed.
 */
export function createAzureQueueRelayHandler(runtime: FunctionRuntime): StorageQueueHandler {
  const relayTarget = lazyRelayTarget(runtime)
  return async (queueEntry: unknown, context: InvocationContext): Promise<void> => {
    const message: QueueMessage = { id: messageId(context), body: queueEntry }
    try {
      const target = await relayTarget()
      await relayMessage(message, target)
    } catch (error) {
      const attempt = dequeueCount(context)
      contextLogger(context, runtime).error(
        `mqtt-fn: queue message ${message.id} failed${attempt === undefined ? '' : ` (attempt ${attempt})`}: ${
          errorMessage(error)
        }`,
      )
      throw error
    } finally {
      await runtime.flushTraces()
    }
  }
}

function messageId(context: InvocationContext): string {
  const id = context.triggerMetadata?.['id']
  return typeof id === 'string' && id !== '' ? id : context.invocationId
}

function dequeueCount(context: InvocationContext): number | undefined {
  const count = context.triggerMetadata?.['dequeueCount']
  return typeof count === 'number' ? count : undefined
}
