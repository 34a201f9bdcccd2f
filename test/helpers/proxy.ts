import net from 'node:net'

export type ProxyMode =
  /** Pipe bytes both ways (default). */
  | 'forward'
  /** Accept connections and never answer: a broker that hangs before CONNACK. */
  | 'blackhole'
  /** Accept and close at once. */
  | 'reset'

export interface TcpProxy {
  port: number
  host: string
  /** `scheme://127.0.0.1:PORT` */
  url(scheme?: string): string
  /** How new connections are treated. */
  setMode(mode: ProxyMode): void
  /** Destroys every open connection on both sides: a network drop as the client sees it. */
  dropAll(): void
  /** Stop / restart forwarding broker -> client bytes (PUBACKs, deliveries) on open connections. */
  pauseDownstream(): void
  resumeDownstream(): void
  /** Stop / restart forwarding client -> broker bytes (PUBLISH, PUBACK) on open connections. */
  pauseUpstream(): void
  resumeUpstream(): void
  /** Connections accepted so far. */
  readonly accepted: number
  /** Currently open client connections. */
  readonly open: number
  close(): Promise<void>
}

/**
 * A TCP proxy in front of a broker so tests can cut, stall or blackhole the network between
 * a client and its broker without touching either.
 */
export async function startTcpProxy(target: { port: number; host?: string }): Promise<TcpProxy> {
  const targetHost = target.host ?? '127.0.0.1'
  let mode: ProxyMode = 'forward'
  let paused = false
  let upPaused = false
  let accepted = 0
  const pairs = new Set<{ client: net.Socket; upstream?: net.Socket }>()

  const server = net.createServer({ noDelay: true }, (client) => {
    accepted++
    const pair: { client: net.Socket; upstream?: net.Socket } = { client }
    pairs.add(pair)
    client.on('error', () => {})
    client.once('close', () => {
      pairs.delete(pair)
      pair.upstream?.destroy()
    })
    if (mode === 'reset') {
      client.destroy()
      return
    }
    if (mode === 'blackhole') return
    const upstream = net.connect({ port: target.port, host: targetHost, noDelay: true })
    pair.upstream = upstream
    upstream.on('error', () => {})
    upstream.once('close', () => client.destroy())
    if (!upPaused) client.pipe(upstream)
    else client.pause()
    if (!paused) upstream.pipe(client)
    else upstream.pause()
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port: 0, host: '127.0.0.1' }, () => resolve())
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0

  const setPaused = (p: boolean) => {
    paused = p
    for (const pair of pairs) if (pair.upstream) flow(pair.upstream, pair.client, !p)
  }
  const setUpPaused = (p: boolean) => {
    upPaused = p
    for (const pair of pairs) if (pair.upstream) flow(pair.client, pair.upstream, !p)
  }

  return {
    port,
    host: '127.0.0.1',
    url: (scheme = 'mqtt') => `${scheme}://127.0.0.1:${port}`,
    setMode: (m) => {
      mode = m
    },
    dropAll: () => {
      for (const pair of pairs) {
        pair.client.destroy()
        pair.upstream?.destroy()
      }
    },
    pauseDownstream: () => setPaused(true),
    resumeDownstream: () => setPaused(false),
    pauseUpstream: () => setUpPaused(true),
    resumeUpstream: () => setUpPaused(false),
    get accepted() {
      return accepted
    },
    get open() {
      return pairs.size
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const pair of pairs) {
          pair.client.destroy()
          pair.upstream?.destroy()
        }
        server.close(() => resolve())
      }),
  }
}

function flow(from: net.Socket, to: net.Socket, on: boolean): void {
  if (on) {
    from.pipe(to)
    from.resume()
  } else {
    from.unpipe(to)
    from.pause()
  }
}
