/**
 * A subscriber whose broker answers PINGREQ late (here: never — a proxy drops every PINGRESP,
 * as a PINGRESP stuck behind a long backlog would look to MQTT.js) stays connected as long as
 * QoS 1 PUBLISHes keep arriving: they prove the broker alive. MQTT.js alone would end the
 * connection with 'Keepalive timeout' after 1.5 x keepalive.
 */
import net from 'node:net'
import mqtt from 'mqtt'
import mqttPacket from 'mqtt-packet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PubsubClient } from '../../../src/core/pubsub/index.js'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../src/local/broker.js'
import { mqttMetadata } from '../../helpers/factories.js'

/** Forwards client<->broker, re-framing broker->client packets and dropping every PINGRESP. */
async function pingrespDroppingProxy(brokerPort: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>()
  const server = net.createServer((client) => {
    const upstream = net.connect(brokerPort, '127.0.0.1')
    sockets.add(client).add(upstream)
    const parser = mqttPacket.parser({ protocolVersion: 4 })
    parser.on('packet', (packet) => {
      if (packet.cmd !== 'pingresp') client.write(mqttPacket.generate(packet))
    })
    upstream.on('data', (chunk: Buffer) => parser.parse(chunk))
    client.pipe(upstream)
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}

describe('keepalive under a steady QoS 1 stream', () => {
  let broker: EmbeddedBroker
  let proxy: { port: number; close(): Promise<void> }

  beforeAll(async () => {
    broker = await startEmbeddedBroker()
    proxy = await pingrespDroppingProxy(broker.port)
  })
  afterAll(async () => {
    await proxy.close()
    await broker.close()
  })

  it('stays connected past 1.5 x keepalive while PUBLISHes arrive, though no PINGRESP ever does', async () => {
    const keepAlive = 1
    const client = new PubsubClient({ name: 'ka', metadata: mqttMetadata({ url: `mqtt://127.0.0.1:${proxy.port}`, qos: 1, keepAlive }) })
    const states: string[] = []
    let received = 0
    let onReceived: (() => void) | undefined
    client.on('state', (s) => {
      states.push(s)
      onReceived?.() // a lost connection ends the wait for a delivery, and the loop
    })
    await client.subscribe('ka/#', (m) => {
      received++
      m.ack()
      onReceived?.()
    })
    const publisher = await mqtt.connectAsync(broker.url)
    // At least 4 keepalive periods pass (a lower bound; MQTT.js's own timer would have fired
    // after 1.5), each message is delivered before the next is sent, so the count cannot
    // depend on how fast a loaded machine is.
    const until = Date.now() + keepAlive * 1000 * 4
    let sent = 0
    try {
      while (Date.now() < until) {
        const delivered = new Promise<void>((r) => (onReceived = r))
        await publisher.publishAsync('ka/1', 'x', { qos: 1 })
        sent++
        await delivered
        if (states.includes('reconnecting')) break
        await new Promise((r) => setTimeout(r, 50)) // pacing only: a steady trickle, not a flood
      }
      expect(received).toBe(sent)
      expect(sent).toBeGreaterThan(1)
      expect(states).not.toContain('reconnecting')
      expect(client.state).toBe('connected')
    } finally {
      await publisher.endAsync()
      await client.close()
    }
  })
})
