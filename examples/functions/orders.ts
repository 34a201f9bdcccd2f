// Example HTTP function (a Lambda behind a Function URL): the subscription's default route
// `/orders` delivers every order event here as daprd would deliver it to an app.
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda'

export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> {
  const body = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '')
  const cloudEvent = JSON.parse(body) as { id: string; topic: string; data?: unknown }
  console.log(`[orders] order ${cloudEvent.id} on ${cloudEvent.topic}: ${JSON.stringify(cloudEvent.data)}`)
  // Dapr's delivery contract: SUCCESS acks, RETRY redelivers, DROP dead-letters.
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ status: 'SUCCESS' }) }
}
