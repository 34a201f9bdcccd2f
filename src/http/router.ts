/**
 * daprd's routing of the publish API (dapr/dapr pkg/api/http/server.go, middlewares.go):
 * chi routes on `path.Clean(EscapedPath)` (CleanPathMiddleware), so `//`, `.`, `..` and a
 * trailing `/` are resolved before matching; route parameters are then decoded with Go's
 * `url.QueryUnescape` (unescapeRequestParametersHandler), so `%2F` becomes `/` and `+` a space.
 */

export type RouteName = 'publish' | 'bulkPublish' | 'healthz' | 'healthzOutbound' | 'metadata'

export interface RouteMatch {
  name: RouteName
  /** Methods the route accepts. */
  methods: readonly string[]
  /** Still percent-encoded; decode with `queryUnescape`. Publish routes only. */
  rawPubsub?: string
  rawTopic?: string
}

const PUBLISH_METHODS = ['POST', 'PUT'] as const
const GET = ['GET'] as const

/** Go's `path.Clean`. */
export function goPathClean(p: string): string {
  if (p === '') return '.'
  const rooted = p.startsWith('/')
  const out: string[] = []
  for (const segment of p.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop()
      else if (!rooted) out.push('..')
      continue
    }
    out.push(segment)
  }
  const joined = out.join('/')
  if (rooted) return '/' + joined
  return joined === '' ? '.' : joined
}

export class UnescapeError extends Error {
  override name = 'UnescapeError'
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  if (code >= 65 && code <= 70) return code - 55
  if (code >= 97 && code <= 102) return code - 87
  return -1
}

const utf8Encoder = new TextEncoder()

/**
 * Go's `url.QueryUnescape` to bytes: `%XX` decoded, `+` is a space, a bad escape throws with
 * Go's text (`invalid URL escape "%zz"`). Characters outside ASCII are taken as UTF-8.
 */
export function queryUnescapeBytes(s: string): Buffer {
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i)
    if (code === 0x25 /* % */) {
      const hi = i + 1 < s.length ? hexValue(s.charCodeAt(i + 1)) : -1
      const lo = i + 2 < s.length ? hexValue(s.charCodeAt(i + 2)) : -1
      if (hi < 0 || lo < 0) {
        throw new UnescapeError(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`)
      }
      bytes.push(hi * 16 + lo)
      i += 2
    } else if (code === 0x2b /* + */) {
      bytes.push(0x20)
    } else if (code < 0x80) {
      bytes.push(code)
    } else {
      const cp = s.codePointAt(i) as number
      const ch = String.fromCodePoint(cp)
      if (cp > 0xffff) i++
      // A lone surrogate cannot be UTF-8: TextEncoder writes U+FFFD for it.
      for (const b of utf8Encoder.encode(ch)) bytes.push(b)
    }
  }
  return Buffer.from(bytes)
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })
const lenientUtf8 = new TextDecoder('utf-8')

/** `queryUnescapeBytes` as text; `null` when the bytes are not UTF-8 (`strict`) . */
export function queryUnescape(s: string, strict: true): string | null
export function queryUnescape(s: string, strict?: false): string
export function queryUnescape(s: string, strict = false): string | null {
  const bytes = queryUnescapeBytes(s)
  if (!strict) return lenientUtf8.decode(bytes)
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return null
  }
}

/**
 * The route for a request path (query already removed), or `undefined` when daprd has none
 * for it. `bulkPubsubExists` settles `/v1.0/publish/bulk/{x}`: chi matches it as a publish to
 * a pubsub named `bulk` (topic `x`) when the bulk route needs a topic it lacks; mqtt-fn does
 * so only when such a component exists, and otherwise reports the bulk request's empty topic.
 */
export function matchRoute(rawPath: string, bulkPubsubExists: (name: string) => boolean): RouteMatch | undefined {
  const cleaned = goPathClean(rawPath.startsWith('/') ? rawPath : '/' + rawPath)
  const segments = cleaned.split('/').slice(1)
  const [version, group, ...rest] = segments
  if (version === 'v1.0') {
    if (group === 'healthz' && rest.length === 0) return { name: 'healthz', methods: GET }
    if (group === 'healthz' && rest.length === 1 && rest[0] === 'outbound') return { name: 'healthzOutbound', methods: GET }
    if (group === 'metadata' && rest.length === 0) return { name: 'metadata', methods: GET }
    if (group === 'publish') {
      if (rest[0] === 'bulk' && rest.length >= 2 && !(rest.length === 2 && bulkPubsubExists('bulk'))) {
        return bulk(rest.slice(1))
      }
      return {
        name: 'publish',
        methods: PUBLISH_METHODS,
        rawPubsub: rest[0] ?? '',
        rawTopic: rest.slice(1).join('/'),
      }
    }
  }
  if (version === 'v1.0-alpha1' && group === 'publish' && rest[0] === 'bulk') return bulk(rest.slice(1))
  return undefined
}

function bulk(rest: string[]): RouteMatch {
  return { name: 'bulkPublish', methods: PUBLISH_METHODS, rawPubsub: rest[0] ?? '', rawTopic: rest.slice(1).join('/') }
}

/**
 * daprd's `isRouteExcludedFromAPITokenAuth`: GET on `v1.0/healthz` and `v1.0/healthz/outbound`
 * after trimming `/` from the decoded path (not cleaned: `/v1.0//healthz` still needs the token).
 */
export function isExcludedFromApiToken(method: string, rawPath: string): boolean {
  if (method !== 'GET') return false
  let decoded: string
  try {
    decoded = decodeURIComponent(rawPath)
  } catch {
    return false
  }
  const trimmed = decoded.replace(/^\/+|\/+$/g, '')
  return trimmed === 'v1.0/healthz' || trimmed === 'v1.0/healthz/outbound'
}
