import { isUtf8 } from 'node:buffer'

/**
 * Go strings are bytes; JS strings are UTF-16. These helpers carry the difference that
 * reaches the wire: Go treats each byte of an invalid UTF-8 sequence on its own
 * (`utf8.DecodeRune` returns `(RuneError, 1)`), where TextDecoder replaces a whole
 * maximal subpart with one U+FFFD.
 *
 * Convention ("surrogate escape"): an invalid byte 0x80..0xFF that must survive as
 * invalid is held as the lone low surrogate U+DC80..U+DCFF. Lone low surrogates never
 * pair with what precedes them here, and `goMarshal` writes every lone surrogate as
 * `\ufffd`, as Go writes every invalid byte.
 */

const REPLACEMENT = 0xfffd

/**
 * `string(bytes)` as Go sees it: valid sequences decoded, each invalid byte kept as a
 * surrogate escape so that `goMarshal` writes one `\ufffd` per byte, as Go does.
 */
export function decodeGoString(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return decodeUtf8(bytes, start, end, true)
}

/**
 * Bytes decoded as Go's JSON decoder decodes string contents: each invalid byte becomes
 * a real U+FFFD (which Go later writes raw, not as an escape).
 */
export function decodeUtf8Replacing(bytes: Uint8Array, start = 0, end = bytes.length): string {
  return decodeUtf8(bytes, start, end, false)
}

function decodeUtf8(bytes: Uint8Array, start: number, end: number, escape: boolean): string {
  const view = bytes.subarray(start, end)
  if (isUtf8(view)) return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('utf8')
  const units: number[] = []
  let out = ''
  let i = start
  while (i < end) {
    const b0 = bytes[i]!
    if (b0 < 0x80) {
      units.push(b0)
      i++
    } else {
      const size = validSequenceLength(bytes, i, end)
      if (size === 0) {
        units.push(escape ? 0xdc00 + b0 : REPLACEMENT)
        i++
      } else {
        let cp: number
        if (size === 2) cp = ((b0 & 0x1f) << 6) | (bytes[i + 1]! & 0x3f)
        else if (size === 3) cp = ((b0 & 0x0f) << 12) | ((bytes[i + 1]! & 0x3f) << 6) | (bytes[i + 2]! & 0x3f)
        else
          cp =
            ((b0 & 0x07) << 18) | ((bytes[i + 1]! & 0x3f) << 12) | ((bytes[i + 2]! & 0x3f) << 6) | (bytes[i + 3]! & 0x3f)
        if (cp >= 0x10000) {
          cp -= 0x10000
          units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff))
        } else {
          units.push(cp)
        }
        i += size
      }
    }
    // String.fromCharCode takes its arguments on the stack; flush in chunks.
    if (units.length > 8192) {
      out += String.fromCharCode(...units)
      units.length = 0
    }
  }
  return out + String.fromCharCode(...units)
}

/**
 * Length of the well-formed UTF-8 sequence starting at `i`, or 0 when Go's
 * `utf8.DecodeRune` would return `(RuneError, 1)` there (the accept ranges of Go's
 * `unicode/utf8`: no overlongs, no surrogates, nothing above U+10FFFF).
 */
function validSequenceLength(bytes: Uint8Array, i: number, end: number): number {
  const b0 = bytes[i]!
  let size: number
  let lo = 0x80
  let hi = 0xbf
  if (b0 >= 0xc2 && b0 <= 0xdf) size = 2
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    size = 3
    if (b0 === 0xe0) lo = 0xa0
    else if (b0 === 0xed) hi = 0x9f
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    size = 4
    if (b0 === 0xf0) lo = 0x90
    else if (b0 === 0xf4) hi = 0x8f
  } else return 0
  if (i + size > end) return 0
  const b1 = bytes[i + 1]!
  if (b1 < lo || b1 > hi) return 0
  for (let k = 2; k < size; k++) {
    const b = bytes[i + k]!
    if (b < 0x80 || b > 0xbf) return 0
  }
  return size
}

/**
 * The bytes a JS string stands for in Go: UTF-8, with surrogate escapes turned back into
 * their byte and any other lone surrogate as U+FFFD. Used to sort map keys as Go does.
 */
export function goStringBytes(s: string): Buffer {
  if (!/[\ud800-\udfff]/.test(s)) return Buffer.from(s, 'utf8')
  const parts: number[] = []
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        for (const b of Buffer.from(s.slice(i, i + 2), 'utf8')) parts.push(b)
        i++
        continue
      }
    }
    if (c >= 0xdc80 && c <= 0xdcff) parts.push(c - 0xdc00)
    else if (c >= 0xd800 && c <= 0xdfff) parts.push(0xef, 0xbf, 0xbd)
    else for (const b of Buffer.from(s[i]!, 'utf8')) parts.push(b)
  }
  return Buffer.from(parts)
}

/**
 * Go's `strings.Compare` on the Go bytes of two strings. UTF-16 code-unit order already
 * equals UTF-8 byte order except around surrogates, so the common case needs no encoding.
 */
export function compareGoStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x === y) continue
    if ((x >= 0xd800 && x <= 0xdfff) || (y >= 0xd800 && y <= 0xdfff)) {
      return Buffer.compare(goStringBytes(a), goStringBytes(b))
    }
    return x - y
  }
  return a.length - b.length
}

/**
 * Go's `strings.ToLower`: simple (one-to-one) case mapping per code point. JS
 * `toLowerCase` uses full mapping and context (final sigma, `İ` to two code points).
 */
export function goToLower(s: string): string {
  // ASCII is by far the common case and maps the same in both.
  if (/^[\x00-\x7f]*$/.test(s)) return s.toLowerCase()
  let out = ''
  for (const ch of s) {
    if (ch === '\u0130') {
      out += 'i'
      continue
    }
    const lower = ch.toLowerCase()
    out += [...lower].length === 1 ? lower : ch
  }
  return out
}

/**
 * Go's `strings.EqualFold(s, target)` for an ASCII-only `target`: the simple case-folding
 * orbits of ASCII letters include U+017F (long s) for s and U+212A (Kelvin sign) for k.
 */
export function goEqualFoldAscii(s: string, target: string): boolean {
  let j = 0
  for (const ch of s) {
    if (j >= target.length) return false
    const t = target[j++]!
    if (ch === t) continue
    const lower = ch.length === 1 && ch < '\x80' ? ch.toLowerCase() : ch === '\u017f' ? 's' : ch === '\u212a' ? 'k' : ch
    if (lower !== t.toLowerCase()) return false
  }
  return j === target.length
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g')

/** True when `s` is not well-formed UTF-16 (String.prototype.isWellFormed is ES2024). */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s)
}

/** Every lone surrogate replaced by U+FFFD (String.prototype.toWellFormed). */
export function replaceLoneSurrogates(s: string): string {
  return s.replace(LONE_SURROGATES, '\ufffd')
}
