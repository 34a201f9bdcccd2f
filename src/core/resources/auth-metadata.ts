/**
 * Reads `authMethod` and its settings (auth-fields.ts) into MqttMetadata. Every combination that
 * cannot connect is refused here, naming the field, rather than failing at the broker later.
 */
import { AUTH_METHODS, EVENT_GRID_SCOPE, type AuthMethod } from './auth-fields.js'
import type { FieldReader } from './field-reader.js'
import type { Reporter } from './problems.js'
import type { MqttMetadata } from './types.js'

/** `<id>-ats.iot.<region>.amazonaws.com` (and the China partition's `.amazonaws.com.cn`). */
const IOT_ENDPOINT = /^[a-z0-9-]+\.iot\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/i

/** The region in an AWS IoT data endpoint's host name, if it is one. */
export function regionOfIotEndpoint(host: string): string | undefined {
  return IOT_ENDPOINT.exec(host)?.[1]?.toLowerCase()
}

export function readAuth(fields: FieldReader, reporter: Reporter, metadata: MqttMetadata): void {
  readAlpn(fields, reporter, metadata)
  const methodText = fields.string('authMethod')?.trim()
  const method = (methodText === undefined || methodText === '' ? 'none' : methodText.toLowerCase()) as AuthMethod
  if (!AUTH_METHODS.includes(method)) {
    reporter.error(fields.path('authMethod'), `must be one of ${AUTH_METHODS.join(', ')} (got ${JSON.stringify(methodText)})`)
    return
  }
  const authorizerFields = ['awsIotAuthorizerName', 'awsIotTokenKeyName', 'awsIotToken', 'awsIotTokenSignature'] as const
  if (method !== 'aws-iot-authorizer') {
    for (const name of authorizerFields) {
      if (fields.present(name)) reporter.warn(fields.path(name), 'is used only with authMethod aws-iot-authorizer; ignored')
    }
  }
  if (method !== 'aws-sigv4' && fields.present('awsRegion')) reporter.warn(fields.path('awsRegion'), 'is used only with authMethod aws-sigv4; ignored')
  if (method !== 'oauth2-jwt') {
    for (const name of ['oauth2Scope', 'azureClientId'] as const) {
      if (fields.present(name)) reporter.warn(fields.path(name), 'is used only with authMethod oauth2-jwt; ignored')
    }
  }
  const url = metadata.url
  if (method === 'aws-sigv4') {
    if (url.protocol !== 'wss') {
      reporter.error(fields.path('authMethod'), `aws-sigv4 signs a WebSocket URL: the url must be wss://<endpoint>/mqtt (got ${url.protocol}://)`)
      return
    }
    if (url.username !== undefined || url.password !== undefined) {
      reporter.warn(fields.path('url'), 'userinfo is not sent with authMethod aws-sigv4 (the signature is the credential)')
    }
    const region = fields.string('awsRegion')?.trim() || regionOfIotEndpoint(url.host)
    metadata.auth = region ? { method, region } : { method }
    return
  }
  if (method === 'oauth2-jwt') {
    if (metadata.protocolVersion !== 5) {
      reporter.error(fields.path('protocolVersion'), 'must be 5 with authMethod oauth2-jwt (the token travels as MQTT 5 enhanced authentication)')
      return
    }
    if (url.protocol === 'mqtt' || url.protocol === 'ws') {
      reporter.error(fields.path('authMethod'), `oauth2-jwt sends a bearer token: the url must be mqtts:// or wss:// (got ${url.protocol}://)`)
      return
    }
    const scope = fields.string('oauth2Scope')?.trim() || EVENT_GRID_SCOPE
    const clientId = fields.string('azureClientId')?.trim()
    metadata.auth = clientId ? { method, scope, clientId } : { method, scope }
    return
  }
  if (method === 'aws-iot-authorizer') {
    if (url.protocol === 'mqtt' || url.protocol === 'ws') {
      reporter.error(fields.path('authMethod'), `AWS IoT custom authorizers need TLS: use mqtts:// on port 443 or wss:// (got ${url.protocol}://)`)
      return
    }
    const auth: Extract<NonNullable<MqttMetadata['auth']>, { method: 'aws-iot-authorizer' }> = { method }
    const name = fields.string('awsIotAuthorizerName')?.trim()
    const tokenKeyName = fields.string('awsIotTokenKeyName')?.trim()
    const token = fields.string('awsIotToken')
    const signature = fields.string('awsIotTokenSignature')
    if (name) auth.authorizerName = name
    if (token !== undefined && !tokenKeyName) reporter.error(fields.path('awsIotTokenKeyName'), 'is required when awsIotToken is set (the tokenKeyName the authorizer reads)')
    if (tokenKeyName && token === undefined) reporter.error(fields.path('awsIotToken'), 'is required when awsIotTokenKeyName is set')
    if (signature !== undefined && token === undefined) reporter.error(fields.path('awsIotToken'), 'is required when awsIotTokenSignature is set (the signature is of the token)')
    if (tokenKeyName) auth.tokenKeyName = tokenKeyName
    if (token !== undefined) auth.token = token
    if (signature !== undefined) auth.tokenSignature = signature
    metadata.auth = auth
  }
}

function readAlpn(fields: FieldReader, reporter: Reporter, metadata: MqttMetadata): void {
  const text = fields.string('alpnProtocols')
  if (text === undefined) return
  const protocols = text.split(',').map((p) => p.trim()).filter((p) => p !== '')
  if (protocols.length === 0) return
  const tooLong = protocols.find((p) => Buffer.byteLength(p) > 255)
  if (tooLong !== undefined) {
    reporter.error(fields.path('alpnProtocols'), `an ALPN protocol name is at most 255 bytes (${JSON.stringify(tooLong.slice(0, 20))}...)`)
    return
  }
  if (metadata.url.protocol !== 'mqtts' && metadata.url.protocol !== 'wss') {
    reporter.warn(fields.path('alpnProtocols'), 'has no effect without a TLS scheme (mqtts, tcps, ssl, tls or wss)')
    return
  }
  metadata.alpnProtocols = protocols
}
