// Example HTTP function (a Lambda behind a Function URL): the Subscription's default route
// `/orders` delivers every order event here as daprd would deliver it to an app.
import { topicHandler } from 'mqtt-fn/functions'

export const handler = topicHandler<{ orderId?: number }>((event) => {
  console.log(`[orders] order ${event.id} on ${event.topic}: ${JSON.stringify(event.data)}`)
  // Nothing returned is SUCCESS (acked); return 'RETRY' to redeliver, 'DROP' to dead-letter; a throw retries.
})
