import { describe, expect, it } from 'vitest'
import {
  boundMs,
  connectOptions,
  incomingProperties,
  isPersistentSession,
  positiveInt,
  publishOptions,
  publishProperties,
  sessionExpiry,
  type PublishPacket,
} from '../../../../src/core/pubsub/mqtt-options.js'
import { mqttMetadata } from '../../../helpers/factories.js'

describe('sessionExpiry and isPersistentSession', () => {
  it('3.1.1 has no expiry; the clean flag alone decides', () => {
    expect(sessionExpiry(mqttMetadata({ cleanSession: false }))).toBeUndefined()
    expect(isPersistentSession(mqttMetadata({ cleanSession: false }))).toBe(true)
    expect(isPersistentSession(mqttMetadata({ cleanSession: true }))).toBe(false)
  })
  it('MQTT 5: a configured expiry wins; else never for a configured consumerID, 300 s for a generated one', () => {
    expect(sessionExpiry(mqttMetadata({ protocolVersion: 5, sessionExpiryInterval: 42 }))).toBe(42)
    expect(sessionExpiry(mqttMetadata({ protocolVersion: 5, cleanSession: false, consumerID: 'fixed' }))).toBe(0xffffffff)
    expect(sessionExpiry(mqttMetadata({ protocolVersion: 5, cleanSession: false }))).toBe(300)
    expect(sessionExpiry(mqttMetadata({ protocolVersion: 5, cleanSession: true }))).toBeUndefined()
    expect(isPersistentSession(mqttMetadata({ protocolVersion: 5, cleanSession: true, sessionExpiryInterval: 10 }))).toBe(true)
    expect(isPersistentSession(mqttMetadata({ protocolVersion: 5, cleanSession: true, sessionExpiryInterval: 0 }))).toBe(false)
  })
})

describe('connectOptions', () => {
  it('hands reconnects and resubscription to us and never queues QoS 0', () => {
    const o = connectOptions(mqttMetadata({ url: 'mqtt://u:p@broker:1884', consumerID: 'c', cleanSession: false }), { maxUnacked: 10 })
    expect(o).toMatchObject({ host: 'broker', port: 1884, clientId: 'c', clean: false, reconnectPeriod: 0, resubscribe: false, manualConnect: true, queueQoSZero: false, username: 'u', password: 'p' })
    expect(o.properties).toBeUndefined()
  })
  it('MQTT 5: Receive Maximum is maxUnacked (capped at 65535) and the session expiry is sent', () => {
    const md = mqttMetadata({ protocolVersion: 5, cleanSession: false, consumerID: 'c' })
    expect(connectOptions(md, { maxUnacked: 100 }).properties).toEqual({ receiveMaximum: 100, sessionExpiryInterval: 0xffffffff })
    expect(connectOptions(md, { maxUnacked: 1_000_000 }).properties?.receiveMaximum).toBe(0xffff)
  })
  it('a client certificate without its key is not used, and the caller is told', () => {
    const warnings: string[] = []
    const o = connectOptions(mqttMetadata({ clientCert: 'CERT' }), { maxUnacked: 1, warn: (m) => warnings.push(m) })
    expect(o.cert).toBeUndefined()
    expect(warnings).toEqual(['clientCert and clientKey must both be set; neither is used'])
  })
  it('keeps the WebSocket path', () => {
    expect(connectOptions(mqttMetadata({ url: 'wss://host/mqtt/ws' }), { maxUnacked: 1 }).path).toBe('/mqtt/ws')
  })
})

describe('publishOptions and properties', () => {
  it('shares frozen objects for the common cases, retain from the component unless overridden', () => {
    const md = mqttMetadata({ retain: true })
    const a = publishOptions(md, {}, 1)
    expect(a).toEqual({ qos: 1, retain: true })
    expect(Object.isFrozen(a)).toBe(true)
    expect(publishOptions(md, {}, 1)).toBe(a)
    expect(publishOptions(md, { retain: false }, 2)).toEqual({ qos: 2, retain: false })
  })
  it('MQTT 5 properties only on MQTT 5, and only the ones set', () => {
    const opts = { contentType: 'application/json', messageExpiryInterval: 5, userProperties: { a: '1', b: ['x', 'y'] } }
    expect(publishOptions(mqttMetadata({ protocolVersion: 4 }), opts, 1)).toEqual({ qos: 1, retain: false })
    expect(publishOptions(mqttMetadata({ protocolVersion: 5 }), opts, 1)).toEqual({ qos: 1, retain: false, properties: { contentType: 'application/json', messageExpiryInterval: 5, userProperties: { a: '1', b: ['x', 'y'] } } })
  })
  it('drops undefined user property values (mqtt-packet throws on them) and sends no empty map', () => {
    expect(publishProperties({ userProperties: { a: undefined as unknown as string } })).toBeUndefined()
    expect(publishProperties({ userProperties: { n: 1 as unknown as string } })).toEqual({ userProperties: { n: '1' } })
  })
  it('incomingProperties copies what a subscriber sees, nothing for 3.1.1', () => {
    const packet = { properties: { contentType: 'text/plain', userProperties: { k: 'v' }, messageExpiryInterval: 3, topicAlias: 1 } } as unknown as PublishPacket
    expect(incomingProperties(packet)).toEqual({ contentType: 'text/plain', userProperties: { k: 'v' }, messageExpiryInterval: 3 })
    expect(incomingProperties({} as PublishPacket)).toBeUndefined()
  })
})

describe('boundMs and positiveInt', () => {
  it('a bound always ends: NaN and negatives are 0, beyond the timer maximum is the maximum', () => {
    expect(boundMs(Number.NaN)).toBe(0)
    expect(boundMs(-5)).toBe(0)
    expect(boundMs(Infinity)).toBe(0x7fffffff)
    expect(boundMs(250)).toBe(250)
  })
  it('positiveInt falls back on anything not a positive finite number', () => {
    expect(positiveInt(undefined, 7)).toBe(7)
    expect(positiveInt(0, 7)).toBe(7)
    expect(positiveInt(Number.NaN, 7)).toBe(7)
    expect(positiveInt(3.9, 7)).toBe(3)
  })
})
