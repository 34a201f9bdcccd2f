/**
 * Platforms disagree on whether the request path they hand over is still percent-encoded:
 * Lambda Function URLs, API Gateway REST APIs and Azure keep it encoded; API Gateway HTTP
 * APIs decode it (payload 1.0 `path` and 2.0 `rawPath` alike). `ApiRequest.path` is always
 * encoded, so this escapes only what can never appear literally in an encoded path: an encoded
 * path passes through byte for byte, a decoded one becomes a valid encoded path (a decoded `/`
 * stays a separator, which names the same Dapr topic).
 */
export function toEncodedPath(path: string): string {
  let out = ''
  for (let i = 0; i < path.length; i++) {
    const ch = path[i] as string
    if (ch === '%') {
      out += isHex(path.charCodeAt(i + 1)) && isHex(path.charCodeAt(i + 2)) ? '%' : '%25'
    } else if (PATH_SAFE.test(ch)) {
      out += ch
    } else {
      const code = path.codePointAt(i) as number
      const char = String.fromCodePoint(code)
      if (code > 0xffff) i++
      // A lone surrogate cannot be UTF-8 encoded: replace it as TextEncoder would.
      out += isLoneSurrogate(code) ? '%EF%BF%BD' : encodeURIComponent(char)
    }
  }
  return out
}

/** RFC 3986 `pchar` and `/`, without `%` (handled above). */
const PATH_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]$/

function isHex(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 70) || (code >= 97 && code <= 102)
}

function isLoneSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdfff
}

/**
 * Removes a leading `/{prefix}` (API Gateway stage, custom-domain base path) when the path
 * starts with it as a whole segment. `$default` and empty prefixes are not stripped.
 */
export function stripPathPrefix(path: string, prefix: string | undefined): string {
  if (!prefix || prefix === '$default') return path
  const p = '/' + prefix.replace(/^\/+|\/+$/g, '')
  if (p === '/') return path
  if (path === p) return '/'
  return path.startsWith(p + '/') ? path.slice(p.length) : path
}
