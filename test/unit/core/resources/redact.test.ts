import { describe, expect, it } from 'vitest'
import { createRedactor, redact, registerSensitiveValues, sensitiveForms } from '../../../../src/core/resources/index.js'

describe('redaction', () => {
  it('masks a value in its plain, percent-encoded and JSON-escaped forms', () => {
    const secret = 'p@ss "word"/x'
    const mask = createRedactor([secret])
    expect(mask(`a ${secret} b`)).toBe('a *** b')
    expect(mask(`url mqtt://u:${encodeURIComponent(secret)}@h`)).not.toContain(encodeURIComponent(secret))
    expect(mask(JSON.stringify({ password: secret }))).toBe('{"password":"***"}')
  })

  it('masks each line of a multi-line secret (a PEM key logged in part)', () => {
    const key = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\nAwEHBG0wawIBAQQgabcdefghijklmno\n-----END PRIVATE KEY-----\n'
    const mask = createRedactor([key])
    expect(mask('line: AwEHBG0wawIBAQQgabcdefghijklmno')).toBe('line: ***')
    expect(sensitiveForms(key)).toContain('MIGHAgEAMBMGByqGSM49AgEGCCqGSM49')
  })

  it('masks the password of any scheme://user:password@ url, registered or not', () => {
    expect(redact('dial mqtts://bob:NeverSeen1@broker:8883 failed')).toBe('dial mqtts://bob:***@broker:8883 failed')
    expect(redact('no url here')).toBe('no url here')
  })

  it('masks values registered process-wide, the longest first', () => {
    registerSensitiveValues(['reg-secret-1', 'reg-secret-1-longer'])
    expect(redact('x reg-secret-1-longer y reg-secret-1')).toBe('x *** y ***')
  })

  it('masks extra values passed in the call', () => {
    expect(redact('token=abc123xyz', ['abc123xyz'])).toBe('token=***')
  })

  it('does not mask values shorter than 3 characters (they would garble every line)', () => {
    expect(createRedactor(['ab'])('ab cab')).toBe('ab cab')
  })
})
