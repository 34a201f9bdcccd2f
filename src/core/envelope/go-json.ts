import { isUtf8 } from 'node:buffer'
import { MqttFnError } from '../errors.js'
import { ErrorCode } from './constants.js'
import { decodeUtf8Replacing, hasLoneSurrogate, replaceLoneSurrogates } from './go-string.js'
import { JsonNumber } from './json-number.js'

/**
 * JSON exactly as Go's `encoding/json` reads and writes it (writing: go-json-write.ts), because daprd's CloudEvent
 * bytes are `json.Marshal(map[string]any)` of a body read with `Decoder.UseNumber()`.
 *
 * Reading: RFC 8259 grammar, nesting depth at most 10000 (Go's `maxNestingDepth`),
 * invalid UTF-8 inside strings and unpaired `\uD800`-style escapes become U+FFFD,
 * duplicate keys keep the last value.
 * Writing: object keys sorted by their UTF-8 bytes, no whitespace, `<` `>` `&` escaped,
 * U+2028/U+2029 escaped, `\b \f \n \r \t` short escapes (Go >= 1.22), other controls as
 * `\u00xx`, lone surrogates (invalid UTF-8 in Go) as `\ufffd`, numbers as Go writes them.
 */

const MAX_DEPTH = 10000

export interface GoJsonParseOptions {
  /** Keep numbers as `JsonNumber` (Go `UseNumber`) instead of float64 (`number`). Default true. */
  useNumber?: boolean
  /**
   * Read only the first JSON value and ignore whatever follows it, as `json.NewDecoder(r).Decode`
   * does (Dapr's `unmarshalPrecise`). Default false: the whole input must be one value, as
   * `json.Unmarshal` requires.
   */
  firstValueOnly?: boolean
}

function syntaxError(message: string, offset: number): MqttFnError {
  return new MqttFnError(ErrorCode.JsonSyntax, `${message} (offset ${offset})`)
}

function toBytes(input: string | Uint8Array): Uint8Array {
  // A JS string with lone surrogates encodes them as U+FFFD, which is also what Go's
  // decoder makes of the invalid bytes such a string would stand for.
  return typeof input === 'string' ? Buffer.from(input, 'utf8') : input
}

/**
 * Parses JSON as Go's `json.Unmarshal` into `any` with `UseNumber` does: numbers come back as
 * `JsonNumber`, objects as plain objects. Throws MqttFnError `ERR_JSON_SYNTAX` where Go errors.
 */
export function parseJsonUseNumber(text: string | Uint8Array): unknown {
  return parseGoJson(toBytes(text), { useNumber: true, firstValueOnly: false })
}

/**
 * Reads the first JSON value as `json.NewDecoder(bytes).Decode(&v)` with `UseNumber` does:
 * trailing bytes after a complete value are ignored (`{"a":1}xyz` gives `{a: 1}`), an empty
 * or blank input is an error (io.EOF). This is what Dapr's `unmarshalPrecise` accepts.
 */
export function decodeJsonUseNumber(bytes: string | Uint8Array): unknown {
  return parseGoJson(toBytes(bytes), { useNumber: true, firstValueOnly: true })
}

/**
 * Parses JSON as Go's `json.Unmarshal` into `any` does (numbers as float64). For valid UTF-8
 * it lets V8's JSON.parse do the work and then applies the few places where Go differs
 * (unpaired surrogate escapes, numbers out of float64 range, nesting depth).
 */
export function parseGoJsonFloat(bytes: Uint8Array): unknown {
  if (isUtf8(bytes)) {
    let value: unknown
    try {
      value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
    } catch {
      // Both refuse the same texts; the slow path only names the problem the way Go does.
      return parseGoJson(bytes, { useNumber: false, firstValueOnly: false })
    }
    return goNormalizeParsed(value, bytes)
  }
  return parseGoJson(bytes, { useNumber: false, firstValueOnly: false })
}

/** Applies Go's differences to a JSON.parse result, iteratively (depth may reach 10000). */
function goNormalizeParsed(root: unknown, bytes: Uint8Array): unknown {
  const fixString = (s: string): string => (hasLoneSurrogate(s) ? replaceLoneSurrogates(s) : s)
  if (typeof root === 'string') return fixString(root)
  if (typeof root === 'number') {
    if (!Number.isFinite(root)) return parseGoJson(bytes, { useNumber: false, firstValueOnly: false })
    return root
  }
  if (root === null || typeof root !== 'object') return root
  const stack: Array<{ node: unknown; depth: number }> = [{ node: root, depth: 1 }]
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!
    if (depth > MAX_DEPTH) return parseGoJson(bytes, { useNumber: false, firstValueOnly: false })
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v: unknown = node[i]
        if (typeof v === 'string') node[i] = fixString(v)
        else if (typeof v === 'number') {
          if (!Number.isFinite(v)) return parseGoJson(bytes, { useNumber: false, firstValueOnly: false })
        } else if (v !== null && typeof v === 'object') stack.push({ node: v, depth: depth + 1 })
      }
    } else {
      const obj = node as Record<string, unknown>
      for (const key of Object.keys(obj)) {
        const v = obj[key]
        if (hasLoneSurrogate(key)) {
          // Go would have turned the key's lone surrogates into U+FFFD before storing it,
          // so a later duplicate of the fixed key would win; rebuild that order faithfully.
          return parseGoJson(bytes, { useNumber: false, firstValueOnly: false })
        }
        if (typeof v === 'string') obj[key] = fixString(v)
        else if (typeof v === 'number') {
          if (!Number.isFinite(v)) return parseGoJson(bytes, { useNumber: false, firstValueOnly: false })
        } else if (v !== null && typeof v === 'object') stack.push({ node: v, depth: depth + 1 })
      }
    }
  }
  return root
}

type Frame =
  | { kind: 'array'; value: unknown[] }
  | { kind: 'object'; value: Record<string, unknown>; key: string }

function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  // Assigning `__proto__` would change the prototype instead of adding a key.
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
  else obj[key] = value
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d
}

function describe(c: number | undefined): string {
  if (c === undefined) return 'end of input'
  if (c === 0x27) return `character '\\''`
  if (c === 0x22) return `character '"'`
  if (c >= 0x20 && c < 0x7f) return `character '${String.fromCharCode(c)}'`
  return `character 0x${c.toString(16).padStart(2, '0')}`
}

/** The Go-compatible JSON reader behind the exported functions. */
export function parseGoJson(bytes: Uint8Array, options: GoJsonParseOptions = {}): unknown {
  const useNumber = options.useNumber ?? true
  const firstValueOnly = options.firstValueOnly ?? false
  const n = bytes.length
  let pos = 0
  const stack: Frame[] = []

  const skipSpace = (): void => {
    while (pos < n && isSpace(bytes[pos]!)) pos++
  }
  const unexpectedEnd = (): MqttFnError =>
    syntaxError(n === 0 || isBlank(bytes) ? 'EOF: no JSON value' : 'unexpected end of JSON input', pos)

  const readString = (): string => {
    // pos is at the opening quote
    const start = pos + 1
    let i = start
    let simple = true
    for (;;) {
      if (i >= n) throw unexpectedEnd()
      const c = bytes[i]!
      if (c === 0x22) break
      if (c === 0x5c) {
        simple = false
        i++
        if (i >= n) throw unexpectedEnd()
        const e = bytes[i]!
        if (e === 0x75) {
          for (let k = 1; k <= 4; k++) {
            if (i + k >= n) throw unexpectedEnd()
            if (!isHex(bytes[i + k]!)) throw syntaxError(`invalid ${describe(bytes[i + k])} in \\u hexadecimal character escape`, i + k)
          }
          i += 5
          continue
        }
        if (!(e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74)) {
          throw syntaxError(`invalid ${describe(e)} in string escape code`, i)
        }
        i++
        continue
      }
      if (c < 0x20) throw syntaxError(`invalid ${describe(c)} in string literal`, i)
      i++
    }
    pos = i + 1
    if (simple) return decodeUtf8Replacing(bytes, start, i)
    return unescape(bytes, start, i)
  }

  const readNumber = (): unknown => {
    const start = pos
    if (bytes[pos] === 0x2d) pos++
    if (pos >= n) throw unexpectedEnd()
    const first = bytes[pos]!
    if (first === 0x30) pos++
    else if (first >= 0x31 && first <= 0x39) {
      pos++
      while (pos < n && isDigit(bytes[pos]!)) pos++
    } else throw syntaxError(`invalid ${describe(first)} in numeric literal`, pos)
    if (pos < n && bytes[pos] === 0x2e) {
      pos++
      if (pos >= n) throw unexpectedEnd()
      if (!isDigit(bytes[pos]!)) throw syntaxError(`invalid ${describe(bytes[pos])} after decimal point in numeric literal`, pos)
      while (pos < n && isDigit(bytes[pos]!)) pos++
    }
    if (pos < n && (bytes[pos] === 0x65 || bytes[pos] === 0x45)) {
      pos++
      if (pos < n && (bytes[pos] === 0x2b || bytes[pos] === 0x2d)) pos++
      if (pos >= n) throw unexpectedEnd()
      if (!isDigit(bytes[pos]!)) throw syntaxError(`invalid ${describe(bytes[pos])} in exponent of numeric literal`, pos)
      while (pos < n && isDigit(bytes[pos]!)) pos++
    }
    const literal = Buffer.from(bytes.buffer, bytes.byteOffset + start, pos - start).toString('latin1')
    if (useNumber) return new JsonNumber(literal)
    const f = Number(literal)
    // strconv.ParseFloat returns ErrRange exactly when the literal rounds to an infinity.
    if (!Number.isFinite(f)) throw syntaxError(`json: cannot unmarshal number ${literal} into Go value of type float64`, start)
    return f
  }

  const readLiteral = (word: string, value: unknown): unknown => {
    for (let k = 0; k < word.length; k++) {
      if (pos + k >= n) throw unexpectedEnd()
      if (bytes[pos + k] !== word.charCodeAt(k)) throw syntaxError(`invalid ${describe(bytes[pos + k])} in literal ${word} (expecting '${word[k]}')`, pos + k)
    }
    pos += word.length
    return value
  }

  const readKey = (): string => {
    skipSpace()
    if (pos >= n) throw unexpectedEnd()
    if (bytes[pos] !== 0x22) throw syntaxError(`invalid ${describe(bytes[pos])} looking for beginning of object key string`, pos)
    const key = readString()
    skipSpace()
    if (pos >= n) throw unexpectedEnd()
    if (bytes[pos] !== 0x3a) throw syntaxError(`invalid ${describe(bytes[pos])} after object key`, pos)
    pos++
    return key
  }

  let result: unknown
  outer: for (;;) {
    skipSpace()
    if (pos >= n) throw unexpectedEnd()
    const c = bytes[pos]!
    let value: unknown
    if (c === 0x7b || c === 0x5b) {
      if (stack.length + 1 > MAX_DEPTH) throw syntaxError('exceeded max depth', pos)
      pos++
      skipSpace()
      if (c === 0x7b) {
        const obj: Record<string, unknown> = {}
        if (pos < n && bytes[pos] === 0x7d) {
          pos++
          value = obj
        } else {
          stack.push({ kind: 'object', value: obj, key: readKey() })
          continue
        }
      } else {
        const arr: unknown[] = []
        if (pos < n && bytes[pos] === 0x5d) {
          pos++
          value = arr
        } else {
          stack.push({ kind: 'array', value: arr })
          continue
        }
      }
    } else if (c === 0x22) value = readString()
    else if (c === 0x2d || isDigit(c)) value = readNumber()
    else if (c === 0x74) value = readLiteral('true', true)
    else if (c === 0x66) value = readLiteral('false', false)
    else if (c === 0x6e) value = readLiteral('null', null)
    else throw syntaxError(`invalid ${describe(c)} looking for beginning of value`, pos)

    // A value is complete: hand it to its container, closing containers as they end.
    for (;;) {
      const top = stack[stack.length - 1]
      if (top === undefined) {
        result = value
        break outer
      }
      if (top.kind === 'array') top.value.push(value)
      else setKey(top.value, top.key, value)
      skipSpace()
      if (pos >= n) throw unexpectedEnd()
      const d = bytes[pos]!
      if (d === 0x2c) {
        pos++
        if (top.kind === 'object') top.key = readKey()
        continue outer
      }
      if ((top.kind === 'array' && d === 0x5d) || (top.kind === 'object' && d === 0x7d)) {
        pos++
        stack.pop()
        value = top.value
        continue
      }
      throw syntaxError(
        `invalid ${describe(d)} after ${top.kind === 'array' ? 'array element' : 'object key:value pair'}`,
        pos,
      )
    }
  }

  if (!firstValueOnly) {
    skipSpace()
    if (pos < n) throw syntaxError(`invalid ${describe(bytes[pos])} after top-level value`, pos)
  }
  return result
}

function isBlank(bytes: Uint8Array): boolean {
  for (const b of bytes) if (!isSpace(b)) return false
  return true
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
}

function hex4(bytes: Uint8Array, i: number): number {
  return Number.parseInt(Buffer.from(bytes.buffer, bytes.byteOffset + i, 4).toString('latin1'), 16)
}

/** Go's `unquoteBytes` for a string body already checked by the scanner above. */
function unescape(bytes: Uint8Array, start: number, end: number): string {
  let out = ''
  let i = start
  let run = start
  while (i < end) {
    if (bytes[i] !== 0x5c) {
      i++
      continue
    }
    if (run < i) out += decodeUtf8Replacing(bytes, run, i)
    const e = bytes[i + 1]!
    switch (e) {
      case 0x62:
        out += '\b'
        break
      case 0x66:
        out += '\f'
        break
      case 0x6e:
        out += '\n'
        break
      case 0x72:
        out += '\r'
        break
      case 0x74:
        out += '\t'
        break
      case 0x75: {
        let r = hex4(bytes, i + 2)
        i += 6
        if (r >= 0xd800 && r <= 0xdfff) {
          // utf16.DecodeRune(r, next): only a high surrogate followed by an escaped low one pairs.
          if (r <= 0xdbff && i + 6 <= end && bytes[i] === 0x5c && bytes[i + 1] === 0x75) {
            const r2 = hex4(bytes, i + 2)
            if (r2 >= 0xdc00 && r2 <= 0xdfff) {
              out += String.fromCharCode(r, r2)
              i += 6
              run = i
              continue
            }
          }
          r = 0xfffd
        }
        out += String.fromCharCode(r)
        run = i
        continue
      }
      default:
        // \" \\ \/
        out += String.fromCharCode(e)
    }
    i += 2
    run = i
  }
  if (run < end) out += decodeUtf8Replacing(bytes, run, end)
  return out
}

export { goFormatFloat, goMarshal, goQuote } from './go-json-write.js'
