// Example Lambda invoked directly (route `lambda:priority-orders`): the Invoke payload is the
// CloudEvent, and what the handler returns is Dapr's answer.
import { topicHandler } from 'mqtt-fn/functions'

export const handler = topicHandler<{ orderId?: number }>((event) => {
  console.log(`[priority-orders] priority order ${event.id} on ${event.topic}: ${JSON.stringify(event.data)}`)
  return 'SUCCESS'
})
