import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'

/** A metadata entry as written in YAML. */
export type Entry =
  | { name: string; value: unknown }
  | { name: string; secretKeyRef: { name: string; key?: string } }

/** YAML text of a pubsub.mqtt Component. */
export function pubsubYaml(
  metadata: Entry[],
  options: { name?: string; type?: string; version?: string | null; secretStore?: string; scopes?: string[] } = {},
): string {
  const spec: Record<string, unknown> = { type: options.type ?? 'pubsub.mqtt' }
  if (options.version !== null) spec['version'] = options.version ?? 'v1'
  spec['metadata'] = metadata
  const doc: Record<string, unknown> = {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Component',
    metadata: { name: options.name ?? 'pubsub' },
    spec,
  }
  if (options.secretStore !== undefined) doc['auth'] = { secretStore: options.secretStore }
  if (options.scopes !== undefined) doc['scopes'] = options.scopes
  return stringify(doc)
}

export function storeYaml(name: string, type: string, metadata: Entry[]): string {
  return stringify({
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Component',
    metadata: { name },
    spec: { type, version: 'v1', metadata },
  })
}

export function subscriptionYaml(spec: Record<string, unknown>, options: { name?: string; apiVersion?: string; scopes?: string[] } = {}): string {
  const doc: Record<string, unknown> = {
    apiVersion: options.apiVersion ?? 'dapr.io/v2alpha1',
    kind: 'Subscription',
    metadata: { name: options.name ?? 'orders' },
    spec,
  }
  if (options.scopes) doc['scopes'] = options.scopes
  return stringify(doc)
}

/** Joins documents into one multi-document file. */
export function docs(...texts: string[]): string {
  return texts.map((t) => `---\n${t}`).join('')
}

export interface CertPair {
  cert: string
  key: string
}

/** A self-signed EC certificate and its key, made by the openssl command. */
export function makeCert(cn = 'test'): CertPair {
  const dir = mkdtempSync(join(tmpdir(), 'mqttfn-res-cert-'))
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-subj', `/CN=${cn}`, '-days', '1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    )
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
