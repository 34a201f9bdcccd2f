/**
 * The routing of the publish API. daprd (dapr/dapr pkg/api/http/server.go, middlewares.go)
 * routes on `path.Clean(EscapedPath)` (CleanPathMiddleware) and decodes route parameters with
 * `url.QueryUnescape` (unescapeRequestParametersHandler), which turns `a//b`, `/lead` and
 * `trail/` into `a/b`, `lead` and `trail` and `+` into a space: different MQTT topics from the
 * ones the path names. mqtt-fn, on purpose:
 * - reads the topic of a publish route from the raw path: everything after the `/` that ends
 *   the pubsub segment, empty levels, leading and trailing `/`, `.` and `..` levels kept;
 * - decodes the pubsub name and the topic with Go's `url.PathUnescape` (`%XX` only; `+` stays
 *   `+`, so it is the wildcard 400), as the README says;
 * - cleans the route part before the topic as daprd does: empty and `.` segments there are
 *   skipped, and a path with `..` before the pubsub name is routed on `path.Clean` as a whole.
 * Routes without a topic (healthz, metadata) are matched on `path.Clean` as in daprd.
 */
import { UnescapeError } from './errors.js'

export type RouteName = 'publish' | 'bulkPublish' | 'healthz' | 'healthzOutbound' | 'metadata'

export interface RouteMatch {
  name: RouteName
  /** Methods the route accepts. */
  methods: readonly string[]
  /** Still percent-encoded; decode with `pathUnescape`. Publish routes only. */
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

export { UnescapeError }

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  if (code >= 65 && code <= 70) return code - 55
  if (code >= 97 && code <= 102) return code - 87
  return -1
}

const utf8Encoder = new TextEncoder()

/**
 * Go's `url.QueryUnescape` (`plusIsSpace`) or `url.PathUnescape` to bytes: `%XX` decoded, a
 * bad escape throws with Go's text (`invalid URL escape "%zz"`). Characters outside ASCII are
 * taken as UTF-8.
 */
function unescapeBytes(s: string, plusIsSpace: boolean): Buffer {
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
    } else if (code === 0x2b /* + */ && plusIsSpace) {
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

/** Go's `url.QueryUnescape` to bytes: `+` is a space. */
export function queryUnescapeBytes(s: string): Buffer {
  return unescapeBytes(s, true)
}

/** Go's `url.PathUnescape` to bytes: only `%XX` is decoded, `+` stays `+`. */
export function pathUnescapeBytes(s: string): Buffer {
  return unescapeBytes(s, false)
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })
const lenientUtf8 = new TextDecoder('utf-8')

function decodeText(bytes: Buffer, strict: boolean): string | null {
  if (!strict) return lenientUtf8.decode(bytes)
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return null
  }
}

/** `queryUnescapeBytes` as text; `null` when the bytes are not UTF-8 (`strict`) . */
export function queryUnescape(s: string, strict: true): string | null
export function queryUnescape(s: string, strict?: false): string
export function queryUnescape(s: string, strict = false): string | null {
  return decodeText(queryUnescapeBytes(s), strict)
}

/** `pathUnescapeBytes` as text; `null` when the bytes are not UTF-8 (`strict`). */
export function pathUnescape(s: string, strict: true): string | null
export function pathUnescape(s: string, strict?: false): string
export function pathUnescape(s: string, strict = false): string | null {
  // ASCII without `%` decodes to itself: most pubsub names and topics, on every request.
  if (PLAIN_ASCII.test(s)) return s
  return decodeText(pathUnescapeBytes(s), strict)
}

const PLAIN_ASCII = /^[\x00-\x24\x26-\x7f]*$/

/**
 * The route for a request path (query already removed), or `undefined` when daprd has none
 * for it. `bulkPubsubExists` settles `/v1.0/publish/bulk/{x}`: chi matches it as a publish to
 * a pubsub named `bulk` (topic `x`) when the bulk route needs a topic it lacks; mqtt-fn does
 * so only when such a component exists, and otherwise reports the bulk request's empty topic.
 */
export function matchRoute(rawPath: string, bulkPubsubExists: (name: string) => boolean): RouteMatch | undefined {
  const rooted = rawPath.startsWith('/') ? rawPath : '/' + rawPath
  const raw = matchPublishRaw(rooted, bulkPubsubExists)
  if (raw !== DOT_DOT && raw !== undefined) return raw
  return matchCleaned(goPathClean(rooted), bulkPubsubExists)
}

/** daprd's routing: on the cleaned path, the topic joined from the segments left. */
function matchCleaned(cleaned: string, bulkPubsubExists: (name: string) => boolean): RouteMatch | undefined {
  const segments = cleaned.split('/').slice(1)
  const [version, group, ...rest] = segments
  if (version === 'v1.0') {
    if (group === 'healthz' && rest.length === 0) return { name: 'healthz', methods: GET }
    if (group === 'healthz' && rest.length === 1 && rest[0] === 'outbound') return { name: 'healthzOutbound', methods: GET }
    if (group === 'metadata' && rest.length === 0) return { name: 'metadata', methods: GET }
    if (group === 'publish') {
      if (rest[0] === 'bulk' && rest.length >= 2 && !(rest.length === 2 && bulkPubsubExists('bulk'))) {
        return bulk(rest[1] ?? '', rest.slice(2).join('/'))
      }
      return publish(rest[0] ?? '', rest.slice(1).join('/'))
    }
  }
  if (version === 'v1.0-alpha1' && group === 'publish' && rest[0] === 'bulk') return bulk(rest[1] ?? '', rest.slice(2).join('/'))
  return undefined
}

const DOT_DOT = Symbol('dot-dot before the pubsub name')

interface Segment {
  text: string
  /** Index just past the segment: the `/` that ends it, or the path's length. */
  end: number
}

/**
 * The next route segment from `from` on, skipping empty and `.` segments as `path.Clean`
 * would; undefined at the end of the path.
 */
function nextSegment(path: string, from: number): Segment | undefined {
  let pos = from
  for (;;) {
    while (pos < path.length && path.charCodeAt(pos) === 0x2f /* / */) pos++
    if (pos >= path.length) return undefined
    const slash = path.indexOf('/', pos)
    const end = slash < 0 ? path.length : slash
    const text = path.slice(pos, end)
    if (text !== '.') return { text, end }
    pos = end
  }
}

/** The raw topic after a segment: everything past the `/` that ends it. */
function topicAfter(path: string, segment: Segment): string {
  return segment.end < path.length ? path.slice(segment.end + 1) : ''
}

/**
 * A publish or bulk publish route read from the raw path, its topic exactly as written;
 * undefined when the path is no publish route, DOT_DOT when a `..` comes before the pubsub name.
 */
function matchPublishRaw(path: string, bulkPubsubExists: (name: string) => boolean): RouteMatch | undefined | typeof DOT_DOT {
  const segments: Segment[] = []
  const take = (): Segment | undefined | typeof DOT_DOT => {
    const s = nextSegment(path, segments.length === 0 ? 0 : segments[segments.length - 1]!.end)
    if (s === undefined) return undefined
    if (s.text === '..') return DOT_DOT
    segments.push(s)
    return s
  }
  const version = take()
  if (version === undefined || version === DOT_DOT) return version
  if (version.text !== 'v1.0' && version.text !== 'v1.0-alpha1') return undefined
  const group = take()
  if (group === undefined || group === DOT_DOT) return group
  if (group.text !== 'publish') return undefined
  const first = take()
  if (first === DOT_DOT) return DOT_DOT
  if (version.text === 'v1.0-alpha1') {
    if (first === undefined || first.text !== 'bulk') return undefined
    const pubsub = take()
    if (pubsub === DOT_DOT) return DOT_DOT
    return pubsub === undefined ? bulk('', '') : bulk(pubsub.text, topicAfter(path, pubsub))
  }
  if (first === undefined) return publish('', '')
  if (first.text === 'bulk') {
    const pubsub = take()
    if (pubsub === DOT_DOT) return DOT_DOT
    if (pubsub !== undefined) {
      const topic = topicAfter(path, pubsub)
      // chi backtracks to the publish route when the bulk one lacks its topic.
      if (topic !== '' || !bulkPubsubExists('bulk')) return bulk(pubsub.text, topic)
    }
  }
  return publish(first.text, topicAfter(path, first))
}

function publish(rawPubsub: string, rawTopic: string): RouteMatch {
  return { name: 'publish', methods: PUBLISH_METHODS, rawPubsub, rawTopic }
}

function bulk(rawPubsub: string, rawTopic: string): RouteMatch {
  return { name: 'bulkPublish', methods: PUBLISH_METHODS, rawPubsub, rawTopic }
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
