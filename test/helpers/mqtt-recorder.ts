import mqtt, { type MqttClient } from 'mqtt'

export interface Received {
  topic: string
  payload: Buffer
  retain: boolean
  qos: number
}

export interface Recorder {
  client: MqttClient
  messages: Received[]
  /** Resolves with the first message (already received or to come) that matches, else rejects after `timeoutMs`. */
  next(match?: (m: Received) => boolean, timeoutMs?: number): Promise<Received>
  /** Resolves with `count` messages that match. */
  take(count: number, match?: (m: Received) => boolean, timeoutMs?: number): Promise<Received[]>
  close(): Promise<void>
}

/** A plain MQTT.js subscriber: what a device or another service on the broker sees. */
export async function recordTopics(url: string, filter: string | string[], qos: 0 | 1 = 1): Promise<Recorder> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, clean: true })
  const messages: Received[] = []
  const waiters = new Set<() => void>()
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: Buffer.from(payload), retain: packet.retain, qos: packet.qos })
    for (const w of waiters) w()
  })
  await client.subscribeAsync(filter, { qos })

  const take = (count: number, match: (m: Received) => boolean = () => true, timeoutMs = 5000): Promise<Received[]> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = messages.filter(match)
        if (found.length >= count) {
          resolve(found.slice(0, count))
          return true
        }
        return false
      }
      if (check()) return
      const timer = setTimeout(() => {
        waiters.delete(waiter)
        reject(new Error(`expected ${count} matching message(s) within ${timeoutMs} ms, got ${messages.filter(match).length}`))
      }, timeoutMs)
      const waiter = (): void => {
        if (check()) {
          clearTimeout(timer)
          waiters.delete(waiter)
        }
      }
      waiters.add(waiter)
    })

  return {
    client,
    messages,
    take,
    next: async (match, timeoutMs) => (await take(1, match, timeoutMs))[0] as Received,
    close: () => client.endAsync(true),
  }
}
