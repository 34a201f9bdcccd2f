import { describe, expect, it } from 'vitest'
import { ledgerTopic, parseLedger, staleFilters } from '../../../src/forwarder/session-ledger.js'
import { mqttMetadata } from '../../helpers/factories.js'

describe('ledgerTopic: only sessions someone resumes get a ledger', () => {
  it('a persistent 3.1.1 session with a configured consumerID: mqtt-fn/sessions/<consumerID>', () => {
    expect(ledgerTopic(mqttMetadata({ consumerID: 'orders-fwd', cleanSession: false }))).toBe('mqtt-fn/sessions/orders-fwd')
  })
  it('none for a clean session, a generated consumerID, or sessionLedgerTopic none', () => {
    expect(ledgerTopic(mqttMetadata({ consumerID: 'a', cleanSession: true }))).toBeUndefined()
    expect(ledgerTopic(mqttMetadata({ cleanSession: false }))).toBeUndefined()
    expect(ledgerTopic(mqttMetadata({ consumerID: 'a', cleanSession: false, sessionLedgerTopic: null }))).toBeUndefined()
  })
  it('MQTT 5: a clean start with a session expiry is persistent too', () => {
    expect(ledgerTopic(mqttMetadata({ consumerID: 'v5', cleanSession: true, protocolVersion: 5, sessionExpiryInterval: 60 }))).toBe('mqtt-fn/sessions/v5')
    expect(ledgerTopic(mqttMetadata({ consumerID: 'v5', cleanSession: true, protocolVersion: 5 }))).toBeUndefined()
  })
  it('a consumerID that a topic cannot carry is hashed (wildcards, levels, NATS-hostile dots)', () => {
    for (const id of ['a/b', 'a+b', 'a#', 'pod.1', 'x'.repeat(129)]) {
      const topic = ledgerTopic(mqttMetadata({ consumerID: id, cleanSession: false }))
      expect(topic).toMatch(/^mqtt-fn\/sessions\/[0-9a-f]{32}$/)
    }
  })
  it('a configured sessionLedgerTopic is used as is', () => {
    expect(ledgerTopic(mqttMetadata({ consumerID: 'a', cleanSession: false, sessionLedgerTopic: 'ops/ledger/a' }))).toBe('ops/ledger/a')
  })
})

describe('parseLedger and staleFilters', () => {
  it('reads the list it writes; anything else is not a list', () => {
    expect(parseLedger(Buffer.from('{"filters":["a/#","$share/g/b"],"consumerID":"x"}'))).toEqual(['a/#', '$share/g/b'])
    for (const bad of ['', 'garbage', '[]', '{"filters":"a"}', '{"filters":[1]}', 'null']) expect(parseLedger(Buffer.from(bad))).toBeUndefined()
  })
  it('stale = recorded minus wanted minus the ledger itself, exact strings, once each', () => {
    expect(staleFilters(['a/#', 'b/#', 'b/#', 'led', '$share/g/c'], ['a/#', 'c'], 'led')).toEqual(['b/#', '$share/g/c'])
  })
})
