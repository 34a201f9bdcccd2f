/**
 * The soak's publisher: a plain MQTT.js client on the broker (not through the proxy) that
 * publishes the stream at QoS 1 at a steady rate, whatever the forwarder is doing. It
 * reconnects after a broker restart and MQTT.js resends what was not PUBACKed (those resends
 * can put a second copy in the broker: counted per message, they explain some duplicates).
 */
import mqtt, { type MqttClient } from 'mqtt'
import type { Books } from './books.js'
import { idOf } from './books.js'

export interface StreamOptions {
  url: string
  topic: string
  count: number
  /** Messages per second. */
  rate: number
  books: Books
  idOf(seq: number): string
  payloadOf(id: string, seq: number): Buffer
}

export interface StreamPublisher {
  /** Stream messages handed to MQTT.js so far. */
  issued(): number
  /** Every stream message was issued and PUBACKed by the broker. */
  done: Promise<void>
  /** Publishes one message outside the stream (a marker); resolves on its PUBACK. */
  publishOne(id: string, payload: Buffer): Promise<void>
  close(): Promise<void>
}

export async function startStreamPublisher(o: StreamOptions): Promise<StreamPublisher> {
  const client: MqttClient = await mqtt.connectAsync(o.url, {
    clientId: `soak-publisher-${process.pid}`,
    reconnectPeriod: 250,
    connectTimeout: 3000,
    keepalive: 5,
  })
  client.on('error', () => {})
  client.on('packetsend', (packet) => {
    if (packet.cmd !== 'publish') return
    const id = idOf(packet.payload)
    if (id !== undefined) o.books.sent(id)
  })

  const publish = (id: string, payload: Buffer): Promise<void> =>
    client.publishAsync(o.topic, payload, { qos: 1 }).then(
      () => o.books.confirmed(id),
      // MQTT.js fails a publish only when the client ends; keep trying until then.
      () => (closing ? undefined : new Promise<void>((r) => setTimeout(r, 250)).then(() => publish(id, payload))),
    )

  let closing = false
  let issued = 0
  const pending: Promise<void>[] = []
  const start = performance.now()
  const done = new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(o.count, Math.floor(((performance.now() - start) / 1000) * o.rate))
      for (; issued < due; issued++) {
        const id = o.idOf(issued)
        o.books.issue(id, issued)
        pending.push(publish(id, o.payloadOf(id, issued)))
      }
      if (issued < o.count && !closing) setTimeout(tick, 10)
      else void Promise.all(pending).then(() => resolve())
    }
    tick()
  })
  return {
    issued: () => issued,
    done,
    publishOne(id, payload) {
      o.books.issue(id, -1)
      return publish(id, payload)
    },
    async close() {
      closing = true
      await client.endAsync(true)
    },
  }
}
