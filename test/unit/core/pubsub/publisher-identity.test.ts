import { describe, expect, it } from 'vitest'
import { publisherComponent } from '../../../../src/core/pubsub/publisher-identity.js'
import type { PubsubComponent } from '../../../../src/core/resources/types.js'
import { mqttMetadata } from '../../../helpers/factories.js'

const component = (overrides: Parameters<typeof mqttMetadata>[0]): PubsubComponent => ({
  kind: 'Component',
  name: 'pubsub',
  type: 'pubsub.mqtt',
  file: 'x.yaml',
  document: 1,
  metadata: mqttMetadata(overrides),
  runtime: {},
  scopes: [],
  raw: {},
})

describe('publisherComponent (client identity of a function instance)', () => {
  it('gives a configured consumerID an instance suffix and a clean session, so concurrent instances never share a client id', () => {
    const c = publisherComponent(component({ consumerID: 'orders-app', cleanSession: false }))
    expect(c.metadata.consumerID).toMatch(/^orders-app-[0-9a-f]{6}$/)
    expect(c.metadata.cleanSession).toBe(true)
  })

  it('keeps an id that is already unique per process and clean', () => {
    const original = component({ cleanSession: true })
    expect(publisherComponent(original)).toBe(original)
  })

  it('makes a generated id clean (a publish-only client needs no session)', () => {
    const original = component({ cleanSession: false })
    const c = publisherComponent(original)
    expect(c.metadata.consumerID).toBe(original.metadata.consumerID)
    expect(c.metadata.cleanSession).toBe(true)
  })
})
