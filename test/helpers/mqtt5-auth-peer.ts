/**
 * A minimal MQTT 5 broker that speaks enhanced authentication the way Azure Event Grid's MQTT
 * broker does for Microsoft Entra tokens: CONNECT with Authentication Method `OAUTH2-JWT` and
 * the JWT as Authentication Data; AUTH 0x19 (re-authenticate) answered with AUTH Success, or a
 * DISCONNECT 0x87 for a token it does not accept. Built on mqtt-packet, over TLS; it keeps
 * what it saw for the assertions. Enough of MQTT for a client to connect, ping, subscribe and
 * publish QoS 0/1; not a broker (nothing is routed).
 */
import type { AddressInfo } from 'node:net'
import tls from 'node:tls'
import mqttPacket from 'mqtt-packet'

export const NOT_AUTHORIZED = 0x87
export const BAD_AUTH_METHOD = 0x8c

export interface AuthPeerOptions {
  key: string
  cert: string
  method?: string
  /** Whether `token` is one the broker accepts now. */
  accepts(token: string): boolean
}

export interface AuthPeer {
  port: number
  connects: { method?: string; token: string; accepted: boolean }[]
  auths: { reasonCode: number; method?: string; token: string; accepted: boolean }[]
  publishes: { topic: string; payload: string }[]
  /** Connections currently open. */
  open(): number
  close(): Promise<void>
}

export async function startAuthPeer(options: AuthPeerOptions): Promise<AuthPeer> {
  const method = options.method ?? 'OAUTH2-JWT'
  const connects: AuthPeer['connects'] = []
  const auths: AuthPeer['auths'] = []
  const publishes: AuthPeer['publishes'] = []
  const sockets = new Set<tls.TLSSocket>()
  const server = tls.createServer({ key: options.key, cert: options.cert }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    const parser = mqttPacket.parser({ protocolVersion: 5 })
    const send = (packet: Record<string, unknown>) => socket.write(mqttPacket.generate(packet as unknown as mqttPacket.Packet, { protocolVersion: 5 }))
    parser.on('error', () => socket.destroy())
    parser.on('packet', (packet: mqttPacket.Packet) => {
      switch (packet.cmd) {
        case 'connect': {
          const props = packet.properties ?? {}
          const token = props.authenticationData?.toString('utf8') ?? ''
          const methodOk = props.authenticationMethod === method
          const accepted = methodOk && options.accepts(token)
          connects.push({ ...(props.authenticationMethod ? { method: props.authenticationMethod } : {}), token, accepted })
          if (!accepted) {
            send({ cmd: 'connack', sessionPresent: false, reasonCode: methodOk ? NOT_AUTHORIZED : BAD_AUTH_METHOD })
            socket.end()
            return
          }
          send({ cmd: 'connack', sessionPresent: false, reasonCode: 0, properties: { authenticationMethod: method } })
          return
        }
        case 'auth': {
          const props = packet.properties ?? {}
          const token = props.authenticationData?.toString('utf8') ?? ''
          const accepted = props.authenticationMethod === method && options.accepts(token)
          auths.push({ reasonCode: packet.reasonCode ?? 0, ...(props.authenticationMethod ? { method: props.authenticationMethod } : {}), token, accepted })
          if (accepted && packet.reasonCode === 0x19) send({ cmd: 'auth', reasonCode: 0, properties: { authenticationMethod: method } })
          else {
            send({ cmd: 'disconnect', reasonCode: NOT_AUTHORIZED })
            socket.end()
          }
          return
        }
        case 'pingreq':
          send({ cmd: 'pingresp' })
          return
        case 'subscribe':
          send({ cmd: 'suback', messageId: packet.messageId, granted: packet.subscriptions.map((s) => s.qos) })
          return
        case 'unsubscribe':
          send({ cmd: 'unsuback', messageId: packet.messageId, granted: packet.unsubscriptions.map(() => 0) })
          return
        case 'publish':
          publishes.push({ topic: packet.topic, payload: Buffer.from(packet.payload).toString('utf8') })
          if (packet.qos === 1) send({ cmd: 'puback', messageId: packet.messageId, reasonCode: 0 })
          return
        case 'disconnect':
          socket.end()
          return
        default:
          return
      }
    })
    socket.on('data', (chunk: Buffer) => parser.parse(chunk))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    connects,
    auths,
    publishes,
    open: () => sockets.size,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
