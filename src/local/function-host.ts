/**
 * Runs the Lambda handlers of a folder (`mqtt-fn dev`: examples/functions/) locally the way the platform runs them:
 * - `POST /2015-03-31/functions/{name}/invocations` is Lambda's own Invoke API, so the forwarder's
 *   `lambda:NAME` routes reach them through the real AWS SDK (AWS_ENDPOINT_URL_LAMBDA);
 * - any other `/{name}/...` request becomes a Function URL event (payload 2.0), so an HTTP route
 *   on `--app-url` reaches them as an HTTP function.
 * A handler module is imported on first use and again after its file changes.
 */
import { randomUUID } from 'node:crypto'
import { readdir, stat } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { resolveOwnPackage } from './package-resolution.js'
import { cloudEventId } from './trace.js'
import { TimeoutError } from '../core/errors.js'
import { withTimeout as boundedBy } from '../core/timeout.js'

export type LambdaHandler = (event: unknown, context: LambdaLikeContext) => unknown

export interface LambdaLikeContext {
  functionName: string
  functionVersion: string
  invokedFunctionArn: string
  memoryLimitInMB: string
  awsRequestId: string
  logGroupName: string
  logStreamName: string
  callbackWaitsForEmptyEventLoop: boolean
  getRemainingTimeInMillis(): number
}

/** What the function host reports per invocation (the dev trace prints it). */
export interface InvocationRecord {
  name: string
  via: 'invoke' | 'function-url'
  ms: number
  ok: boolean
  /** HTTP status (function URL) or 200 / `FunctionError` (invoke). */
  result: string
  /** The CloudEvent id when the payload is one. */
  eventId?: string
  error?: string
}

export interface FunctionHostOptions {
  /** Folder with one handler module per function (`NAME.ts` exporting `handler`). */
  dir: string
  port?: number
  host?: string
  /** Per invocation, like the platform's timeout. Default 30 s. */
  timeoutMs?: number
  onInvocation?: (record: InvocationRecord) => void
}

export interface FunctionHost {
  url: string
  port: number
  /** Function names found in `dir` now. */
  list(): Promise<string[]>
  close(): Promise<void>
}

const HANDLER_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs']
const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/

async function findModule(dir: string, name: string): Promise<string | undefined> {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) return undefined
  for (const ext of HANDLER_EXTENSIONS) {
    const file = path.join(dir, name + ext)
    try {
      if ((await stat(file)).isFile()) return file
    } catch {
      // try the next extension
    }
  }
  return undefined
}

async function loadHandler(file: string): Promise<LambdaHandler> {
  // The query busts Node's module cache, so an edited function is picked up without a restart.
  const { mtimeMs } = await stat(file)
  const mod = (await import(`${pathToFileURL(file).href}?v=${mtimeMs}`)) as { handler?: unknown }
  if (typeof mod.handler !== 'function') throw new Error(`${path.basename(file)} does not export a handler function`)
  return mod.handler as LambdaHandler
}

function context(name: string, timeoutMs: number): LambdaLikeContext {
  const deadline = Date.now() + timeoutMs
  return {
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${name}`,
    memoryLimitInMB: '128',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  }
}

/** Lambda's own words when a handler runs past its timeout. */
function withTimeout<T>(work: Promise<T>, ms: number, name: string): Promise<T> {
  return boundedBy(work, ms, name).catch((err: unknown) => {
    throw err instanceof TimeoutError ? new Error(`Task timed out after ${(ms / 1000).toFixed(2)} seconds (${name})`) : err
  })
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

/** A Function URL request event (payload format 2.0) for a request on the local host. */
function functionUrlEvent(req: http.IncomingMessage, url: URL, body: Buffer, stripPrefix: string) {
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v
  const rawPath = url.pathname.slice(stripPrefix.length) || '/'
  const textual = /^(text\/|application\/(json|.*\+json|xml|x-www-form-urlencoded))/i.test(headers['content-type'] ?? '')
  const query: Record<string, string> = {}
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: url.search.slice(1),
    headers,
    ...(url.search ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'anonymous',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: { method: req.method ?? 'GET', path: rawPath, protocol: 'HTTP/1.1', sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(body.length > 0 ? { body: textual ? body.toString('utf8') : body.toString('base64'), isBase64Encoded: !textual } : { isBase64Encoded: false }),
  }
}

/** The Function URL response rules: an object with statusCode is a response, anything else is a JSON 200. */
function functionUrlResponse(result: unknown): { status: number; headers: Record<string, string>; body: Buffer } {
  if (result && typeof result === 'object' && 'statusCode' in result) {
    const r = result as { statusCode?: number; headers?: Record<string, string>; body?: string; isBase64Encoded?: boolean }
    const body = r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body, r.isBase64Encoded ? 'base64' : 'utf8')
    return { status: r.statusCode ?? 200, headers: { ...(r.headers ?? {}) }, body }
  }
  if (result === undefined || result === null) return { status: 200, headers: {}, body: Buffer.alloc(0) }
  const text = typeof result === 'string' ? result : JSON.stringify(result)
  return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(text) }
}

export async function startFunctionHost(options: FunctionHostOptions): Promise<FunctionHost> {
  resolveOwnPackage()
  const timeoutMs = options.timeoutMs ?? 30_000
  const report = options.onInvocation ?? (() => {})

  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://local')
      const body = await readBody(req)
      const invoke = INVOKE_PATH.exec(url.pathname)
      const name = invoke ? decodeURIComponent(invoke[1] ?? '') : (url.pathname.split('/')[1] ?? '')
      const file = await findModule(options.dir, name)
      if (!file) {
        res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' })
        res.end(JSON.stringify({ Type: 'User', message: `Function not found: ${name} (no ${name}.ts in ${options.dir})` }))
        return
      }
      const eventId = cloudEventId(body)
      const started = performance.now()
      const done = (ok: boolean, result: string, error?: string) =>
        report({ name, via: invoke ? 'invoke' : 'function-url', ms: performance.now() - started, ok, result, ...(eventId ? { eventId } : {}), ...(error ? { error } : {}) })
      try {
        const handler = await loadHandler(file)
        if (invoke) {
          const event: unknown = body.length ? JSON.parse(body.toString('utf8')) : {}
          const result = await withTimeout(Promise.resolve(handler(event, context(name, timeoutMs))), timeoutMs, name)
          res.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' })
          res.end(result === undefined ? 'null' : JSON.stringify(result))
          done(true, '200')
        } else {
          const event = functionUrlEvent(req, url, body, `/${name}`)
          const out = functionUrlResponse(await withTimeout(Promise.resolve(handler(event, context(name, timeoutMs))), timeoutMs, name))
          res.writeHead(out.status, out.headers)
          res.end(out.body)
          done(out.status < 300, `HTTP ${out.status}${out.body.length && out.body.length < 200 ? ` ${out.body.toString('utf8')}` : ''}`)
        }
      } catch (error) {
        const e = error as Error
        if (invoke) {
          // What Lambda answers for a function that threw: 200 with X-Amz-Function-Error.
          res.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '$LATEST' })
          res.end(JSON.stringify({ errorType: e.name ?? 'Error', errorMessage: e.message, trace: (e.stack ?? '').split('\n') }))
        } else {
          res.writeHead(502, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ message: 'Internal Server Error' }))
        }
        done(false, invoke ? 'FunctionError Unhandled' : 'HTTP 502', e.message)
      }
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500)
      res.end(String(error))
    })
  })
  server.keepAliveTimeout = 65_000

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const host = options.host ?? '127.0.0.1'

  return {
    url: `http://${host}:${port}`,
    port,
    async list() {
      const entries = await readdir(options.dir).catch(() => [])
      return entries
        .filter((f) => HANDLER_EXTENSIONS.includes(path.extname(f)) && !f.endsWith('.d.ts'))
        .map((f) => f.slice(0, -path.extname(f).length))
        .sort()
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    },
  }
}
