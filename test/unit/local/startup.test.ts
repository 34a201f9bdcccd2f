import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MqttFnError } from '../../../src/core/errors.js'
import { loadResources } from '../../../src/core/resources/index.js'
import type { LoadedResources } from '../../../src/core/resources/types.js'
import { ephemeralPort } from '../../../src/local/ports.js'
import { checkBrokerUrl, choosePort, pointAt, PortInUseError } from '../../../src/local/startup.js'
import { makeCert, pubsubYaml } from '../core/resources/builders.js'

describe('choosePort (the dev ports rule)', () => {
  it('unset: the preferred port when free; 0: any port (the OS picks at bind); N: exactly N', async () => {
    const free = await ephemeralPort()
    expect(await choosePort(undefined, free, 'port')).toBe(free)
    expect(await choosePort(0, free, 'port')).toBe(0)
    expect(await choosePort(free, 3500, 'brokerPort')).toBe(free)
  })

  it('N taken by another listener: PortInUseError naming the option and the port', async () => {
    const holder = net.createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()))
    const taken = (holder.address() as net.AddressInfo).port
    try {
      const error = await choosePort(taken, 1883, 'brokerPort').catch((e: unknown) => e)
      expect(error).toBeInstanceOf(PortInUseError)
      expect(error).toMatchObject({ code: 'ERR_PORT_IN_USE', option: 'brokerPort', port: taken })
      // Unset, the same preferred port is skipped for the next free one.
      expect(await choosePort(undefined, taken, 'brokerPort')).not.toBe(taken)
    } finally {
      await new Promise((resolve) => holder.close(resolve))
    }
  })
})

describe('pointAt / checkBrokerUrl', () => {
  let dir: string
  let loaded: LoadedResources

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-startup-'))
    const { cert, key } = makeCert()
    await writeFile(
      path.join(dir, 'pubsub.yaml'),
      pubsubYaml([
        { name: 'url', value: 'mqtts://broker.example:8883' },
        { name: 'caCert', value: cert },
        { name: 'clientCert', value: cert },
        { name: 'clientKey', value: key },
        { name: 'qos', value: 1 },
      ]),
    )
    loaded = await loadResources(dir, { appId: 'app' })
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('points every pubsub at the dev broker and drops its TLS material, keeping the rest', () => {
    const pointed = pointAt(loaded, 'mqtt://127.0.0.1:1884')
    const [pubsub] = pointed.pubsubs
    expect(pubsub?.metadata.url).toMatchObject({ protocol: 'mqtt', host: '127.0.0.1', port: 1884 })
    expect(pubsub?.metadata.caCert).toBeUndefined()
    expect(pubsub?.metadata.clientCert).toBeUndefined()
    expect(pubsub?.metadata.clientKey).toBeUndefined()
    expect(pubsub?.metadata.qos).toBe(1)
    // The loaded resources themselves are left as they were (a reload fallback reuses them).
    expect(loaded.pubsubs[0]?.metadata.url.host).toBe('broker.example')
  })

  it('a bad broker URL is a usage error that names it', () => {
    expect(() => checkBrokerUrl('not a url')).toThrow(MqttFnError)
    expect(() => pointAt(loaded, 'not a url')).toThrow(/^broker "not a url": /)
  })
})
