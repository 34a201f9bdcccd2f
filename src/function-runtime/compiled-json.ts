// The JSON form of parsed resources compiled into a function bundle. YAML gives values that
// plain JSON does not carry (`.nan`, `.inf`, `-0`), and a key such as `__proto__` must stay an
// own key: JSON.parse keeps it one, an object literal in the bundle's source would not.

/** The key of a tagged value `{"\u0000": "n:NaN"}`; a document's own keys that start with it are escaped by doubling it. */
const TAG = '\u0000'

/** `value` (plain data: null, booleans, numbers, bigints, strings, arrays, plain objects) as JSON text. */
export function encodeCompiled(value: unknown): string {
  return JSON.stringify(toJson(value, '$'))
}

/** What `encodeCompiled` was given, from its text. */
export function decodeCompiled(text: string): unknown {
  return JSON.parse(text, revive)
}

function toJson(value: unknown, at: string): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') {
    if (Number.isFinite(value) && !Object.is(value, -0)) return value
    return { [TAG]: `n:${Object.is(value, -0) ? '-0' : String(value)}` }
  }
  if (typeof value === 'bigint') return { [TAG]: `b:${value.toString()}` }
  if (Array.isArray(value)) return value.map((v, i) => toJson(v, `${at}[${i}]`))
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    // A null-prototype object: `__proto__` is an ordinary key on it, and JSON.stringify writes it.
    const out = Object.create(null) as Record<string, unknown>
    for (const [key, v] of Object.entries(value)) out[key.startsWith(TAG) ? TAG + key : key] = toJson(v, `${at}.${key}`)
    return out
  }
  throw new TypeError(`cannot compile the value at ${at}: ${describe(value)} is not plain data`)
}

function revive(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  const keys = Object.keys(value)
  const record = value as Record<string, unknown>
  if (keys.length === 1 && keys[0] === TAG && typeof record[TAG] === 'string') {
    const tagged = record[TAG]
    if (tagged.startsWith('b:')) return BigInt(tagged.slice(2))
    return tagged === 'n:-0' ? -0 : Number(tagged.slice(2))
  }
  if (!keys.some((k) => k.startsWith(TAG))) return value
  const out: Record<string, unknown> = {}
  // defineProperty: assigning `__proto__` would set the prototype instead of a key.
  for (const k of keys) Object.defineProperty(out, k.startsWith(TAG) ? k.slice(1) : k, { value: record[k], enumerable: true, writable: true, configurable: true })
  return out
}

function describe(value: unknown): string {
  if (typeof value === 'object' && value !== null) return `a ${value.constructor?.name ?? 'null-prototype object'}`
  return `a ${typeof value}`
}
