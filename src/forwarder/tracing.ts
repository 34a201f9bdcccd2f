/**
 * The forwarder's spans, used by the dispatcher only when a Configuration turns tracing on
 * (`DispatcherOptions.tracer`): a CONSUMER span per message, child of the `traceparent` its
 * CloudEvent carries (the publisher's span), and a CLIENT span per delivery attempt, whose
 * context the app receives as its `traceparent` header, as daprd passes its own span's.
 * Retries and dead letters are events on the message's span.
 */
import type { IncomingMessage } from '../core/pubsub/types.js'
import type { Span, Tracer } from '../tracing/types.js'
import { isValidTraceparent } from './event.js'
import { singleOutcome } from './outcome.js'
import type { ForwardSubscription, Received, Target } from './types.js'

export function consumerSpan(tracer: Tracer, subscription: ForwardSubscription, message: IncomingMessage, event: Record<string, unknown>): Span {
  const fromEvent = typeof event.traceparent === 'string' && event.traceparent !== '' ? event.traceparent : event.traceid
  return tracer.startSpan(`process ${subscription.topic}`, {
    kind: 'consumer',
    parent: isValidTraceparent(fromEvent) ? fromEvent : undefined,
    tracestate: typeof event.tracestate === 'string' ? event.tracestate : undefined,
    attributes: {
      'messaging.system': 'mqtt',
      'messaging.operation.type': 'process',
      'messaging.destination.name': message.topic,
      'messaging.destination.subscription.name': subscription.id,
      'messaging.message.id': typeof event.id === 'string' ? event.id : undefined,
      'mqttfn.pubsub': subscription.pubsubname,
    },
  })
}

/** How the message was settled, on its span, and the span ended. */
export function endConsumerSpan(span: Span, settlement: { ack: boolean; how?: string; reason?: string }): void {
  span.setAttribute('mqttfn.acked', settlement.ack)
  span.setAttribute('mqttfn.settlement', (settlement.ack ? settlement.how : settlement.reason) ?? '')
  if (!settlement.ack) span.fail(`left unacknowledged: ${settlement.reason ?? ''}`)
  span.end()
}

/** `target` with a CLIENT span around each attempt; the app gets that span as its parent. */
export function tracedTarget(tracer: Tracer, received: Received, span: Span, target: Target): Target {
  return {
    kind: target.kind,
    name: target.name,
    async send(request) {
      const client = tracer.startSpan(`deliver ${target.name}`, {
        kind: 'client',
        parent: span,
        attributes: { 'mqttfn.target.kind': target.kind, 'mqttfn.target': target.name, 'mqttfn.delivery.attempt': received.attempts ?? 1 },
      })
      const headers: Record<string, string> = { ...request.headers, traceparent: client.traceparent }
      if (client.tracestate !== '') headers.tracestate = client.tracestate
      try {
        const reply = await target.send({ ...request, headers })
        if (reply.ok) client.setAttribute(target.kind === 'http' ? 'http.response.status_code' : 'mqttfn.target.status', reply.status)
        const outcome = singleOutcome(reply)
        client.setAttribute('mqttfn.outcome', outcome.kind)
        if (outcome.kind !== 'success') client.fail(outcome.reason)
        return reply
      } catch (error) {
        client.fail(error instanceof Error ? error.message : 'send failed')
        throw error
      } finally {
        client.end()
      }
    },
  }
}
