import http from 'node:http'

export interface HttpResult {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
  /** Local port of the socket used: equal across requests when a keep-alive connection was reused. */
  localPort: number | undefined
}

export interface HttpCall {
  method?: string
  headers?: Record<string, string>
  body?: string | Buffer
  agent?: http.Agent
}

/** One request over node:http (a real TCP connection on loopback). */
export function httpCall(url: string, call: HttpCall = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: call.method ?? 'POST', headers: call.headers, agent: call.agent ?? false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          localPort: req.socket?.localPort,
        }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(call.body)
  })
}
