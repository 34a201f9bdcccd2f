import net from 'node:net'

/** Resolves true when `port` can be bound on `host` right now. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.unref()
    server.once('error', () => resolve(false))
    // `exclusive` so a port held by another process in a cluster is not reported as free.
    server.listen({ port, host, exclusive: true }, () => {
      server.close(() => resolve(true))
    })
  })
}

/** A port the OS picked as free on `host` (bind to 0, read it back, release it). */
export function ephemeralPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error(`no free port on ${host}`))))
    })
  })
}

/**
 * `preferred` when it is free, else the next free port above it (the dev command asks for
 * 1883 / 3500 and takes the next one when a broker or another dev run already holds it).
 * Without `preferred` (or 0): any free port. The port is free when checked; a caller that
 * binds later can still lose a race, which is why servers that can should bind to 0.
 */
export async function findFreePort(preferred?: number, host = '127.0.0.1'): Promise<number> {
  if (preferred === undefined || preferred === 0) return ephemeralPort(host)
  if (!Number.isInteger(preferred) || preferred < 1 || preferred > 65535) {
    throw new RangeError(`port ${preferred} is not an integer between 1 and 65535`)
  }
  // A bounded scan: past 100 busy ports something else is wrong, and any free port will do.
  for (let port = preferred; port <= Math.min(65535, preferred + 100); port++) {
    if (await isPortFree(port, host)) return port
  }
  return ephemeralPort(host)
}
