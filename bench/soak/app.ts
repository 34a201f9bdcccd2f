/**
 * The soak's HTTP app on loopback: what the forwarder delivers to. It keeps no request log
 * (100,000 deliveries would be hundreds of MB here); `decide` says how to answer each one and
 * `onAnswer` is told right before the answer is written, which is what makes "the app had
 * answered SUCCESS before the PUBACK reached the broker" checkable. An answer to a connection
 * the forwarder already gave up on (its request timeout, a SIGKILL) is reported as unheard:
 * the forwarder never learns of it, so it must not count as accepted.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'

export interface SoakReply {
  status: number
  body?: string
  /** Answer after this long. */
  delayMs?: number
  /** Destroy the socket instead of answering (after `delayMs`). */
  hangUp?: boolean
}

export interface SoakApp {
  url: string
  close(): Promise<void>
}

export async function startSoakApp<R extends SoakReply>(
  decide: (path: string, event: unknown) => R,
  onAnswer: (event: unknown, reply: R, heard: boolean) => void,
): Promise<SoakApp> {
  const timers = new Set<NodeJS.Timeout>()
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      let event: unknown
      try {
        event = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      } catch {
        // not JSON: decide() sees undefined
      }
      const path = req.url ?? ''
      const reply = decide(path, event)
      const answer = () => {
        onAnswer(event, reply, !req.socket.destroyed)
        if (reply.hangUp) {
          req.socket.destroy()
          return
        }
        res.writeHead(reply.status, { 'content-type': 'application/json' })
        res.end(reply.body ?? '')
      }
      if (!reply.delayMs) return answer()
      const timer = setTimeout(() => {
        timers.delete(timer)
        answer()
      }, reply.delayMs)
      timers.add(timer)
    })
  })
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t)
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
