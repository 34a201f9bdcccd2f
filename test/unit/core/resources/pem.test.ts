import { generateKeyPairSync } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { certificateProblem, privateKeyProblem } from '../../../../src/core/resources/pem.js'
import { makeCert, pubsubYaml, type CertPair } from './builders.js'
import { loadError, loadPubsub } from './helpers.js'

const TLS_URL = { name: 'url', value: 'mqtts://broker:8883' }

let pair: CertPair
let other: CertPair

beforeAll(() => {
  pair = makeCert('client')
  other = makeCert('other')
})

describe('PEM checks', () => {
  it('accepts a real certificate, a CA bundle and real keys (PKCS#8, RSA, EC)', () => {
    expect(certificateProblem(pair.cert)).toBeUndefined()
    expect(certificateProblem(`${pair.cert}\n${other.cert}`)).toBeUndefined()
    expect(privateKeyProblem(pair.key)).toBeUndefined()
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()
    expect(rsa).toContain('BEGIN RSA PRIVATE KEY')
    expect(privateKeyProblem(rsa)).toBeUndefined()
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }).toString()
    expect(ec).toContain('BEGIN EC PRIVATE KEY')
    expect(privateKeyProblem(ec)).toBeUndefined()
  })

  it('rejects text that is not PEM', () => {
    expect(certificateProblem('hello')).toMatch(/^not a PEM certificate/)
    expect(privateKeyProblem('hello')).toMatch(/^not a PEM private key/)
  })

  it('rejects a block with a broken body or mismatched armour', () => {
    expect(certificateProblem('-----BEGIN CERTIFICATE-----\n!!!notbase64\n-----END CERTIFICATE-----')).toBe(
      'not a PEM certificate (malformed PEM block)',
    )
    expect(certificateProblem(pair.cert.replace('END CERTIFICATE', 'END CERTIFICATX'))).toMatch(/^not a PEM certificate/)
    const garbled = pair.cert.replace(/\n[A-Za-z0-9+/]{8}/, '\nAAAAAAAA')
    expect(certificateProblem(garbled)).toMatch(/^not a PEM certificate/)
  })

  it('rejects the wrong kind of block', () => {
    expect(certificateProblem(pair.key)).toMatch(/contains a private key/)
    expect(privateKeyProblem(pair.cert)).toMatch(/^not a PEM private key/)
    const publicKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
    expect(certificateProblem(publicKey)).toBe('not a PEM certificate (found a PUBLIC KEY block)')
  })

  it('rejects an encrypted key (no passphrase setting)', () => {
    const encrypted = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
      .toString()
    expect(privateKeyProblem(encrypted)).toMatch(/encrypted private key/)
  })
})

describe('TLS metadata', () => {
  it('keeps valid caCert, clientCert and clientKey', async () => {
    const { metadata } = await loadPubsub([
      TLS_URL,
      { name: 'caCert', value: other.cert },
      { name: 'clientCert', value: pair.cert },
      { name: 'clientKey', value: pair.key },
    ])
    expect(metadata.caCert).toBe(other.cert)
    expect(metadata.clientCert).toBe(pair.cert)
    expect(metadata.clientKey).toBe(pair.key)
  })

  it('rejects a malformed caCert naming the field, never the content', async () => {
    const bad = '-----BEGIN CERTIFICATE-----\nTUlJQ-this-is-not-a-cert\n-----END CERTIFICATE-----'
    const error = await loadError(pubsubYaml([TLS_URL, { name: 'caCert', value: bad }]))
    expect(error.message).toContain('spec.metadata.caCert: not a PEM certificate')
    expect(error.message).not.toContain('TUlJQ')
  })

  it('rejects clientCert without clientKey, naming clientKey', async () => {
    const error = await loadError(pubsubYaml([TLS_URL, { name: 'clientCert', value: pair.cert }]))
    expect(error.message).toContain('spec.metadata.clientKey: is required when clientCert is set')
  })

  it('rejects clientKey without clientCert, naming clientCert', async () => {
    const error = await loadError(pubsubYaml([TLS_URL, { name: 'clientKey', value: pair.key }]))
    expect(error.message).toContain('spec.metadata.clientCert: is required when clientKey is set')
  })

  it('rejects a key that belongs to another certificate', async () => {
    const error = await loadError(pubsubYaml([TLS_URL, { name: 'clientCert', value: pair.cert }, { name: 'clientKey', value: other.key }]))
    expect(error.message).toContain('spec.metadata.clientKey: does not belong to clientCert')
  })

  it('never puts a key into a message, even a malformed one', async () => {
    const broken = pair.key.replace(/\n([A-Za-z0-9+/]{10})/, '\n$1#')
    const error = await loadError(pubsubYaml([TLS_URL, { name: 'clientCert', value: pair.cert }, { name: 'clientKey', value: broken }]))
    expect(error.message).toContain('spec.metadata.clientKey: not a PEM private key')
    const body = pair.key.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))
    for (const line of body) expect(error.message).not.toContain(line)
  })
})
