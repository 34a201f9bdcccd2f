import { parseGoBool } from '../core/envelope/index.js'

/**
 * Request metadata as daprd reads it (pkg/api/http/http.go `getMetadataFromRequest`): every
 * query parameter whose name starts with `metadata.` (case-sensitive), prefix removed, the
 * first value of a repeated key.
 */
export function metadataFromQuery(query: URLSearchParams): Record<string, string> {
  const metadata: Record<string, string> = {}
  for (const [key, value] of query) {
    if (!key.startsWith(METADATA_PREFIX)) continue
    const name = key.slice(METADATA_PREFIX.length)
    if (!Object.hasOwn(metadata, name)) defineValue(metadata, name, value)
  }
  return metadata
}

export const METADATA_PREFIX = 'metadata.'

/** Sets `name` as an own data property, even `__proto__`. */
export function defineValue(target: Record<string, string>, name: string, value: string): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true })
}

/** Go's `strconv.Quote` for the printable text a query value usually is. */
function goQuote(value: string): string {
  return JSON.stringify(value)
}

/**
 * components-contrib `metadata.IsRawPayload`: key `rawPayload` exactly, an empty value is
 * false. Returns the error text daprd puts after `failed deserializing metadata. Error: `.
 */
export function rawPayloadFlag(metadata: Record<string, string>): { value: boolean } | { error: string } {
  const val = Object.hasOwn(metadata, 'rawPayload') ? metadata['rawPayload'] : undefined
  if (val === undefined || val === '') return { value: false }
  const parsed = parseGoBool(val)
  if (parsed === undefined) return { error: `rawPayload value must be a valid boolean: actual is '${val}'` }
  return { value: parsed }
}

/**
 * components-contrib `pubsub/mqtt3` `Publish`: request metadata `retain` (exact key) overrides
 * the component's default when non-empty, parsed with `strconv.ParseBool`.
 */
export function retainFlag(metadata: Record<string, string>): { value: boolean | undefined } | { error: string } {
  const val = Object.hasOwn(metadata, 'retain') ? metadata['retain'] : undefined
  if (val === undefined || val === '') return { value: undefined }
  const parsed = parseGoBool(val)
  if (parsed === undefined) {
    return { error: `mqtt invalid retain ${val}, strconv.ParseBool: parsing ${goQuote(val)}: invalid syntax` }
  }
  return { value: parsed }
}
