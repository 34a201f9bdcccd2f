/**
 * Azure Storage Queue target: each delivery becomes one queue message holding the CloudEvent,
 * base64-encoded because that is what a Functions queue trigger decodes by default (plain text
 * ends in the poison queue with "not a valid Base-64 string"). The queue is created on first
 * use. Any failure is retriable; the forwarder's policy retries, not the SDK. The SDK is
 * imported on first use.
 */
import { clampTimer } from './http.js'
import type { QueueClient } from '@azure/storage-queue'
import type { Target, TargetReply, TargetRequest } from '../types.js'

/** The connection string a Functions app uses, from the environment. */
export function queueConnectionString(env: Record<string, string | undefined>): string | undefined {
  return env.AZURE_STORAGE_CONNECTION_STRING || env.AzureWebJobsStorage || undefined
}

/** Azure's queue naming rule: 3-63 of a-z, 0-9 and single inner hyphens. */
export function isValidQueueName(name: string): boolean {
  return /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(name)
}

export function queueTarget(queueName: string, connectionString: string): Target {
  let queue: Promise<QueueClient> | undefined
  const open = (signal: AbortSignal): Promise<QueueClient> => {
    queue ??= (async () => {
      const { QueueServiceClient } = await import('@azure/storage-queue')
      const client = QueueServiceClient.fromConnectionString(connectionString, { retryOptions: { maxTries: 1 } }).getQueueClient(queueName)
      await client.createIfNotExists({ abortSignal: signal })
      return client
    })()
    // A failed open (storage down) is tried again by the next delivery.
    queue.catch(() => {
      queue = undefined
    })
    return queue
  }
  return {
    kind: 'azqueue',
    name: queueName,
    async send(request: TargetRequest): Promise<TargetReply> {
      try {
        const signal = AbortSignal.any([request.signal, AbortSignal.timeout(clampTimer(request.timeoutMs))])
        const client = await open(signal)
        const response = await client.sendMessage(request.body.toString('base64'), { abortSignal: signal })
        return { ok: true, status: response._response.status, body: '' }
      } catch (error) {
        const e = error as Error & { statusCode?: number; code?: string }
        const detail = e.code ?? (e.statusCode ? `HTTP ${e.statusCode}` : e.name)
        return { ok: false, reason: `queue ${queueName}: ${detail}: ${e.message.split('\n')[0] ?? ''}` }
      }
    },
  }
}
