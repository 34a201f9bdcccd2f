import { describe, expect, it } from 'vitest'
import { MqttFnError } from '../../../../src/core/errors.js'
import {
  JsonNumber,
  decodeJsonUseNumber,
  goFormatFloat,
  goMarshal,
  parseGoJsonFloat,
  parseJsonUseNumber,
} from '../../../../src/core/envelope/index.js'
import { decodeGoString } from '../../../../src/core/envelope/index.js'

// Expected strings are what Go's json.Marshal writes (Go >= 1.22, HTML escaping on), written
// out by hand from encoding/json's encode.go rules, not produced by the code under test.

describe('goMarshal: Go json.Marshal fixtures', () => {
  it('sorts map keys and escapes HTML: json.Marshal(map[string]any{"b":1,"a":"<x>&"})', () => {
    expect(goMarshal({ b: 1, a: '<x>&' })).toBe('{"a":"\\u003cx\\u003e\\u0026","b":1}')
  })

  it('writes the short escapes Go >= 1.22 writes and \\u00xx for other controls', () => {
    expect(goMarshal('"\\/\b\f\n\r\t')).toBe('"\\"\\\\/\\b\\f\\n\\r\\t"')
    expect(goMarshal('\u0000\u0001\u0007\u000b\u001f')).toBe('"\\u0000\\u0001\\u0007\\u000b\\u001f"')
  })

  it('keeps DEL, non-ASCII and astral characters raw', () => {
    expect(goMarshal('\u007f é 😀 \ufffd')).toBe('"\u007f é 😀 \ufffd"')
  })

  it('escapes U+2028 and U+2029', () => {
    expect(goMarshal('a\u2028b\u2029c')).toBe('"a\\u2028b\\u2029c"')
  })

  it('writes each lone surrogate (invalid UTF-8 in Go) as \\ufffd', () => {
    expect(goMarshal('a\ud800b\udc00c\ud83d')).toBe('"a\\ufffdb\\ufffdc\\ufffd"')
    // A surrogate pair is a valid astral character and stays raw.
    expect(goMarshal('\ud83d\ude00')).toBe('"😀"')
  })

  it('sorts keys by UTF-8 bytes, not UTF-16 code units', () => {
    const keys = ['b', '😀', 'a', '\ufffd', 'B', 'é', 'z', 'aa', '']
    const obj = Object.fromEntries(keys.map((k) => [k, 1]))
    expect(goMarshal(obj)).toBe('{"":1,"B":1,"a":1,"aa":1,"b":1,"z":1,"é":1,"\ufffd":1,"😀":1}')
  })

  it('writes float64 as Go floatEncoder does', () => {
    const cases: Array<[number, string]> = [
      [0, '0'],
      [-0, '-0'],
      [1, '1'],
      [0.1, '0.1'],
      [123456789, '123456789'],
      [1e20, '100000000000000000000'],
      [1e21, '1e+21'],
      [1.5e-6, '0.0000015'],
      [1e-7, '1e-7'],
      [1.2345e25, '1.2345e+25'],
      [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [-2.5, '-2.5'],
    ]
    for (const [f, want] of cases) expect(goFormatFloat(f), String(f)).toBe(want)
  })

  it('writes JsonNumber literals verbatim and bigints as integers', () => {
    expect(goMarshal([new JsonNumber('12345678901234567890'), new JsonNumber('1.0'), new JsonNumber('1E+2'), 2n ** 64n])).toBe(
      '[12345678901234567890,1.0,1E+2,18446744073709551616]',
    )
  })

  it('writes Uint8Array as base64 like []byte, null and nested structures compactly', () => {
    expect(goMarshal({ b: new Uint8Array([0, 1, 254, 255]), n: null, a: [true, false, [], {}] })).toBe(
      '{"a":[true,false,[],{}],"b":"AAH+/w==","n":null}',
    )
  })

  it('drops undefined object members and writes undefined array items as null', () => {
    expect(goMarshal({ a: undefined, b: [undefined] })).toBe('{"b":[null]}')
  })

  it('accepts Maps as map[string]any', () => {
    expect(goMarshal(new Map([['z', 1], ['a', 2]]))).toBe('{"a":2,"z":1}')
  })

  it('refuses what Go refuses', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, () => 1, Symbol('x'), new Date(0)]) {
      expect(() => goMarshal(bad)).toThrowError(MqttFnError)
    }
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => goMarshal(cyclic)).toThrowError(/cycle/)
    // The same object twice, not nested in itself, is not a cycle.
    const shared = { x: 1 }
    expect(goMarshal([shared, shared])).toBe('[{"x":1},{"x":1}]')
  })

  it('escapes HTML characters in keys too', () => {
    expect(goMarshal({ '<k>': '&' })).toBe('{"\\u003ck\\u003e":"\\u0026"}')
  })
})

describe('parseJsonUseNumber: Go json.Unmarshal with UseNumber', () => {
  it('keeps number literals exactly', () => {
    const v = parseJsonUseNumber('[12345678901234567890, 1.0, -0, 1E+2, 2.5e-3]') as JsonNumber[]
    expect(v.map((n) => n.literal)).toEqual(['12345678901234567890', '1.0', '-0', '1E+2', '2.5e-3'])
    expect(v.every((n) => n instanceof JsonNumber)).toBe(true)
  })

  it('re-serialises a document compactly with sorted keys', () => {
    const text = ' { "z" : 1 ,\n "a" : { "y" : [ 3 , { "b" : 2 , "a" : 1 } ] , "x" : 12345678901234567890 } , "m" : 1.0 } '
    expect(goMarshal(parseJsonUseNumber(text))).toBe('{"a":{"x":12345678901234567890,"y":[3,{"a":1,"b":2}]},"m":1.0,"z":1}')
  })

  it('keeps the last of duplicate keys and treats __proto__ as a plain key', () => {
    expect(parseJsonUseNumber('{"a":1,"a":"two"}')).toEqual({ a: 'two' })
    const v = parseJsonUseNumber('{"__proto__":{"x":1}}') as Record<string, unknown>
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype)
    expect(Object.keys(v)).toEqual(['__proto__'])
    expect(goMarshal(v)).toBe('{"__proto__":{"x":1}}')
  })

  it('decodes escapes, pairing surrogates as Go utf16.DecodeRune does', () => {
    const cases: Array<[string, string]> = [
      ['"\\ud83d\\ude00"', '😀'],
      ['"\\ud800"', '\ufffd'],
      ['"\\ud800\\u0041"', '\ufffdA'],
      ['"\\udc00\\ud800"', '\ufffd\ufffd'],
      ['"\\ud800\\ud800\\udc00"', '\ufffd\ud800\udc00'],
      ['"\\u00e9\\u00E9\\/\\b\\f\\n\\r\\t\\"\\\\"', 'éé/\b\f\n\r\t"\\'],
    ]
    for (const [text, want] of cases) expect(parseJsonUseNumber(text), text).toBe(want)
  })

  it('replaces each invalid UTF-8 byte inside strings with U+FFFD, as Go unquote does', () => {
    // E2 82 is a truncated 3-byte sequence: Go sees two invalid bytes (TextDecoder would see one).
    const bytes = Buffer.concat([Buffer.from('"a'), Buffer.from([0xe2, 0x82]), Buffer.from('b'), Buffer.from([0xff]), Buffer.from('"')])
    expect(parseJsonUseNumber(bytes)).toBe('a\ufffd\ufffdb\ufffd')
    // Overlong encodings and UTF-8-encoded surrogates are invalid too.
    expect(parseJsonUseNumber(Buffer.from([0x22, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0x22]))).toBe('\ufffd'.repeat(5))
  })

  it('rejects what Go rejects', () => {
    const bad = [
      '',
      '   ',
      '{',
      '[1,]',
      '{"a":1,}',
      '01',
      '1.',
      '.5',
      '+1',
      '-',
      '1e',
      '1e+',
      'tru',
      'True',
      'NaN',
      'Infinity',
      '"\u0001"',
      '"\\x"',
      '"\\u12G4"',
      "'a'",
      '{a:1}',
      '[1 2]',
      '{"a" 1}',
      '\ufeff{}',
      '1 2',
      '{"a":1}x',
      'nul',
      '"abc',
      '[' + '1'.repeat(1),
    ]
    for (const text of bad) {
      expect(() => parseJsonUseNumber(text), JSON.stringify(text)).toThrowError(MqttFnError)
    }
    expect(() => parseJsonUseNumber('x')).toThrowError(expect.objectContaining({ code: 'ERR_JSON_SYNTAX' }))
  })

  it('allows nesting depth 10000 and refuses 10001 (Go maxNestingDepth)', () => {
    expect(() => parseJsonUseNumber('['.repeat(10000) + ']'.repeat(10000))).not.toThrow()
    expect(() => parseJsonUseNumber('['.repeat(10001) + ']'.repeat(10001))).toThrowError(/exceeded max depth/)
  })
})

describe('decodeJsonUseNumber: Go json.NewDecoder(r).Decode (Dapr unmarshalPrecise)', () => {
  it('reads the first value and ignores what follows', () => {
    expect(decodeJsonUseNumber('{"a":1} trailing')).toEqual({ a: new JsonNumber('1') })
    expect(decodeJsonUseNumber('truex')).toBe(true)
    expect(decodeJsonUseNumber('"x"y')).toBe('x')
    expect((decodeJsonUseNumber('01') as JsonNumber).literal).toBe('0')
    expect((decodeJsonUseNumber('1.5.3') as JsonNumber).literal).toBe('1.5')
  })

  it('still fails on an incomplete or missing first value', () => {
    for (const text of ['', ' \n', '{"a":', '1.', '-', 'tru', 'nulx', '"abc']) {
      expect(() => decodeJsonUseNumber(text), JSON.stringify(text)).toThrowError(MqttFnError)
    }
  })
})

describe('parseGoJsonFloat: Go json.Unmarshal into any (numbers as float64)', () => {
  it('gives JS numbers', () => {
    expect(parseGoJsonFloat(Buffer.from('{"n":12345678901234567890,"f":1.0}'))).toEqual({ n: 12345678901234567000, f: 1 })
  })

  it('refuses numbers outside float64 (strconv.ParseFloat ErrRange) but accepts underflow', () => {
    expect(() => parseGoJsonFloat(Buffer.from('{"n":1e400}'))).toThrowError(/cannot unmarshal number 1e400/)
    expect(parseGoJsonFloat(Buffer.from('[1e-400]'))).toEqual([0])
  })

  it('replaces unpaired surrogate escapes in values and keys on the fast path too', () => {
    expect(parseGoJsonFloat(Buffer.from('{"\\ud800k":"\\udc00v","a":["\\ud83d\\ude00"]}'))).toEqual({
      '\ufffdk': '\ufffdv',
      a: ['😀'],
    })
  })

  it('keeps Go duplicate-key order when a key only collides after U+FFFD replacement', () => {
    expect(parseGoJsonFloat(Buffer.from('{"\\ufffd":1,"\\ud800":2}'))).toEqual({ '\ufffd': 2 })
  })

  it('applies the depth limit on the fast path', () => {
    expect(() => parseGoJsonFloat(Buffer.from('['.repeat(10001) + ']'.repeat(10001)))).toThrowError(/exceeded max depth/)
  })
})

describe('decodeGoString: string(bytes) as Go holds it', () => {
  it('keeps invalid bytes one by one so goMarshal writes one \\ufffd per byte', () => {
    const s = decodeGoString(Buffer.from([0x61, 0xe2, 0x82, 0x62, 0xef, 0xbf, 0xbd]))
    // The last three bytes are a valid U+FFFD, which Go writes raw.
    expect(goMarshal(s)).toBe('"a\\ufffd\\ufffdb\ufffd"')
  })
})
