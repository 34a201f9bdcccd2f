/**
 * How a component proves who it is beyond a URL password or client certificates: a credential
 * that is computed (presigned, fetched, refreshed) before each connect attempt, because it
 * expires. The connection asks for it fresh before every attempt; a provider caches as it sees fit.
 */
import type { IClientOptions, MqttClient } from 'mqtt'

/** What one connect attempt uses; merged over the options built from the metadata. */
export interface ConnectAuth {
  /** MQTT.js options for this attempt only (username/password, properties, ALPNProtocols, wsOptions...). */
  options: Partial<IClientOptions>
  /**
   * WebSocket only: the URL to open for this attempt (e.g. presigned with SigV4), including
   * its query string. Never logged: it carries a signature or a token.
   */
  webSocketUrl?: string
  /** When the credential stops being valid (epoch ms); a live connection must renew before then. */
  expiresAt?: number
}

export interface AuthProvider {
  /** For logs and errors, e.g. `aws-iot-sigv4`; never a secret. */
  readonly kind: string
  /** Called before every connect attempt. A rejection fails the attempt like a refused CONNECT. */
  prepare(): Promise<ConnectAuth>
  /**
   * Renews the credential of a live connection before `expiresAt` (MQTT 5 AUTH, reason 0x19).
   * Absent: the connection is left alone, and the next reconnect gets a fresh credential.
   */
  reauthenticate?(client: MqttClient): Promise<ConnectAuth>
}
