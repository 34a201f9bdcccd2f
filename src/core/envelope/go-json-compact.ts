import { isUtf8 } from 'node:buffer'

/**
 * The fast path for a JSON `data` body: daprd decodes it (`UseNumber`) and `json.Marshal`
 * writes it again, which for most bodies gives back exactly the bytes that came in. When this
 * can prove that, it returns the body as a string and the value tree is never built; whenever
 * it cannot, it returns undefined and the caller takes the full path (decode, then goMarshal),
 * which decides every case. So each rule here only has to be sufficient, never complete:
 *
 * - valid UTF-8 throughout (Go would turn invalid bytes into U+FFFD);
 * - no whitespace outside strings, and nothing after the first value (Go writes neither);
 * - strings without `<` `>` `&`, U+2028, U+2029 (Go escapes them) and without escapes other
 *   than the short ones Go writes the same way: `\"` `\\` `\b` `\f` `\n` `\r` `\t`
 *   (`\/` and `\u....` are written differently);
 * - object keys without any escape (their decoded bytes would sort differently from the raw
 *   ones) and no duplicates (Go keeps one); members out of Go's order (bytes) are put in it,
 *   each written as it came;
 * - numbers in the JSON grammar (kept as their literal under `UseNumber`);
 * - nesting well below Go's limit of 10000.
 */

/** Far below Go's maxNestingDepth (10000): deeper bodies go the full path, which knows the limit. */
const MAX_FAST_DEPTH = 512

/** The start and end of the last key seen in each open object; reused across calls (never re-entered). */
const keyStart = new Int32Array(MAX_FAST_DEPTH + 1)
const keyEnd = new Int32Array(MAX_FAST_DEPTH + 1)
/** 1 for an open object, 0 for an open array, per depth. */
const isObject = new Uint8Array(MAX_FAST_DEPTH + 1)

/** Set by scanValue when some object's keys are not in Go's order. */
let unsorted = false

/**
 * The body as Go would re-encode it, when that is provably the body itself (or the body with
 * object members reordered); else undefined.
 */
export function goCompactJsonAsIs(bytes: Uint8Array): string | undefined {
  const n = bytes.length
  if (n === 0 || !isUtf8(bytes)) return undefined
  unsorted = false
  const end = scanValue(bytes, n)
  if (end !== n) return undefined
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, n)
  const text = buf.toString('utf8')
  if (!unsorted) return text
  // As many UTF-16 units as bytes: ASCII only, so string indices are byte offsets.
  const slice = text.length === n ? (s: number, e: number): string => text.slice(s, e) : (s: number, e: number): string => buf.toString('utf8', s, e)
  const sorted = emitSorted(bytes, 0, slice)
  return sorted !== undefined && emitEnd === n ? sorted : undefined
}

/** Where the value starting at 0 ends, or -1 when the fast path cannot vouch for it. */
function scanValue(b: Uint8Array, n: number): number {
  let depth = 0
  let pos = 0
  // After a value: close containers or move to the next element.
  for (;;) {
    if (pos >= n) return -1
    let c = b[pos]!
    // One value at pos.
    if (c === 0x7b || c === 0x5b) {
      if (depth >= MAX_FAST_DEPTH) return -1
      depth++
      pos++
      if (pos >= n) return -1
      if (c === 0x7b) {
        isObject[depth] = 1
        keyStart[depth] = -1
        if (b[pos] === 0x7d) {
          pos++
        } else {
          pos = scanKey(b, n, pos, depth)
          if (pos < 0) return -1
          continue
        }
      } else {
        isObject[depth] = 0
        if (b[pos] === 0x5d) {
          pos++
        } else {
          continue
        }
      }
      depth--
    } else if (c === 0x22) {
      pos = scanString(b, n, pos)
      if (pos < 0) return -1
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      pos = scanNumber(b, n, pos)
      if (pos < 0) return -1
    } else if (c === 0x74) {
      if (pos + 4 > n || b[pos + 1] !== 0x72 || b[pos + 2] !== 0x75 || b[pos + 3] !== 0x65) return -1
      pos += 4
    } else if (c === 0x66) {
      if (pos + 5 > n || b[pos + 1] !== 0x61 || b[pos + 2] !== 0x6c || b[pos + 3] !== 0x73 || b[pos + 4] !== 0x65) return -1
      pos += 5
    } else if (c === 0x6e) {
      if (pos + 4 > n || b[pos + 1] !== 0x75 || b[pos + 2] !== 0x6c || b[pos + 3] !== 0x6c) return -1
      pos += 4
    } else {
      return -1
    }
    // The value is complete: close what ends here, or go on to the next element.
    for (;;) {
      if (depth === 0) return pos
      if (pos >= n) return -1
      c = b[pos]!
      if (c === 0x2c) {
        pos++
        if (isObject[depth] === 1) {
          pos = scanKey(b, n, pos, depth)
          if (pos < 0) return -1
        }
        break
      }
      if (c === (isObject[depth] === 1 ? 0x7d : 0x5d)) {
        pos++
        depth--
        continue
      }
      return -1
    }
  }
}

/**
 * A key at pos, its colon, and the check that it sorts after the object's previous key.
 * Returns the position of the value, or -1.
 */
function scanKey(b: Uint8Array, n: number, pos: number, depth: number): number {
  if (b[pos] !== 0x22) return -1
  const start = pos + 1
  let i = start
  for (;;) {
    if (i >= n) return -1
    const c = b[i]!
    if (c === 0x22) break
    // No escapes in keys: their decoded bytes would sort differently from the raw ones.
    if (c === 0x5c || c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) return -1
    if (c === 0xe2 && i + 2 < n && b[i + 1] === 0x80 && (b[i + 2] === 0xa8 || b[i + 2] === 0xa9)) return -1
    i++
  }
  const prev = keyStart[depth]!
  if (prev >= 0) {
    const order = compareBytes(b, prev, keyEnd[depth]!, start, i)
    if (order === 0) return -1
    if (order > 0) unsorted = true
  }
  keyStart[depth] = start
  keyEnd[depth] = i
  i++
  if (i >= n || b[i] !== 0x3a) return -1
  return i + 1
}

function compareBytes(b: Uint8Array, as: number, ae: number, bs: number, be: number): number {
  const la = ae - as
  const lb = be - bs
  const l = la < lb ? la : lb
  for (let k = 0; k < l; k++) {
    const d = b[as + k]! - b[bs + k]!
    if (d !== 0) return d
  }
  return la - lb
}

/** A string value at pos; returns the position after its closing quote, or -1. */
function scanString(b: Uint8Array, n: number, pos: number): number {
  let i = pos + 1
  for (;;) {
    if (i >= n) return -1
    const c = b[i]!
    if (c === 0x22) return i + 1
    if (c === 0x5c) {
      const e = b[i + 1]
      // Escapes Go writes back the same: \" \\ \b \f \n \r \t.
      if (e === 0x22 || e === 0x5c || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        i += 2
        continue
      }
      return -1
    }
    if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) return -1
    if (c === 0xe2 && i + 2 < n && b[i + 1] === 0x80 && (b[i + 2] === 0xa8 || b[i + 2] === 0xa9)) return -1
    i++
  }
}

/** A number in the JSON grammar at pos; returns the position after it, or -1. */
function scanNumber(b: Uint8Array, n: number, pos: number): number {
  let i = pos
  if (b[i] === 0x2d) i++
  if (i >= n) return -1
  const first = b[i]!
  if (first === 0x30) i++
  else if (first >= 0x31 && first <= 0x39) {
    i++
    while (i < n && b[i]! >= 0x30 && b[i]! <= 0x39) i++
  } else return -1
  if (i < n && b[i] === 0x2e) {
    i++
    if (i >= n || b[i]! < 0x30 || b[i]! > 0x39) return -1
    while (i < n && b[i]! >= 0x30 && b[i]! <= 0x39) i++
  }
  if (i < n && (b[i] === 0x65 || b[i] === 0x45)) {
    i++
    if (i < n && (b[i] === 0x2b || b[i] === 0x2d)) i++
    if (i >= n || b[i]! < 0x30 || b[i]! > 0x39) return -1
    while (i < n && b[i]! >= 0x30 && b[i]! <= 0x39) i++
  }
  return i
}

/** Where the value emitSorted last wrote ends. */
let emitEnd = 0

interface Member {
  keyStart: number
  keyEnd: number
  text: string
}

/**
 * The value at pos (already checked by scanValue) with every object's members in Go's order,
 * or undefined on a duplicate key. Sets emitEnd.
 */
function emitSorted(b: Uint8Array, pos: number, slice: (s: number, e: number) => string): string | undefined {
  const c = b[pos]!
  if (c === 0x7b) {
    pos++
    if (b[pos] === 0x7d) {
      emitEnd = pos + 1
      return '{}'
    }
    const members: Member[] = []
    for (;;) {
      const ks = pos + 1
      let ke = ks
      while (b[ke] !== 0x22) ke++
      const value = emitSorted(b, ke + 2, slice)
      if (value === undefined) return undefined
      members.push({ keyStart: ks, keyEnd: ke, text: slice(pos, ke + 2) + value })
      pos = emitEnd
      if (b[pos] === 0x2c) {
        pos++
        continue
      }
      emitEnd = pos + 1
      break
    }
    members.sort((x, y) => compareBytes(b, x.keyStart, x.keyEnd, y.keyStart, y.keyEnd))
    let out = '{' + members[0]!.text
    for (let k = 1; k < members.length; k++) {
      const m = members[k]!
      const p = members[k - 1]!
      if (compareBytes(b, p.keyStart, p.keyEnd, m.keyStart, m.keyEnd) === 0) return undefined
      out += ',' + m.text
    }
    return out + '}'
  }
  if (c === 0x5b) {
    pos++
    if (b[pos] === 0x5d) {
      emitEnd = pos + 1
      return '[]'
    }
    let out = '['
    for (;;) {
      const value = emitSorted(b, pos, slice)
      if (value === undefined) return undefined
      out += value
      pos = emitEnd
      if (b[pos] === 0x2c) {
        out += ','
        pos++
        continue
      }
      emitEnd = pos + 1
      return out + ']'
    }
  }
  let i = pos
  if (c === 0x22) {
    i++
    while (b[i] !== 0x22) i += b[i] === 0x5c ? 2 : 1
    i++
  } else {
    // A number or a literal: it runs to the next delimiter.
    while (i < b.length && b[i] !== 0x2c && b[i] !== 0x5d && b[i] !== 0x7d) i++
  }
  emitEnd = i
  return slice(pos, i)
}
