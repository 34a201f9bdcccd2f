/**
 * Lambda target: `Invoke` (RequestResponse) through AWS SDK v3 with the CloudEvent as the
 * payload. The SDK finds region, credentials and endpoint itself (AWS_REGION, the credential
 * chain, AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL). A `FunctionError` (the function threw
 * or timed out; the API still answers 200) is a failure; otherwise the function's result is
 * read like an app's HTTP body, so a handler may return `{"status":"RETRY"|"DROP"}`.
 * The SDK is imported on first use: a forwarder without Lambda routes does not load it.
 */
import { clampTimer } from './http.js'
import type { LambdaClient } from '@aws-sdk/client-lambda'
import type { Target, TargetReply, TargetRequest } from '../types.js'

const ARN = /^arn:[^:]+:lambda:([^:]+):\d+:function:/

/** One SDK client per region (a function ARN names one; else the SDK's default chain). */
export class LambdaClients {
  readonly #clients = new Map<string, Promise<LambdaClient>>()

  get(functionName: string): Promise<LambdaClient> {
    const region = ARN.exec(functionName)?.[1] ?? ''
    let client = this.#clients.get(region)
    if (!client) {
      client = import('@aws-sdk/client-lambda').then(
        ({ LambdaClient }) =>
          new LambdaClient({
            ...(region ? { region } : {}),
            // The forwarder's retry policy decides about retries; SDK retries would multiply them.
            maxAttempts: 1,
            requestHandler: { connectionTimeout: 5_000 },
          }),
      )
      this.#clients.set(region, client)
    }
    return client
  }

  destroy(): void {
    for (const client of this.#clients.values()) void client.then((c) => c.destroy(), () => {})
    this.#clients.clear()
  }
}

export function lambdaTarget(functionName: string, clients: LambdaClients): Target & { check(): Promise<void> } {
  return {
    kind: 'lambda',
    name: functionName,
    /** Fails when no region can be found, which would otherwise fail every invoke. */
    async check() {
      const client = await clients.get(functionName)
      await client.config.region()
    },
    async send(request: TargetRequest): Promise<TargetReply> {
      try {
        const client = await clients.get(functionName)
        const { InvokeCommand } = await import('@aws-sdk/client-lambda')
        const out = await client.send(
          new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: request.body }),
          { abortSignal: AbortSignal.any([request.signal, AbortSignal.timeout(clampTimer(request.timeoutMs))]) },
        )
        const body = out.Payload ? Buffer.from(out.Payload).toString('utf8') : ''
        if (out.FunctionError) {
          return { ok: false, reason: `lambda ${functionName}: FunctionError ${out.FunctionError}: ${body.slice(0, 300)}` }
        }
        return { ok: true, status: out.StatusCode ?? 200, body }
      } catch (error) {
        const e = error as Error & { $metadata?: { httpStatusCode?: number } }
        const status = e.$metadata?.httpStatusCode
        return { ok: false, reason: `lambda ${functionName}: ${e.name}${status ? ` (HTTP ${status})` : ''}: ${e.message}` }
      }
    },
  }
}
