import { afterAll, afterEach } from 'vitest'
import { PubsubClient } from '../../../src/core/pubsub/index.js'
import type { ConnectionState, IncomingMessage, PubsubClientOptions } from '../../../src/core/pubsub/types.js'
import { mqttMetadata, type MqttMetadataOverrides } from '../../helpers/factories.js'
import { startEmbeddedBroker } from '../../../src/local/broker.js'
import { startMosquitto, type MosquittoOptions } from '../../../support/mosquitto.js'
import { startNats, type NatsOptions } from '../../../support/nats.js'
import { startRabbitMq, type RabbitMqOptions } from '../../../support/rabbitmq.js'
import type { BrokerProfile } from '../../../src/core/resources/broker-profile.js'

/** A broker under test, as the shared suite sees it. */
export interface RunningBroker {
  url: string
  port: number
  /** Stops the broker hard (SIGKILL for Mosquitto, close for aedes). */
  kill(): Promise<void>
  /** Starts it again on the same port. */
  restart(): Promise<void>
  stop(): Promise<void>
}

export interface BrokerTarget {
  name: string
  protocolVersion: 4 | 5
  /** `$share/...` works (Mosquitto yes, aedes 1.x no). */
  sharedSubscriptions: boolean
  /** Sets DUP on a redelivery (Mosquitto yes; aedes 1.x resends without it). */
  dupOnRedelivery: boolean
  /** Grants and delivers QoS 2 (RabbitMQ and NATS do not: the component's brokerProfile degrades it). */
  qos2: boolean
  /** The component's `brokerProfile` for this broker, when it has known limits. */
  brokerProfile?: BrokerProfile
  start(): Promise<RunningBroker>
}

export function aedesTarget(): BrokerTarget {
  return {
    name: 'aedes (in-process, MQTT 3.1.1)',
    protocolVersion: 4,
    sharedSubscriptions: false,
    dupOnRedelivery: false,
    qos2: true,
    async start() {
      let broker = await startEmbeddedBroker()
      const port = broker.port
      let down = false
      return {
        url: broker.url,
        port,
        async kill() {
          down = true
          await broker.close()
        },
        async restart() {
          if (!down) await broker.close()
          broker = await startEmbeddedBroker({ port })
          down = false
        },
        async stop() {
          await broker.close()
        },
      }
    },
  }
}

export function mosquittoTarget(protocolVersion: 4 | 5, opts: MosquittoOptions = {}): BrokerTarget {
  return {
    name: `mosquitto (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'})`,
    protocolVersion,
    sharedSubscriptions: true,
    dupOnRedelivery: true,
    qos2: true,
    async start() {
      // 100 in flight: the decoupling test hands 50 un-acked messages to one client.
      const m = await startMosquitto({ ...opts, extraConfig: ['max_inflight_messages 100', ...(opts.extraConfig ?? [])] })
      return { url: m.url, port: m.port, kill: () => m.kill(), restart: () => m.restart(), stop: () => m.stop() }
    },
  }
}

export function rabbitmqTarget(opts: RabbitMqOptions = {}): BrokerTarget {
  return {
    name: 'rabbitmq (MQTT 3.1.1)',
    protocolVersion: 4,
    sharedSubscriptions: false,
    dupOnRedelivery: true,
    qos2: false,
    brokerProfile: 'rabbitmq',
    async start() {
      const r = await startRabbitMq({ ...opts, extraConfig: ['mqtt.prefetch = 100', ...(opts.extraConfig ?? [])] })
      return { url: r.url, port: r.port, kill: () => r.kill(), restart: () => r.restart(), stop: () => r.stop() }
    },
  }
}

export function natsTarget(opts: NatsOptions = {}): BrokerTarget {
  return {
    name: 'nats (MQTT 3.1.1)',
    protocolVersion: 4,
    sharedSubscriptions: false,
    dupOnRedelivery: true,
    qos2: false,
    brokerProfile: 'nats',
    async start() {
      const r = await startNats({ ackWait: '1s', ...opts })
      return { url: r.url, port: r.port, kill: () => r.kill(), restart: () => r.restart(), stop: () => r.stop() }
    },
  }
}

/** Fast reconnects for tests. */
export const FAST: PubsubClientOptions = { reconnectBaseMs: 50, reconnectMaxMs: 400, closeTimeoutMs: 500 }

/** Creates clients and closes them after each test (and at the end of the file). */
export function clientFactory(defaults: () => MqttMetadataOverrides) {
  const open = new Set<PubsubClient>()
  const closeAll = async () => {
    const all = [...open]
    open.clear()
    await Promise.all(all.map((c) => c.close()))
  }
  afterEach(closeAll)
  afterAll(closeAll)
  let n = 0
  return (overrides: MqttMetadataOverrides = {}, options: PubsubClientOptions = {}): PubsubClient => {
    const client = new PubsubClient(
      { name: `c${++n}`, metadata: mqttMetadata({ ...defaults(), ...overrides }) },
      { ...FAST, ...options },
    )
    open.add(client)
    return client
  }
}

/** Collects deliveries; waits on counts or predicates with a bound. */
export class Inbox {
  readonly messages: IncomingMessage[] = []
  private readonly waiters = new Set<() => void>()
  private readonly autoAck: boolean

  constructor(opts: { autoAck?: boolean } = {}) {
    this.autoAck = opts.autoAck ?? false
  }

  readonly handler = (m: IncomingMessage): void => {
    this.messages.push(m)
    if (this.autoAck) m.ack()
    for (const w of [...this.waiters]) w()
  }

  payloads(): string[] {
    return this.messages.map((m) => m.payload.toString())
  }

  async until(pred: (msgs: IncomingMessage[]) => boolean, what: string, timeoutMs = 5000): Promise<IncomingMessage[]> {
    if (pred(this.messages)) return this.messages
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pred(this.messages)) return
        clearTimeout(timer)
        this.waiters.delete(check)
        resolve()
      }
      const timer = setTimeout(() => {
        this.waiters.delete(check)
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.payloads())}`))
      }, timeoutMs)
      this.waiters.add(check)
    })
    return this.messages
  }

  count(n: number, timeoutMs = 5000): Promise<IncomingMessage[]> {
    return this.until((m) => m.length >= n, `${n} messages`, timeoutMs)
  }

  /** Waits for a message whose payload is `payload`; returns it. */
  async payload(payload: string, timeoutMs = 5000): Promise<IncomingMessage> {
    await this.until((m) => m.some((x) => x.payload.toString() === payload), `payload ${payload}`, timeoutMs)
    const found = this.messages.find((x) => x.payload.toString() === payload)
    if (!found) throw new Error('unreachable')
    return found
  }
}

export function waitForState(client: PubsubClient, state: ConnectionState, timeoutMs = 5000): Promise<void> {
  if (client.state === state) return Promise.resolve()
  return nextState(client, state, timeoutMs)
}

/** Resolves with the next state change to `state` (not the current one). */
export function nextState(client: PubsubClient, state: ConnectionState, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const on = (s: ConnectionState) => {
      if (s !== state) return
      clearTimeout(timer)
      client.off('state', on)
      resolve()
    }
    const timer = setTimeout(() => {
      client.off('state', on)
      reject(new Error(`client did not enter state ${state} within ${timeoutMs} ms (now ${client.state})`))
    }, timeoutMs)
    client.on('state', on)
  })
}

/** Only for asserting that something does NOT happen: there is no event to wait for. */
export function quietPeriod(ms = 150): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

export function uniqueTopic(prefix: string): string {
  return `${prefix}/${Math.random().toString(16).slice(2, 10)}`
}
