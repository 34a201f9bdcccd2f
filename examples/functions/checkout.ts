// Example HTTP function that publishes from its own handler: `POST /checkout {"orderId": 42}`
// puts an order event on `orders/new` (the Subscription then delivers it to /orders). The
// connection is made by the first publish and kept while the instance is warm; every wait is
// bounded by the invocation's remaining time.
import middy from '@middy/core'
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda'
import { pubsubMiddleware } from 'mqtt-fn/functions'

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(pubsubMiddleware())
  .handler(async (event, context) => {
    let order: unknown
    try {
      order = JSON.parse(event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? ''))
    } catch {
      return { statusCode: 400, body: 'the body is not JSON' }
    }
    const { error } = await context.pubsub.publish('pubsub', 'orders/new', order as object)
    if (error) return { statusCode: 502, body: error.message }
    return { statusCode: 202, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ accepted: order }) }
  })
