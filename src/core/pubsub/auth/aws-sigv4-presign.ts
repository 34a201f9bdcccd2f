/**
 * The AWS side of `authMethod: aws-sigv4`: the default credential chain and the SigV4 presign of
 * AWS IoT Core's WebSocket URL. Only aws-iot.ts imports it, dynamically, at the first connect
 * attempt of a component that asks for it: nobody else loads the AWS SDK's credential code.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto'
import { defaultProvider } from '@aws-sdk/credential-provider-node'
import { SignatureV4 } from '@smithy/signature-v4'
import type { AwsCredentialIdentity, Checksum, SourceData } from '@smithy/types'

/** AWS IoT Core's signing name for its MQTT endpoint (over WebSocket). */
export const IOT_SIGNING_SERVICE = 'iotdevicegateway'

export type CredentialSource = () => Promise<AwsCredentialIdentity>

let chain: CredentialSource | undefined
/**
 * The SDK's default chain (environment, web identity, ECS/EKS container role, IMDS, profiles),
 * made once per process: it caches credentials and refreshes them before they expire.
 */
export function defaultCredentials(): CredentialSource {
  chain ??= defaultProvider()
  return chain
}

/** SHA-256 and HMAC-SHA-256 with node:crypto, in the shape the signer wants. */
class NodeSha256 implements Checksum {
  #secret: SourceData | undefined
  #hash: Hash | Hmac
  constructor(secret?: SourceData) {
    this.#secret = secret
    this.#hash = NodeSha256.create(secret)
  }
  private static create(secret: SourceData | undefined): Hash | Hmac {
    return secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret))
  }
  update(data: Uint8Array): void {
    this.#hash.update(data)
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest())
  }
  reset(): void {
    this.#hash = NodeSha256.create(this.#secret)
  }
}

function toBytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8')
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  return new Uint8Array(data)
}

export interface PresignInput {
  host: string
  port: number
  /** The WebSocket path, `/mqtt` for AWS IoT. */
  path: string
  /** The URL's own query string (without `?`), signed with the rest. */
  query?: string
  region: string
  credentials: AwsCredentialIdentity
  /** Lifetime of the signature, seconds. AWS IoT checks it only at the WebSocket upgrade. */
  expiresInSeconds: number
  signingDate?: Date
}

/**
 * `wss://host[:port]/path?X-Amz-...&X-Amz-Signature=...` for AWS IoT Core. The session token of
 * temporary credentials (a role's) is appended after signing, not signed: AWS IoT's WebSocket
 * endpoint expects it that way (its device SDKs do the same).
 */
export async function presignIotUrl(input: PresignInput): Promise<string> {
  const { accessKeyId, secretAccessKey, sessionToken } = input.credentials
  const signer = new SignatureV4({
    service: IOT_SIGNING_SERVICE,
    region: input.region,
    credentials: { accessKeyId, secretAccessKey },
    sha256: NodeSha256,
    uriEscapePath: true,
  })
  const hostHeader = input.port === 443 ? input.host : `${input.host}:${input.port}`
  const query: Record<string, string | string[]> = {}
  for (const [key, value] of new URLSearchParams(input.query ?? '')) {
    const prior = query[key]
    query[key] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value]
  }
  const signed = await signer.presign(
    { method: 'GET', protocol: 'wss:', hostname: input.host, port: input.port, path: input.path, query, headers: { host: hostHeader } },
    { expiresIn: input.expiresInSeconds, ...(input.signingDate ? { signingDate: input.signingDate } : {}) },
  )
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(signed.query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) if (v !== null && v !== undefined) params.append(key, v)
  }
  if (sessionToken) params.append('X-Amz-Security-Token', sessionToken)
  // URLSearchParams writes a space as `+`; SigV4 reads `%20`, and no signed value may change in transit.
  return `wss://${hostHeader}${input.path}?${params.toString().replace(/\+/g, '%20')}`
}
