// The per-message counters are plain numbers folded into prom-client when the registry is read:
// every read shows what was counted so far, exactly once, under its own labels.
import { describe, expect, it } from 'vitest'
import { ForwarderMetrics } from '../../../src/forwarder/metrics.js'

describe('ForwarderMetrics cheap counters', () => {
  it('received and delivered show every count once, per label set, across several reads', async () => {
    const m = new ForwarderMetrics()
    const a = m.receivedFor({ pubsub: 'p', subscription: 'a' })
    const b = m.receivedFor({ pubsub: 'p', subscription: 'b' })
    const delivered = m.deliveredFor({ pubsub: 'p', subscription: 'a', target: 'http://app/x' })
    for (let i = 0; i < 3; i++) a.inc()
    b.inc()
    delivered.inc()
    expect(await m.total('received')).toBe(4)
    expect(await m.total('received', { subscription: 'a' })).toBe(3)
    // Read again with nothing new: no double counting.
    expect(await m.total('received')).toBe(4)
    a.inc()
    delivered.inc()
    const text = await m.text()
    expect(text).toContain('mqttfn_forwarder_received_total{pubsub="p",subscription="a"} 4')
    expect(text).toContain('mqttfn_forwarder_received_total{pubsub="p",subscription="b"} 1')
    expect(text).toContain('mqttfn_forwarder_delivered_total{pubsub="p",subscription="a",target="http://app/x"} 2')
    expect(await m.total('delivered')).toBe(2)
  })

  it('two forwarders in one process keep their own counts', async () => {
    const one = new ForwarderMetrics()
    const two = new ForwarderMetrics()
    one.receivedFor({ pubsub: 'p', subscription: 's' }).inc()
    expect(await one.total('received')).toBe(1)
    expect(await two.total('received')).toBe(0)
  })
})
