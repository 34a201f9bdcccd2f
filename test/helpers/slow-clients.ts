// Misbehaving HTTP clients on raw TCP sockets: idle connections, heads and bodies sent a byte at a
// time, bodies that never end. `closed` resolves when the server closes the socket, with what the
// server sent before that, so a test waits on the close itself rather than on a clock.
import net from 'node:net'

export interface RawClient {
  socket: net.Socket
  /** Writes and counts; false when the socket wants a drain first. */
  write(data: string | Buffer): boolean
  /** Everything the server sent so far. */
  received(): string
  /** Bytes written so far. */
  written(): number
  /** Resolves once the socket is closed (by the server, or a reset), with everything received. */
  closed: Promise<string>
}

/** Connects and writes `initial` (nothing: an idle connection). */
export function rawClient(port: number, initial = ''): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    const chunks: Buffer[] = []
    let written = 0
    socket.on('data', (d: Buffer) => chunks.push(d))
    const received = (): string => Buffer.concat(chunks).toString('latin1')
    const closed = new Promise<string>((done) => socket.once('close', () => done(received())))
    const write = (data: string | Buffer): boolean => {
      written += typeof data === 'string' ? Buffer.byteLength(data) : data.length
      return socket.write(data)
    }
    socket.once('error', reject)
    socket.once('connect', () => {
      socket.off('error', reject)
      // A reset (the server closing with bytes unread) ends in 'close' as well.
      socket.on('error', () => {})
      if (initial !== '') write(initial)
      resolve({ socket, write, received, written: () => written, closed })
    })
  })
}

/** Writes one character of `text` (cycling) every `everyMs` until the socket closes: 1 byte/s is everyMs 1000. */
export function trickle(client: RawClient, everyMs: number, text = 'x'): void {
  let i = 0
  const timer = setInterval(() => {
    if (client.socket.destroyed || !client.socket.writable) return
    client.write(text[i % text.length] as string)
    i++
  }, everyMs)
  void client.closed.then(() => clearInterval(timer))
}

/** Writes `chunk` again and again, as fast as the socket takes it, until the socket closes. */
export function flood(client: RawClient, chunk: Buffer): void {
  const pump = (): void => {
    while (!client.socket.destroyed && client.socket.writable) {
      if (!client.write(chunk)) {
        client.socket.once('drain', pump)
        return
      }
    }
  }
  pump()
}

/** Opens `n` connections, `batch` at a time (so the listen backlog never overflows). */
export async function rawClients(port: number, n: number, initial = '', batch = 200): Promise<RawClient[]> {
  const out: RawClient[] = []
  for (let i = 0; i < n; i += batch) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, () => rawClient(port, initial)))))
  }
  return out
}
