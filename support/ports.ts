// Test code asks the OS for ports: each suite's brokers live on their own port, never 1883.
export { ephemeralPort as getFreePort, findFreePort, isPortFree } from '../src/local/ports.js'
import net from 'node:net'

/** Polls until `host:port` accepts a TCP connection; rejects after `timeoutMs`. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host })
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`${host}:${port} did not accept connections within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
