/**
 * The Go parsers daprd applies to publish metadata, ported for exact accept/reject behaviour:
 * `strconv.ParseBool` (rawPayload), `strconv.ParseInt(s, 10, 64)` and `time.ParseDuration` (TTL).
 * Durations and integers are bigint nanoseconds / values, because Go's are int64.
 */

const INT64_MAX = (1n << 63n) - 1n
const INT64_MIN = -(1n << 63n)
const UINT63 = 1n << 63n

/** `strconv.ParseBool`: the twelve spellings Go accepts, `undefined` for anything else. */
export function parseGoBool(s: string): boolean | undefined {
  switch (s) {
    case '1':
    case 't':
    case 'T':
    case 'TRUE':
    case 'true':
    case 'True':
      return true
    case '0':
    case 'f':
    case 'F':
    case 'FALSE':
    case 'false':
    case 'False':
      return false
    default:
      return undefined
  }
}

/**
 * `strconv.ParseInt(s, 10, 64)`: optional sign, ASCII digits only (no underscores with an
 * explicit base), within int64. `undefined` where Go returns an error.
 */
export function parseGoInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined
  const v = BigInt(s)
  return v > INT64_MAX || v < INT64_MIN ? undefined : v
}

const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  '\u00b5s': 1_000n, // U+00B5 micro sign
  '\u03bcs': 1_000n, // U+03BC Greek small letter mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
}

/**
 * `time.ParseDuration`: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+` with units ns, us, µs, μs, ms, s,
 * m, h, or the bare `0`. Returns int64 nanoseconds, or `undefined` where Go returns an error
 * (including overflow). Fractions are computed in float64 as Go does.
 */
export function parseGoDuration(input: string): bigint | undefined {
  let s = input
  let neg = false
  if (s !== '') {
    const c = s[0]
    if (c === '-' || c === '+') {
      neg = c === '-'
      s = s.slice(1)
    }
  }
  if (s === '0') return 0n
  if (s === '') return undefined
  let d = 0n
  while (s !== '') {
    let v = 0n
    let f = 0n
    let scale = 1
    const c0 = s[0]!
    if (!(c0 === '.' || (c0 >= '0' && c0 <= '9'))) return undefined
    // leadingInt
    let i = 0
    for (; i < s.length; i++) {
      const c = s[i]!
      if (c < '0' || c > '9') break
      if (v > UINT63 / 10n) return undefined
      v = v * 10n + BigInt(c.charCodeAt(0) - 48)
      if (v > UINT63) return undefined
    }
    const pre = i > 0
    s = s.slice(i)
    let post = false
    if (s !== '' && s[0] === '.') {
      s = s.slice(1)
      // leadingFraction: stops accumulating precision on overflow instead of failing
      let j = 0
      let overflow = false
      for (; j < s.length; j++) {
        const c = s[j]!
        if (c < '0' || c > '9') break
        if (overflow) continue
        if (f > INT64_MAX / 10n) {
          overflow = true
          continue
        }
        const y = f * 10n + BigInt(c.charCodeAt(0) - 48)
        if (y > UINT63) {
          overflow = true
          continue
        }
        f = y
        scale *= 10
      }
      post = j > 0
      s = s.slice(j)
    }
    if (!pre && !post) return undefined
    let k = 0
    for (; k < s.length; k++) {
      const c = s[k]!
      if (c === '.' || (c >= '0' && c <= '9')) break
    }
    if (k === 0) return undefined
    const unit = UNITS[s.slice(0, k)]
    s = s.slice(k)
    if (unit === undefined) return undefined
    if (v > UINT63 / unit) return undefined
    v *= unit
    if (f > 0n) {
      // uint64(float64(f) * (float64(unit) / scale)), truncated toward zero
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)))
      if (v > UINT63) return undefined
    }
    d += v
    if (d > UINT63) return undefined
  }
  if (neg) return -d
  if (d > INT64_MAX) return undefined
  return d
}
