import { describe, expect, it } from 'vitest'
import { parseGoBool, parseGoDuration, parseGoInt64 } from '../../../../src/core/envelope/index.js'

const ns = 1n
const us = 1_000n
const ms = 1_000_000n
const s = 1_000_000_000n
const m = 60n * s
const h = 60n * m
const MAX = (1n << 63n) - 1n
const MIN = -(1n << 63n)

describe('parseGoBool (strconv.ParseBool)', () => {
  it('accepts exactly the twelve spellings', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) expect(parseGoBool(t), t).toBe(true)
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) expect(parseGoBool(f), f).toBe(false)
    for (const bad of ['', 'yes', 'on', 'tRUE', ' true', 'true ', '2', 'y']) expect(parseGoBool(bad), bad).toBeUndefined()
  })
})

describe('parseGoInt64 (strconv.ParseInt(s, 10, 64))', () => {
  it('parses signed decimal within int64', () => {
    expect(parseGoInt64('60')).toBe(60n)
    expect(parseGoInt64('+60')).toBe(60n)
    expect(parseGoInt64('-1')).toBe(-1n)
    expect(parseGoInt64('007')).toBe(7n)
    expect(parseGoInt64('9223372036854775807')).toBe(MAX)
    expect(parseGoInt64('-9223372036854775808')).toBe(MIN)
  })

  it('refuses what Go refuses', () => {
    for (const bad of ['', '+', '-', ' 1', '1 ', '1_000', '0x10', '1.0', '9223372036854775808', '٣']) {
      expect(parseGoInt64(bad), bad).toBeUndefined()
    }
  })
})

describe('parseGoDuration (time.ParseDuration)', () => {
  // Cases from Go's time/time_test.go parseDurationTests.
  const good: Array<[string, bigint]> = [
    ['0', 0n],
    ['5s', 5n * s],
    ['30s', 30n * s],
    ['1478s', 1478n * s],
    ['-5s', -5n * s],
    ['+5s', 5n * s],
    ['-0', 0n],
    ['+0', 0n],
    ['5.0s', 5n * s],
    ['5.6s', 5n * s + 600n * ms],
    ['5.s', 5n * s],
    ['.5s', 500n * ms],
    ['1.0s', 1n * s],
    ['1.00s', 1n * s],
    ['1.004s', 1n * s + 4n * ms],
    ['1.0040s', 1n * s + 4n * ms],
    ['100.00100s', 100n * s + 1n * ms],
    ['10ns', 10n * ns],
    ['11us', 11n * us],
    ['12µs', 12n * us],
    ['12μs', 12n * us],
    ['13ms', 13n * ms],
    ['14s', 14n * s],
    ['15m', 15n * m],
    ['16h', 16n * h],
    ['3h30m', 3n * h + 30n * m],
    ['10.5s4m', 4n * m + 10n * s + 500n * ms],
    ['-2m3.4s', -(2n * m + 3n * s + 400n * ms)],
    ['1h2m3s4ms5us6ns', 1n * h + 2n * m + 3n * s + 4n * ms + 5n * us + 6n * ns],
    ['39h9m14.425s', 39n * h + 9n * m + 14n * s + 425n * ms],
    ['52763797000ns', 52763797000n * ns],
    ['0.3333333333333333333h', 20n * m],
    ['9007199254740993ns', (1n << 53n) + 1n],
    ['9223372036854775807ns', MAX],
    ['9223372036854775.807us', MAX],
    ['9223372036s854ms775us807ns', MAX],
    ['-9223372036854775808ns', MIN],
    ['-9223372036854775.808us', MIN],
    ['-9223372036s854ms775us808ns', MIN],
    ['-2562047h47m16.854775808s', MIN],
    ['0.100000000000000000000h', 6n * m],
    ['0.830103483285477580700h', 49n * m + 48n * s + 372539827n * ns],
    ['90s', 90n * s],
    ['1m30s', 90n * s],
    ['1.5h', 90n * m],
  ]
  for (const [input, want] of good) {
    it(`parses ${JSON.stringify(input)}`, () => expect(parseGoDuration(input)).toBe(want))
  }

  const bad = [
    '',
    '3',
    '60',
    '-',
    's',
    '.',
    '-.',
    '.s',
    '+.s',
    '1d',
    '\x85\x85',
    '\xffff',
    'hello \xffff world',
    '1S',
    ' 1s',
    '1s ',
    '9223372036854775808ns',
    '9223372036854775.808us',
    '9223372036854ms775us808ns',
    '-9223372036854775809ns',
  ]
  for (const input of bad) {
    it(`refuses ${JSON.stringify(input)}`, () => expect(parseGoDuration(input)).toBeUndefined())
  }
})
