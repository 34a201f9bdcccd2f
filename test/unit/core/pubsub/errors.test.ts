import { ErrorWithReasonCode } from 'mqtt'
import { describe, expect, it } from 'vitest'
import { ConnectError, PublishError, SubscribeError, classifyConnectionError, publishRefusal, subscribeFailure, tlsProblem } from '../../../../src/core/pubsub/errors.js'

const ctx = { url: 'mqtt://broker:1883', protocolVersion: 4 as const, connectTimeout: 5000 }

describe('classifyConnectionError', () => {
  it('a CONNACK refusal carries its code; server unavailable is retriable, bad credentials are not', () => {
    const unavailable = classifyConnectionError(new ErrorWithReasonCode('Connection refused: Server unavailable', 3), ctx)
    expect(unavailable).toBeInstanceOf(ConnectError)
    expect(unavailable).toMatchObject({ reasonCode: 3, retriable: true })
    expect(unavailable.message).toBe('connect to mqtt://broker:1883: refused by the broker: Server unavailable (return code 3)')
    const denied = classifyConnectionError(new ErrorWithReasonCode('Connection refused: Bad username or password', 4), ctx)
    expect(denied).toMatchObject({ reasonCode: 4, retriable: false })
    expect(classifyConnectionError(new ErrorWithReasonCode('Connection refused: Not authorized', 0x87), { ...ctx, protocolVersion: 5 }).message).toContain('(reason code 135)')
  })
  it('TLS errors say what to check and are not retriable', () => {
    const err = Object.assign(new Error('self-signed certificate'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' })
    const e = classifyConnectionError(err, ctx)
    expect(e).toMatchObject({ retriable: false })
    expect(e.message).toContain("the broker's certificate is not trusted (caCert)")
  })
  it('a missing CONNACK names the bound; socket errors stay retriable ConnectErrors; others pass through', () => {
    expect(classifyConnectionError(new Error('connack timeout'), ctx).message).toContain('no CONNACK within 5000 ms')
    const refused = classifyConnectionError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), ctx)
    expect(refused).toMatchObject({ retriable: true })
    const other = new Error('something else')
    expect(classifyConnectionError(other, ctx)).toBe(other)
  })
})

describe('tlsProblem', () => {
  it("cuts OpenSSL's line to its reason and adds the hint for the code", () => {
    expect(tlsProblem('C0:error:0A000410:SSL routines:ssl3_read_bytes:sslv3 alert handshake failure:', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE')).toBe(
      'sslv3 alert handshake failure (ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE); the broker wants a client certificate (clientCert + clientKey)',
    )
    expect(tlsProblem('Hostname/IP does not match', 'ERR_TLS_CERT_ALTNAME_INVALID')).toContain('does not name this host')
  })
})

describe('publishRefusal and subscribeFailure', () => {
  it('a PUBACK refusal is terminal for codes that will not change (not authorized, topic invalid...)', () => {
    const notAuthorized = publishRefusal('t', 'mqtt://b', new ErrorWithReasonCode('Not authorized', 0x87))
    expect(notAuthorized).toBeInstanceOf(PublishError)
    expect(notAuthorized).toMatchObject({ retriable: false })
    expect(notAuthorized.message).toContain('(reason code 0x87)')
    expect(publishRefusal('t', 'mqtt://b', new ErrorWithReasonCode('Quota exceeded', 0x97))).toMatchObject({ retriable: true })
  })
  it('a SUBACK failure code is a refusal with its code; any other error is retriable', () => {
    const refused = subscribeFailure('a/#', 'mqtt://b', Object.assign(new Error('Subscribe error'), { packet: { granted: [0x80] } }))
    expect(refused).toBeInstanceOf(SubscribeError)
    expect(refused).toMatchObject({ reasonCode: 0x80, retriable: false })
    expect(subscribeFailure('a/#', 'mqtt://b', new Error('Connection closed'))).toMatchObject({ reasonCode: undefined, retriable: true })
  })
})
