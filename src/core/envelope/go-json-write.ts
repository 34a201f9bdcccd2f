/**
 * JSON written exactly as Go's `encoding/json` writes it (go-json.ts says why): object keys
 * sorted by their UTF-8 bytes, no whitespace, `<` `>` `&` escaped, U+2028/U+2029 escaped,
 * `\b \f \n \r \t` short escapes (Go >= 1.22), other controls as `\u00xx`, lone surrogates
 * as `\ufffd`, numbers as Go writes them.
 */
import { MqttFnError } from '../errors.js'
import { ErrorCode } from './constants.js'
import { compareGoStrings } from './go-string.js'
import { JsonNumber } from './json-number.js'

const HTML_SAFE_FAST = /^[^\u0000-\u001f"\\<>&\u2028\u2029\ud800-\udfff]*$/

const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
}

/** A JSON string literal exactly as Go's encoder writes it with HTML escaping on. */
export function goQuote(s: string): string {
  if (HTML_SAFE_FAST.test(s)) return `"${s}"`
  let out = '"'
  let run = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    let esc: string | undefined
    if (c < 0x80) {
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c !== 0x3c && c !== 0x3e && c !== 0x26) continue
      esc = SHORT_ESCAPES[c] ?? `\\u00${c.toString(16).padStart(2, '0')}`
    } else if (c === 0x2028 || c === 0x2029) {
      esc = `\\u202${c === 0x2028 ? '8' : '9'}`
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++
        continue
      }
      esc = '\\ufffd'
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      esc = '\\ufffd'
    } else continue
    out += s.slice(run, i) + esc
    run = i + 1
  }
  return out + s.slice(run) + '"'
}

/** A float64 as Go's `floatEncoder` writes it (ES6 number formatting, but `-0` keeps its sign). */
export function goFormatFloat(f: number): string {
  if (!Number.isFinite(f)) {
    throw new MqttFnError(ErrorCode.JsonMarshal, `json: unsupported value: ${String(f)}`)
  }
  if (Object.is(f, -0)) return '-0'
  return String(f)
}

/**
 * `json.Marshal` of the Go value that `value` stands for. Accepted: null, booleans, strings,
 * numbers (float64), bigints (int64/uint64), `JsonNumber`, `Uint8Array` (base64, as `[]byte`),
 * arrays, `Map`s with string keys and plain objects (both as `map[string]any`, keys sorted).
 * `undefined` is dropped from objects and written as null elsewhere, as JSON.stringify does.
 * Throws MqttFnError `ERR_JSON_MARSHAL` on what Go refuses: NaN, infinities, cycles, functions.
 */
export function goMarshal(value: unknown): string {
  const parts: string[] = []
  writeValue(value, parts, new Set())
  return parts.join('')
}

function writeValue(value: unknown, out: string[], ancestors: Set<object>): void {
  switch (typeof value) {
    case 'string':
      out.push(goQuote(value))
      return
    case 'number':
      out.push(goFormatFloat(value))
      return
    case 'bigint':
      out.push(value.toString())
      return
    case 'boolean':
      out.push(value ? 'true' : 'false')
      return
    case 'undefined':
      out.push('null')
      return
    case 'function':
    case 'symbol':
      throw new MqttFnError(ErrorCode.JsonMarshal, `json: unsupported type: ${typeof value}`)
    default:
  }
  if (value === null) {
    out.push('null')
    return
  }
  if (value instanceof JsonNumber) {
    out.push(value.literal)
    return
  }
  if (value instanceof Uint8Array) {
    out.push(`"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}"`)
    return
  }
  const obj = value as object
  if (ancestors.has(obj)) throw new MqttFnError(ErrorCode.JsonMarshal, 'json: unsupported value: encountered a cycle')
  ancestors.add(obj)
  if (Array.isArray(obj)) {
    out.push('[')
    for (let i = 0; i < obj.length; i++) {
      if (i > 0) out.push(',')
      writeValue(obj[i], out, ancestors)
    }
    out.push(']')
  } else {
    let entries: Array<[string, unknown]>
    if (obj instanceof Map) {
      entries = []
      for (const [k, v] of obj as Map<unknown, unknown>) {
        if (typeof k !== 'string') throw new MqttFnError(ErrorCode.JsonMarshal, `json: unsupported map key type: ${typeof k}`)
        entries.push([k, v])
      }
    } else {
      const proto: unknown = Object.getPrototypeOf(obj)
      if (proto !== Object.prototype && proto !== null) {
        throw new MqttFnError(
          ErrorCode.JsonMarshal,
          `json: unsupported type: ${(obj as { constructor?: { name?: string } }).constructor?.name ?? 'object'}`,
        )
      }
      entries = Object.entries(obj)
    }
    entries.sort((a, b) => compareGoStrings(a[0], b[0]))
    out.push('{')
    let first = true
    for (const [k, v] of entries) {
      if (v === undefined) continue
      if (!first) out.push(',')
      first = false
      out.push(goQuote(k), ':')
      writeValue(v, out, ancestors)
    }
    out.push('}')
  }
  ancestors.delete(obj)
}
