/**
 * The TCP proxy between the forwarder and the broker: it cuts the connection (a silent black
 * hole, or refused connections) and decodes the MQTT packets it actually passes on, in both
 * directions, so the books see which PUBACK reached the broker and when. A packet dropped in
 * the black hole is never reported: the broker never got it.
 */
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import mqttPacket, { type Packet } from 'mqtt-packet'

/** `conn`: the proxy's number of the connection (1, 2, ...). */
export interface ProxyObserver {
  /** A connection to the broker was opened for the forwarder. */
  opened(conn: number): void
  toBroker(packet: Packet, conn: number): void
  fromBroker(packet: Packet, conn: number): void
}

export interface SoakProxy {
  port: number
  /** Connections that stop passing bytes; new ones are accepted and never served. */
  blackhole(): void
  /** Close the listener and reset every connection: new connections are refused. */
  refuse(): Promise<void>
  /** Drop what hung in the black hole and pass bytes again, on the same port. */
  restore(): Promise<void>
  /** Bytes that could not be decoded as MQTT (should stay 0). */
  readonly parseErrors: number
  close(): Promise<void>
}

interface Pair {
  client: net.Socket
  broker?: net.Socket
}

export async function startSoakProxy(brokerPort: number, observer: ProxyObserver): Promise<SoakProxy> {
  let passing = true
  let parseErrors = 0
  const pairs = new Set<Pair>()
  let connections = 0

  const onConnection = (client: net.Socket) => {
    const pair: Pair = { client }
    pairs.add(pair)
    client.setNoDelay(true)
    client.on('error', () => {})
    client.on('close', () => {
      pair.broker?.destroy()
      pairs.delete(pair)
    })
    if (!passing) {
      client.pause()
      return
    }
    const conn = ++connections
    observer.opened(conn)
    const broker = net.connect({ port: brokerPort, host: '127.0.0.1', noDelay: true })
    pair.broker = broker
    broker.on('error', () => {})
    broker.on('close', () => client.destroy())
    // One parser per direction and connection; the client's CONNECT tells its parser the protocol level.
    const up = mqttPacket.parser()
    const down = mqttPacket.parser({ protocolVersion: 4 })
    up.on('packet', (p) => observer.toBroker(p, conn))
    down.on('packet', (p) => observer.fromBroker(p, conn))
    up.on('error', () => parseErrors++)
    down.on('error', () => parseErrors++)
    client.on('data', (d: Buffer) => {
      if (!passing) return
      up.parse(d)
      broker.write(d)
    })
    broker.on('data', (d: Buffer) => {
      if (!passing) return
      down.parse(d)
      client.write(d)
    })
  }

  let server = net.createServer(onConnection)
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve))
  const port = (server.address() as AddressInfo).port
  const closeServer = () => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()))
  const dropAll = (reset: boolean) => {
    for (const p of pairs) {
      if (reset) p.client.resetAndDestroy()
      else p.client.destroy()
      p.broker?.destroy()
    }
  }
  return {
    port,
    get parseErrors() {
      return parseErrors
    },
    blackhole() {
      passing = false
    },
    async refuse() {
      const closed = closeServer()
      dropAll(true)
      await closed
    },
    async restore() {
      dropAll(false)
      passing = true
      if (!server.listening) {
        server = net.createServer(onConnection)
        await new Promise<void>((resolve) => server.listen({ port, host: '127.0.0.1' }, resolve))
      }
    },
    async close() {
      dropAll(false)
      await closeServer()
    },
  }
}
