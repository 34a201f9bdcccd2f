/**
 * `brokerProfile` (an mqtt-fn extension): what a broker cannot be asked for, as measured
 * against the broker itself (README "Brokers"). A broker cannot be recognised from the wire,
 * so the component says which one it is, and these rules turn what that broker would do
 * silently (accept a `$share/...` SUBSCRIBE and deliver nothing, drop the connection on a
 * topic with `.`, rewrite a topic) into an error naming the setting, or a documented
 * degradation with a warning. `generic` (the default) and `mosquitto` have no rules; `aws-iot`
 * and `event-grid` are accepted and have none here yet.
 */
import type { MqttMetadata } from './types.js'

export const BROKER_PROFILES = ['generic', 'mosquitto', 'rabbitmq', 'nats', 'aws-iot', 'event-grid'] as const
export type BrokerProfile = (typeof BROKER_PROFILES)[number]

/** One rule's verdict: `error` refuses (load, start or the request), `warning` lets it through. */
export interface ProfileFinding {
  level: 'error' | 'warning'
  /** The metadata field it is about (component rules), for the `spec.metadata.X` path. */
  field?: string
  text: string
}

/** The broker as the messages name it: the versions the rules were measured on. */
const BROKER_NAME: Partial<Record<BrokerProfile, string>> = {
  rabbitmq: 'RabbitMQ 3.x (rabbitmq_mqtt)',
  nats: "NATS 2.x's MQTT gateway",
}

function prefix(profile: BrokerProfile): string {
  return `brokerProfile ${profile}: ${BROKER_NAME[profile] ?? profile}`
}

/** The field value, trimmed and lower-cased; an empty value is the default. */
export function parseBrokerProfile(value: string | undefined): { profile: BrokerProfile } | { problem: string } {
  const text = (value ?? '').trim().toLowerCase()
  if (text === '') return { profile: 'generic' }
  const found = BROKER_PROFILES.find((p) => p === text)
  if (found) return { profile: found }
  return { problem: `expected one of ${BROKER_PROFILES.join(', ')}, got ${JSON.stringify(value)}` }
}

/**
 * Component rules, applied once the metadata is decoded. Degradations change `metadata`
 * in place (qos 2 becomes 1) and come back as warnings; what cannot work comes back as errors.
 */
export function applyComponentProfile(metadata: MqttMetadata, profile: BrokerProfile): ProfileFinding[] {
  const findings: ProfileFinding[] = []
  if (profile !== 'rabbitmq' && profile !== 'nats') return findings
  if (metadata.qos === 2) {
    // Degraded, not refused: either broker already gives QoS 1 to a QoS 2 subscription, and
    // at-least-once is what the forwarder's explicit acks need; refusing would make a Dapr
    // YAML written for daprd fail for a guarantee the broker never gave.
    metadata.qos = 1
    const what =
      profile === 'rabbitmq'
        ? 'grants QoS 1 to a QoS 2 SUBSCRIBE and delivers a QoS 2 PUBLISH at QoS 1'
        : 'grants QoS 1 to a QoS 2 SUBSCRIBE and closes the connection on a QoS 2 PUBLISH'
    findings.push({
      level: 'warning',
      field: 'qos',
      text: `2 is degraded to 1: ${prefix(profile)} ${what} (at-least-once: a message can arrive twice, never lost)`,
    })
  }
  if (metadata.protocolVersion === 5) {
    if (profile === 'nats') {
      findings.push({
        level: 'error',
        field: 'protocolVersion',
        text: `5 is not offered: ${prefix(profile)} speaks MQTT 3.1.1 only and answers an MQTT 5 CONNECT with 0x01 (unacceptable protocol version); use 4`,
      })
    } else {
      findings.push({
        level: 'warning',
        field: 'protocolVersion',
        text: `5: ${prefix(profile)} before 3.13 closes the socket on an MQTT 5 CONNECT without a CONNACK; use 4 unless the broker is 3.13 or later`,
      })
    }
  }
  if (typeof metadata.sessionLedgerTopic === 'string') {
    const finding = publishTopicFinding(profile, metadata.sessionLedgerTopic)
    if (finding) findings.push({ ...finding, field: 'sessionLedgerTopic' })
  }
  return findings
}

/**
 * A subscription's topic filter. `$share/...`: both brokers answer the SUBSCRIBE with success
 * and then treat it as a literal filter, so a forwarder scaled out that way receives nothing.
 */
export function subscriptionFilterFinding(profile: BrokerProfile, filter: string): ProfileFinding | undefined {
  if (profile !== 'rabbitmq' && profile !== 'nats') return undefined
  if (filter.startsWith('$share/')) {
    return {
      level: 'error',
      text:
        `${prefix(profile)} accepts $share/... and delivers nothing: it has no shared subscriptions and takes the filter literally. ` +
        'Subscribe to the topic itself (each forwarder instance then receives every message: run one), or use a broker with shared subscriptions and set brokerProfile to match',
    }
  }
  if (profile === 'nats') {
    const bad = natsForbidden(filter)
    if (bad) {
      return {
        level: 'error',
        text: `${prefix(profile)} refuses a filter containing ${bad} (its subject separator is ".", SUBACK 0x80), so nothing would be delivered; use "/" between levels`,
      }
    }
    return undefined
  }
  const rewritten = rabbitRewrite(filter)
  if (rewritten !== filter) {
    // An error, not a warning: RabbitMQ delivers the messages under the rewritten topic, which
    // this filter (by the MQTT rules mqtt-fn matches with) does not match, so they would be
    // acked as unrouted and dropped.
    return {
      level: 'error',
      text:
        `${prefix(profile)} rewrites "." to "/" and "*" to "+" (${JSON.stringify(filter)} becomes ${JSON.stringify(rewritten)}), and delivers ` +
        'messages under the rewritten topic, which this filter does not match: they would be dropped. Write the filter with "/" (and "+" for a wildcard)',
    }
  }
  return undefined
}

/**
 * A topic about to be published. NATS closes the connection on a `.` or a space, which fails
 * every other publish on the shared connection too: an error, before anything is sent.
 * RabbitMQ delivers it under another name: a warning.
 */
export function publishTopicFinding(profile: BrokerProfile, topic: string): ProfileFinding | undefined {
  if (profile === 'nats') {
    const bad = natsForbidden(topic)
    if (!bad) return undefined
    return {
      level: 'error',
      text: `topic ${JSON.stringify(topic)}: ${prefix(profile)} closes the connection on a PUBLISH whose topic contains ${bad} ("." is its subject separator); use "/" between levels`,
    }
  }
  if (profile === 'rabbitmq') {
    const rewritten = rabbitRewrite(topic)
    if (rewritten === topic) return undefined
    return {
      level: 'warning',
      text: `topic ${JSON.stringify(topic)}: ${prefix(profile)} rewrites "." to "/" and "*" to "+": subscribers receive it as ${JSON.stringify(rewritten)} (and ${JSON.stringify(rewritten)} is the same topic to them)`,
    }
  }
  return undefined
}

/**
 * Forwarder start, once per component that has QoS 1 subscriptions: NATS sends an un-acked
 * message again every `ack_wait` on a live connection, so a slow delivery reaches the app twice.
 */
export function slowDeliveryWarning(profile: BrokerProfile, qos: 0 | 1 | 2): string | undefined {
  if (profile !== 'nats' || qos === 0) return undefined
  return (
    `${prefix(profile)} sends an un-acknowledged message again every ack_wait (30 s by default), even on a live connection, ` +
    "so a delivery still running by then (the app's answer plus retries) reaches the app twice: set the NATS server's " +
    'mqtt { ack_wait: "..." } above the longest a message can stay un-acked (the forwarder\'s --request-timeout, 60 s by default, times the retry attempts)'
  )
}

/** `"."` / `"a space"` when NATS refuses the string, else undefined. */
function natsForbidden(topic: string): string | undefined {
  if (topic.includes('.')) return '"."'
  if (topic.includes(' ')) return 'a space'
  return undefined
}

/** What RabbitMQ's MQTT plugin turns a topic into (it maps MQTT topics onto AMQP routing keys). */
function rabbitRewrite(topic: string): string {
  return topic.replaceAll('.', '/').replaceAll('*', '+')
}

/**
 * Runs `warn` once per key (a publish topic per component): a publisher repeats its topics, and
 * a warning per request would flood the log. Bounded, so a stream of distinct topics cannot
 * grow it without limit.
 */
export class WarnOnce {
  private readonly seen = new Set<string>()
  constructor(private readonly limit = 1000) {}

  warn(key: string, warn: () => void): void {
    if (this.seen.has(key)) return
    if (this.seen.size >= this.limit) this.seen.clear()
    this.seen.add(key)
    warn()
  }
}
