import net from 'node:net'

export interface SilentBroker {
  port: number
  url: string
  /** Connections accepted so far. */
  readonly accepted: number
  /** Packet types (MQTT control packet type, 1..15) seen, first byte of each chunk. */
  readonly seen: number[]
  dropAll(): void
  close(): Promise<void>
}

/**
 * A "broker" that answers CONNECT with a successful MQTT 3.1.1 CONNACK and PINGREQ with
 * PINGRESP, and ignores everything else (no PUBACK, no SUBACK). For the paths where a real
 * broker would have to misbehave: acks that never come, a replay that never ends.
 */
export async function startSilentBroker(): Promise<SilentBroker> {
  let accepted = 0
  const seen: number[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer({ noDelay: true }, (socket) => {
    accepted++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.once('close', () => sockets.delete(socket))
    socket.on('data', (chunk: Buffer) => {
      const type = (chunk[0] ?? 0) >> 4
      seen.push(type)
      if (type === 1) socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00])) // CONNACK, accepted
      if (type === 12) socket.write(Buffer.from([0xd0, 0x00])) // PINGRESP
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: 0, host: '127.0.0.1' }, () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    get accepted() {
      return accepted
    },
    seen,
    dropAll() {
      for (const s of sockets) s.destroy()
    },
    close() {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
