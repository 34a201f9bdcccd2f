// Example Lambda invoked directly (route `lambda:priority-orders`): the event is the CloudEvent.
interface OrderEvent {
  id: string
  type: string
  topic: string
  data?: unknown
}

export async function handler(event: OrderEvent): Promise<{ status: 'SUCCESS' }> {
  console.log(`[priority-orders] priority order ${event.id} on ${event.topic}: ${JSON.stringify(event.data)}`)
  return { status: 'SUCCESS' }
}
