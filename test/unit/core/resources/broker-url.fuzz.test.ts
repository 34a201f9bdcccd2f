import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseBrokerUrl } from '../../../../src/core/resources/index.js'

describe('broker url fuzz', () => {
  it('never throws, on any text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        parseBrokerUrl(text)
      }),
      { numRuns: 2000 },
    )
  })

  it('never throws on url-shaped text, and a parsed port is always valid', () => {
    const url = fc
      .tuple(fc.constantFrom('mqtt', 'tcp', 'ssl', 'ws', 'wss', 'http', 'x'), fc.webAuthority({ withUserInfo: true, withPort: true }), fc.webPath())
      .map(([s, a, p]) => `${s}://${a}${p}`)
    fc.assert(
      fc.property(url, (text) => {
        const result = parseBrokerUrl(text)
        if (result.ok) {
          expect(Number.isInteger(result.url.port)).toBe(true)
          expect(result.url.port).toBeGreaterThan(0)
          expect(result.url.port).toBeLessThanOrEqual(65535)
          const { protocol, host, port, path } = result.url
          const shownHost = host.includes(':') ? `[${host}]` : host
          expect(result.url.redacted).toBe(`${protocol}://${shownHost}:${port}${path === '/' ? '' : path}`)
        }
      }),
      { numRuns: 1000 },
    )
  })

  it('never names the password in a problem or warning', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=-]{8,20}$/).map((s) => `Qx${s}`)
    fc.assert(
      fc.property(
        fc.string({ maxLength: 8 }),
        secret,
        fc.string({ maxLength: 12 }),
        fc.string({ maxLength: 12 }),
        (scheme, password, host, rest) => {
          const result = parseBrokerUrl(`${scheme}://u:${password}@${host}${rest}`)
          const texts = result.ok ? [...result.warnings, result.url.redacted] : [result.problem]
          for (const t of texts) expect(t).not.toContain(password)
        },
      ),
      { numRuns: 2000 },
    )
  })
})
