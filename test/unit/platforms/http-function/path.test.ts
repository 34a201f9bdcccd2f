import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { stripPathPrefix, toEncodedPath } from '../../../../src/platforms/http-function/path.js'

/** A valid percent-encoded path: RFC 3986 path characters and `%XX` escapes only. */
const ENCODED = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*$/

describe('toEncodedPath', () => {
  it('leaves an encoded path byte for byte (Function URLs, REST APIs, Azure)', () => {
    for (const p of ['/v1.0/publish/pubsub/orders%2Fnew', '/a%20b/%E2%82%AC', "/x-y_z.~!$&'()*+,;=:@"]) expect(toEncodedPath(p)).toBe(p)
  })

  it('encodes what an HTTP API decoded: spaces, non-ASCII, ?, #, a bare %', () => {
    expect(toEncodedPath('/t/a b')).toBe('/t/a%20b')
    expect(toEncodedPath('/t/€')).toBe('/t/%E2%82%AC')
    expect(toEncodedPath('/t/a?b#c')).toBe('/t/a%3Fb%23c')
    expect(toEncodedPath('/t/100%')).toBe('/t/100%25')
    expect(toEncodedPath('/t/%zz')).toBe('/t/%25zz')
    expect(toEncodedPath('/t/\ud800')).toBe('/t/%EF%BF%BD')
  })

  it('always gives a valid encoded path; an already encoded one is a fixed point', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const once = toEncodedPath(s)
        expect(once).toMatch(ENCODED)
        expect(toEncodedPath(once)).toBe(once)
      }),
      { numRuns: 500 },
    )
  })

  it('decoding a decoded path after encoding gives it back (for well-formed text)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }).filter((s) => !/%[0-9A-Fa-f]{2}/.test(s)), (s) => {
        expect(decodeURIComponent(toEncodedPath(s))).toBe(s)
      }),
    )
  })
})

describe('stripPathPrefix', () => {
  it('removes a leading stage or base path as whole segments only', () => {
    expect(stripPathPrefix('/prod/v1.0/healthz', 'prod')).toBe('/v1.0/healthz')
    expect(stripPathPrefix('/prod', 'prod')).toBe('/')
    expect(stripPathPrefix('/production/v1.0', 'prod')).toBe('/production/v1.0')
    expect(stripPathPrefix('/api/v1/x', '/api/v1/')).toBe('/x')
    expect(stripPathPrefix('/v1.0/healthz', '$default')).toBe('/v1.0/healthz')
    expect(stripPathPrefix('/v1.0/healthz', undefined)).toBe('/v1.0/healthz')
    expect(stripPathPrefix('/v1.0/healthz', '/')).toBe('/v1.0/healthz')
  })
})
