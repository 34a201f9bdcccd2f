import net from 'node:net'
import { Aedes, type AedesOptions } from 'aedes'
import { settlesWithin } from '../core/timeout.js'

export interface EmbeddedBrokerOptions {
  /** 0 or absent: a free port chosen by the OS. */
  port?: number
  /** Default 127.0.0.1: the dev broker is not meant to be reachable from other hosts. */
  host?: string
  /** Passed to aedes (auth hooks, persistence...). */
  aedes?: AedesOptions
}

export interface EmbeddedBroker {
  port: number
  host: string
  /** `mqtt://host:port` */
  url: string
  aedes: Aedes
  /** Closes every client, the listener and the broker; bounded, never hangs. */
  close(): Promise<void>
}

const CLOSE_BOUND_MS = 2000

/**
 * An MQTT 3.1.1 broker (aedes) in this process. aedes 1.x has no MQTT 5: MQTT 5 paths are
 * exercised against Mosquitto instead.
 */
export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = opts.host ?? '127.0.0.1'
  const aedes = await Aedes.createBroker(opts.aedes)
  const sockets = new Set<net.Socket>()
  // noDelay: Nagle on the broker side stalls windowed QoS 1 (PUBACKs wait for delayed ACKs).
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    aedes.handle(socket)
  })

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ port: opts.port ?? 0, host }, () => {
        server.off('error', reject)
        resolve()
      })
    })
  } catch (err) {
    await closeAedes(aedes)
    throw err
  }
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const urlHost = host.includes(':') ? `[${host}]` : host

  let closing: Promise<void> | undefined
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
      await closeAedes(aedes)
      // Sockets that aedes did not end (half-open, mid-CONNECT) would keep server.close pending.
      for (const socket of sockets) socket.destroy()
      await settlesWithin(serverClosed, CLOSE_BOUND_MS)
    })()
    return closing
  }

  return { port, host, url: `mqtt://${urlHost}:${port}`, aedes, close }
}

function closeAedes(aedes: Aedes): Promise<void> {
  if (aedes.closed) return Promise.resolve()
  return settlesWithin(new Promise<void>((resolve) => aedes.close(() => resolve())), CLOSE_BOUND_MS).then(() => {})
}

