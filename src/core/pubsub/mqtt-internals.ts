/**
 * The only file that touches MQTT.js 5.x members its typings mark private (read in
 * node_modules/mqtt/build/lib/client.js, 5.16). An MQTT.js upgrade is checked here first.
 * - `_sendPacket`: write the PUBACK / PUBCOMP when the caller acks (inbound.ts explains why), and
 *   a client-initiated AUTH (MQTT 5 re-authentication), which MQTT.js has no public call for.
 * - `_releaseIncomingQoS2Publish`: forget an inbound QoS 2 id after its PUBCOMP, as
 *   handlers/pubrel.js does.
 * - `_storeProcessingQueue`: a publish queued behind a store replay has no message id yet;
 *   on timeout it is removed from here so it is never sent.
 * - `connackTimer`: stopped when a client is discarded without end() (end() can hang).
 * - `queue`: packets written while disconnected, sent after the next CONNACK.
 * And one setting of mqtt-packet (the writer MQTT.js uses): `writeToStream.cacheNumbers`.
 */
import type { MqttClient, PacketCallback } from 'mqtt'
import mqttPacket from 'mqtt-packet'

type AckPacket = { cmd: 'puback' | 'pubcomp'; messageId: number }

/** An MQTT 5 AUTH packet as mqtt-packet writes it. */
export interface AuthPacket {
  cmd: 'auth'
  /** 0x19 re-authenticate, 0x18 continue authentication. */
  reasonCode: number
  properties: { authenticationMethod: string; authenticationData?: Buffer }
}

interface MqttInternals {
  _sendPacket(packet: AckPacket | AuthPacket, cb?: (err?: Error) => void): void
  _releaseIncomingQoS2Publish(messageId: number): void
  _storeProcessingQueue?: Array<{ callback?: unknown }>
  connackTimer?: ReturnType<typeof setTimeout> | null
}

const noop = (): void => {}

/** Acks of inbound messages: meaningless (and dangerous) on any connection but their own. */
const INBOUND_ACK_CMDS = new Set(['puback', 'pubrec', 'pubcomp'])

const internals = (client: MqttClient): MqttInternals => client as unknown as MqttInternals

/** The PUBACK of an inbound QoS 1 PUBLISH, exactly as handlers/publish.js would write it. */
export function writePuback(client: MqttClient, messageId: number): void {
  internals(client)._sendPacket({ cmd: 'puback', messageId })
}

/** What handlers/pubrel.js does for an inbound QoS 2 PUBLISH once its handler called back. */
export function completeQoS2(client: MqttClient, messageId: number): void {
  client.incomingStore.del({ messageId }, noop)
  internals(client)._releaseIncomingQoS2Publish(messageId)
  internals(client)._sendPacket({ cmd: 'pubcomp', messageId })
}

/**
 * MQTT.js queues packets written while disconnected and sends them after the next CONNACK.
 * An ack queued that way (e.g. the PUBREC MQTT.js writes for a QoS 2 PUBLISH it parsed after
 * the socket closed) would carry an id of the old connection: drop it.
 */
export function dropQueuedInboundAcks(client: MqttClient): void {
  client.queue = client.queue.filter((e) => !INBOUND_ACK_CMDS.has(e.packet.cmd))
}

/** Removes a publish that waits behind a store replay (it has no message id yet). */
export function unqueuePublish(client: MqttClient, cb: PacketCallback): void {
  const queue = internals(client)._storeProcessingQueue
  if (!queue) return
  const i = queue.findIndex((e) => e.callback === cb)
  if (i >= 0) queue.splice(i, 1)
}

/** Drops a client without end() (which can wait forever for acks). */
export function discardClient(client: MqttClient): void {
  client.removeAllListeners()
  // A late socket error on a discarded client must not become an unhandled 'error'.
  client.on('error', noop)
  clearTimeout(internals(client).connackTimer ?? undefined)
  client.keepaliveManager?.destroy()
  client.stream?.destroy()
}

/**
 * Writes an AUTH packet on the live connection. The broker's answer (AUTH Success, or a
 * DISCONNECT) is handled by MQTT.js's handlers/auth.js and the connection's close path.
 */
export function sendAuth(client: MqttClient, packet: AuthPacket): Promise<void> {
  return new Promise((resolve, reject) => internals(client)._sendPacket(packet, (err) => (err ? reject(err) : resolve())))
}

/**
 * mqtt-packet's writer by default builds, at the first packet, a 2-byte Buffer for each of the
 * 65,536 packet ids and reuses them: measured here 6.3 MB of heap (65,943 Buffer objects in a
 * forwarder's heap snapshot), part of every process's idle RSS and of every full GC's marking.
 * Writing the id into the packet as it is generated costs a 2-byte allocation per packet.
 */
export function skipPacketIdCache(): void {
  mqttPacket.writeToStream.cacheNumbers = false
}
