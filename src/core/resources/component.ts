import { got, type Reporter } from './problems.js'
import { isRecord, own, scalarToString } from './values.js'

export const COMPONENT_API_VERSION = 'dapr.io/v1alpha1'

/** The parts of a `Component` document common to every type. */
export interface ComponentHeader {
  name: string
  apiVersion: string | undefined
  type: string
  version: string | undefined
  /** `auth.secretStore`. */
  secretStore: string | undefined
  scopes: string[]
  spec: Record<string, unknown>
}

/** `metadata.name`, or undefined when missing (reported by the caller that needs it). */
export function resourceName(doc: Record<string, unknown>): string | undefined {
  const metadata = own(doc, 'metadata')
  if (!isRecord(metadata)) return undefined
  const name = scalarToString(own(metadata, 'name'))
  return name === undefined || name === '' ? undefined : name
}

export function readName(doc: Record<string, unknown>, reporter: Reporter): string | undefined {
  const name = resourceName(doc)
  if (name === undefined) reporter.error('metadata.name', 'is required')
  return name
}

/** Top-level `scopes`: the app ids that may use the resource. */
export function readScopes(doc: Record<string, unknown>, reporter: Reporter): string[] {
  const raw = own(doc, 'scopes')
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) {
    reporter.error('scopes', 'must be a list of app ids')
    return []
  }
  const scopes: string[] = []
  raw.forEach((entry: unknown, index) => {
    const id = scalarToString(entry)
    if (id === undefined || id === '') reporter.error(`scopes[${index}]`, 'must be a non-empty app id')
    else scopes.push(id)
  })
  return scopes
}

/**
 * Reads apiVersion, name, spec.type, spec.version, auth.secretStore and scopes. Returns
 * undefined when the document cannot be a usable component at all.
 */
export function readComponentHeader(doc: Record<string, unknown>, reporter: Reporter): ComponentHeader | undefined {
  const apiVersion = scalarToString(own(doc, 'apiVersion'))
  const name = readName(doc, reporter)
  const spec = own(doc, 'spec')
  if (!isRecord(spec)) {
    reporter.error('spec', 'is required (a mapping with type, version and metadata)')
    return undefined
  }
  const type = scalarToString(own(spec, 'type'))
  if (type === undefined || type === '') {
    reporter.error('spec.type', 'is required')
    return undefined
  }
  const version = own(spec, 'version')
  const auth = own(doc, 'auth')
  let secretStore: string | undefined
  if (auth !== undefined && auth !== null) {
    if (!isRecord(auth)) reporter.error('auth', 'must be a mapping {secretStore: NAME}')
    else {
      const store = own(auth, 'secretStore')
      secretStore = store === undefined || store === null ? undefined : scalarToString(store)
      if (store !== undefined && store !== null && secretStore === undefined) {
        reporter.error('auth.secretStore', 'must be the name of a secret store component')
      }
      if (secretStore === '') secretStore = undefined
    }
  }
  return {
    name: name ?? '',
    apiVersion,
    type,
    version: version === undefined || version === null ? undefined : (scalarToString(version) ?? ''),
    secretStore,
    scopes: readScopes(doc, reporter),
    spec,
  }
}

/** For the component types mqtt-fn runs: `apiVersion: dapr.io/v1alpha1`, `spec.version` v1 or absent. */
export function checkComponentVersions(header: ComponentHeader, reporter: Reporter): void {
  if (header.apiVersion !== COMPONENT_API_VERSION) {
    reporter.error(
      'apiVersion',
      header.apiVersion === undefined ? `is required (${COMPONENT_API_VERSION})` : `must be ${COMPONENT_API_VERSION}${got(header.apiVersion, false)}`,
    )
  }
  if (header.version !== undefined && header.version !== 'v1') {
    reporter.error('spec.version', `must be v1 (the only version of ${header.type})${got(header.version, false)}`)
  }
}
