/**
 * brokerProfile: what RabbitMQ's and NATS' MQTT gateways do silently (measured in
 * test/integration/brokers/) becomes an error naming the setting, or a degradation with a
 * warning; the default and Mosquitto change nothing.
 */
import { describe, expect, it } from 'vitest'
import { ResourceError } from '../../../../src/core/errors.js'
import type { PubsubComponent, SubscriptionResource } from '../../../../src/core/resources/types.js'
import { publishTopicFinding, slowDeliveryWarning, subscriptionFilterFinding, WarnOnce } from '../../../../src/core/resources/broker-profile.js'
import { compileSubscriptions, specFromResource } from '../../../../src/forwarder/subscriptions.js'
import { TargetRegistry } from '../../../../src/forwarder/targets/index.js'
import { createPublishApi } from '../../../../src/http/index.js'
import { apiRequest, loadPubsubs } from '../../../helpers/http.js'
import { URL_ENTRY, loadError, loadPubsub, loadText } from './helpers.js'
import { pubsubYaml } from './builders.js'

const profile = (value: string) => ({ name: 'brokerProfile', value })

describe('brokerProfile: the component', () => {
  it('defaults to generic, which sets nothing and changes nothing', async () => {
    const plain = await loadPubsub([URL_ENTRY, { name: 'qos', value: '2' }])
    expect(plain.metadata.brokerProfile).toBeUndefined()
    expect(plain.metadata.qos).toBe(2)
    for (const value of ['generic', 'mosquitto', 'aws-iot', 'event-grid']) {
      const loaded = await loadText(pubsubYaml([URL_ENTRY, { name: 'qos', value: '2' }, { name: 'protocolVersion', value: '5' }, profile(value)]))
      expect(loaded.pubsubs[0]?.metadata.qos, value).toBe(2)
      expect(loaded.warnings, value).toEqual([])
    }
  })

  it('is read case-insensitively; anything else is refused naming the field and the choices', async () => {
    expect((await loadPubsub([URL_ENTRY, profile(' RabbitMQ ')])).metadata.brokerProfile).toBe('rabbitmq')
    const err = await loadError(pubsubYaml([URL_ENTRY, profile('hivemq')]))
    expect(err.message).toContain('spec.metadata.brokerProfile')
    expect(err.message).toContain('expected one of generic, mosquitto, rabbitmq, nats, aws-iot, event-grid, got "hivemq"')
  })

  it('rabbitmq and nats: qos 2 is degraded to 1 with a warning on spec.metadata.qos (neither grants it)', async () => {
    for (const broker of ['rabbitmq', 'nats']) {
      const loaded = await loadText(pubsubYaml([URL_ENTRY, { name: 'qos', value: '2' }, profile(broker)]))
      expect(loaded.pubsubs[0]?.metadata.qos, broker).toBe(1)
      expect(loaded.warnings.join('\n'), broker).toMatch(/spec\.metadata\.qos: 2 is degraded to 1: brokerProfile (rabbitmq|nats)/)
    }
    const nats = await loadText(pubsubYaml([URL_ENTRY, { name: 'qos', value: '2' }, profile('nats')]))
    expect(nats.warnings.join('\n')).toContain('closes the connection on a QoS 2 PUBLISH')
  })

  it('nats: protocolVersion 5 is refused (3.1.1 only); rabbitmq: a warning (before 3.13 the socket is closed)', async () => {
    const err = await loadError(pubsubYaml([URL_ENTRY, { name: 'protocolVersion', value: '5' }, profile('nats')]))
    expect(err.message).toContain('spec.metadata.protocolVersion')
    expect(err.message).toContain('speaks MQTT 3.1.1 only')
    const rabbit = await loadText(pubsubYaml([URL_ENTRY, { name: 'protocolVersion', value: '5' }, profile('rabbitmq')]))
    expect(rabbit.pubsubs[0]?.metadata.protocolVersion).toBe(5)
    expect(rabbit.warnings.join('\n')).toMatch(/spec\.metadata\.protocolVersion: 5: brokerProfile rabbitmq.*3\.13/)
  })

  it('nats: a session ledger topic with "." is refused at load, naming sessionLedgerTopic', async () => {
    const err = await loadError(pubsubYaml([URL_ENTRY, { name: 'sessionLedgerTopic', value: 'ledger.v1' }, profile('nats')]))
    expect(err.message).toContain('spec.metadata.sessionLedgerTopic')
    expect(err.message).toContain('"ledger.v1"')
  })
})

describe('brokerProfile: topics and filters', () => {
  it('$share/... is refused on rabbitmq and nats (accepted, then nothing is delivered), allowed elsewhere', () => {
    for (const broker of ['rabbitmq', 'nats'] as const) {
      const finding = subscriptionFilterFinding(broker, '$share/workers/orders/#')
      expect(finding?.level, broker).toBe('error')
      expect(finding?.text, broker).toContain('accepts $share/... and delivers nothing')
    }
    for (const broker of ['generic', 'mosquitto', 'aws-iot', 'event-grid'] as const) expect(subscriptionFilterFinding(broker, '$share/workers/orders/#')).toBeUndefined()
  })

  it('nats refuses "." and spaces in filters and publish topics; rabbitmq refuses rewritten filters and warns on rewritten topics', () => {
    expect(subscriptionFilterFinding('nats', 'orders.eu/#')?.text).toContain('refuses a filter containing "."')
    expect(subscriptionFilterFinding('nats', 'orders eu/#')?.text).toContain('a space')
    expect(subscriptionFilterFinding('nats', 'orders/eu/#')).toBeUndefined()
    expect(publishTopicFinding('nats', 'orders.eu')).toMatchObject({ level: 'error' })
    expect(publishTopicFinding('nats', 'orders/eu')).toBeUndefined()
    const filter = subscriptionFilterFinding('rabbitmq', 'orders.eu/*')
    expect(filter?.level).toBe('error')
    expect(filter?.text).toContain('"orders.eu/*" becomes "orders/eu/+"')
    expect(publishTopicFinding('rabbitmq', 'orders.eu')).toMatchObject({ level: 'warning' })
    expect(publishTopicFinding('rabbitmq', 'orders.eu')?.text).toContain('receive it as "orders/eu"')
    expect(publishTopicFinding('mosquitto', 'orders.eu')).toBeUndefined()
  })

  it('nats and QoS 1: the ack_wait redelivery is named once per component; QoS 0 and other brokers say nothing', () => {
    expect(slowDeliveryWarning('nats', 1)).toContain('ack_wait')
    expect(slowDeliveryWarning('nats', 0)).toBeUndefined()
    expect(slowDeliveryWarning('rabbitmq', 1)).toBeUndefined()
  })

  it('WarnOnce runs a warning once per key and stays bounded', () => {
    const once = new WarnOnce(2)
    const said: string[] = []
    for (const key of ['a', 'a', 'b', 'a', 'c', 'a']) once.warn(key, () => said.push(key))
    // 'c' filled the set past its bound: it was cleared, so 'a' is said again.
    expect(said).toEqual(['a', 'b', 'c', 'a'])
  })
})

describe('brokerProfile: the forwarder refuses at start what the broker would not deliver', () => {
  const subscription = (extra: Partial<SubscriptionResource>): SubscriptionResource => ({
    kind: 'Subscription',
    name: 'orders',
    apiVersion: 'dapr.io/v2alpha1',
    pubsubname: 'mqtt',
    topic: 'orders/#',
    rules: [{ match: '', path: '/orders' }],
    metadata: {},
    scopes: [],
    file: 'subs.yaml',
    document: 2,
    ...extra,
  })
  const compile = (pubsub: PubsubComponent, sub: SubscriptionResource) => {
    const warnings: string[] = []
    const result = compileSubscriptions([specFromResource(sub)], {
      resources: { pubsubs: [pubsub] },
      targets: new TargetRegistry({ appUrl: 'http://app:3000', env: {} }),
      warn: (w) => warnings.push(w),
    })
    return { result, warnings }
  }
  const component = async (broker: string, qos = '1') => ({
    ...(await loadPubsub([URL_ENTRY, { name: 'qos', value: qos }, { name: 'cleanSession', value: 'false' }, { name: 'consumerID', value: 'fwd' }, profile(broker)])),
    name: 'mqtt',
  })

  it('a $share/ Subscription on rabbitmq: a ResourceError naming its topic field', async () => {
    let error: unknown
    try {
      compile(await component('rabbitmq'), subscription({ topic: '$share/g/orders/#' }))
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ResourceError)
    expect(String(error)).toContain('spec.topic')
    expect(String(error)).toContain('accepts $share/... and delivers nothing')
  })

  it('nats: a dead-letter topic with "." is refused; a valid Subscription compiles with the ack_wait warning', async () => {
    const nats = await component('nats')
    expect(() => compile(nats, subscription({ deadLetterTopic: 'dead.letters' }))).toThrow(/spec\.deadLetterTopic.*"dead\.letters"/)
    const { result, warnings } = compile(nats, subscription({}))
    expect(result).toHaveLength(1)
    expect(warnings.join('\n')).toContain('ack_wait')
  })
})

describe('brokerProfile: the publish API', () => {
  it('nats: a topic with "." is answered 400 naming the rule before anything is sent (no broker listens here)', async () => {
    const resources = await loadPubsubs([{ name: 'nats', url: 'mqtt://127.0.0.1:9', metadata: { brokerProfile: 'nats' } }], 'app')
    const api = createPublishApi({ resources, appId: 'app' })
    const res = await api(apiRequest({ url: '/v1.0/publish/nats/orders.eu', method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }))
    expect(res.status).toBe(400)
    expect(JSON.parse(res.body)).toMatchObject({ errorCode: 'ERR_MALFORMED_REQUEST' })
    expect(JSON.parse(res.body).message).toContain('closes the connection on a PUBLISH whose topic contains "."')
  })
})
