import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'

/** One `-----BEGIN X-----` ... `-----END X-----` block. */
export interface PemBlock {
  label: string
  /** The whole block, armour included. */
  text: string
  /** `Proc-Type: 4,ENCRYPTED`-style headers were present (legacy encrypted key). */
  hasHeaders: boolean
  /** Body is well-formed base64. */
  wellFormed: boolean
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

export function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = []
  for (const match of text.matchAll(BLOCK)) {
    const [whole, label = '', body = '', endLabel = ''] = match
    const lines = body.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '')
    const hasHeaders = lines.some((l) => l.includes(':'))
    const base64 = lines.filter((l) => !l.includes(':')).join('')
    blocks.push({
      label,
      text: whole,
      hasHeaders,
      wellFormed: label === endLabel && base64.length > 0 && base64.length % 4 === 0 && BASE64.test(base64),
    })
  }
  return blocks
}

const KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY'])

/**
 * Checks a certificate field (`caCert`, `clientCert`): one or more CERTIFICATE blocks that
 * node:crypto can parse. Returns the problem, or undefined. Never quotes the content.
 */
export function certificateProblem(text: string): string | undefined {
  const blocks = pemBlocks(text)
  if (blocks.length === 0) return 'not a PEM certificate (no -----BEGIN CERTIFICATE----- block)'
  if (blocks.some((b) => b.label.includes('PRIVATE KEY'))) {
    return 'contains a private key; the key belongs in clientKey (kept secret), not in a certificate field'
  }
  for (const block of blocks) {
    if (block.label !== 'CERTIFICATE') return `not a PEM certificate (found a ${block.label.slice(0, 40)} block)`
    if (!block.wellFormed) return 'not a PEM certificate (malformed PEM block)'
    try {
      new X509Certificate(block.text)
    } catch {
      return 'not a PEM certificate (the block does not parse as an X.509 certificate)'
    }
  }
  return undefined
}

/** Checks `clientKey`: exactly one unencrypted private key block that node:crypto can load. */
export function privateKeyProblem(text: string): string | undefined {
  const blocks = pemBlocks(text)
  const keys = blocks.filter((b) => b.label.includes('PRIVATE KEY'))
  if (keys.length === 0) return 'not a PEM private key (no -----BEGIN PRIVATE KEY----- block)'
  if (keys.length > 1) return 'holds more than one private key'
  const [key] = keys
  if (!key) return 'not a PEM private key'
  if (key.label === 'ENCRYPTED PRIVATE KEY' || key.hasHeaders) {
    return 'is an encrypted private key; mqtt-fn has no passphrase setting, so give the key unencrypted'
  }
  if (!KEY_LABELS.has(key.label)) return `not a PEM private key (found a ${key.label.slice(0, 40)} block)`
  if (!key.wellFormed) return 'not a PEM private key (malformed PEM block)'
  try {
    createPrivateKey(key.text)
  } catch {
    return 'not a PEM private key (the block does not parse as a private key)'
  }
  return undefined
}

/** True when the first certificate of `certPem` belongs to `keyPem`; both already checked. */
export function keyMatchesCertificate(certPem: string, keyPem: string): boolean {
  const cert = pemBlocks(certPem).find((b) => b.label === 'CERTIFICATE')
  const key = pemBlocks(keyPem).find((b) => b.label.includes('PRIVATE KEY'))
  if (!cert || !key) return false
  try {
    const keyObject: KeyObject = createPrivateKey(key.text)
    return new X509Certificate(cert.text).checkPrivateKey(keyObject)
  } catch {
    return false
  }
}
