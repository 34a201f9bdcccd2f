import { MqttFnError } from '../errors.js'
import {
  CloudEventOverrideKeys,
  ErrorCode,
  RawPayloadKey,
  TTLInSecondsMetadataKey,
  TTLMetadataKey,
} from './constants.js'
import { goEqualFoldAscii, goToLower } from './go-string.js'
import { parseGoBool, parseGoDuration, parseGoInt64 } from './go-strconv.js'

/**
 * How daprd reads publish request metadata. Each key is looked up the way daprd's code
 * looks it up, which is not uniform:
 * - `rawPayload`: exact key (`props[RawPayloadKey]` in components-contrib `metadata/utils.go`).
 * - `ttl` / `ttlInSeconds`: case-insensitive (`kitmd.GetMetadataProperty`).
 * - `cloudevent.*`: exact key first, then case-insensitive (mapstructure `WeakDecode`).
 */

export type Metadata = Readonly<Record<string, string>>

const INT64_MAX = (1n << 63n) - 1n
const NS_PER_SECOND = 1_000_000_000n

/**
 * `contribMetadata.IsRawPayload`: `strconv.ParseBool` of `rawPayload`; missing or empty means
 * false. Anything else throws MqttFnError `ERR_PUBSUB_REQUEST_METADATA` (HTTP 400), with
 * daprd's message.
 */
export function isRawPayload(metadata: Metadata): boolean {
  const val = Object.hasOwn(metadata, RawPayloadKey) ? metadata[RawPayloadKey] : undefined
  if (val === undefined || val === '') return false
  const b = parseGoBool(val)
  if (b === undefined) {
    throw new MqttFnError(
      ErrorCode.PubsubRequestMetadata,
      `failed deserializing metadata. Error: ${RawPayloadKey} value must be a valid boolean: actual is '${val}'`,
    )
  }
  return b
}

/**
 * `kitmd.GetMetadataProperty`: the first of `keys` present under any casing (Go's
 * `strings.ToLower`). Where two keys differ only in case Dapr picks one at random (Go map
 * order); this picks the first in insertion order.
 */
export function getMetadataProperty(metadata: Metadata, ...keys: string[]): string | undefined {
  if (isEmpty(metadata)) return undefined
  const lower = new Map<string, string>()
  for (const [k, v] of Object.entries(metadata)) {
    const lk = goToLower(k)
    if (!lower.has(lk)) lower.set(lk, v)
  }
  for (const k of keys) {
    const v = lower.get(goToLower(k))
    if (v !== undefined) return v
  }
  return undefined
}

/**
 * `contribMetadata.TryGetTTL`: `ttl` (then `ttlInSeconds`) as a Go duration, else as integer
 * seconds > 0. Returns int64 nanoseconds, or `undefined` for no TTL. A negative duration counts
 * as 0 (the event expires at once); an integer overflowing int64 nanoseconds saturates.
 *
 * Invalid values (`-1`, `abc`, `1.5`) give `undefined`, and `0` (a valid Go duration) gives 0,
 * never an error: that is daprd's rule for the publish API, and mqtt-fn keeps it (issue 17
 * item 6a was checked against it). Sources followed (dapr/dapr d8450742ce, components-contrib
 * c23900d276): dapr/dapr `pkg/api/http/http.go` `onPublish` and `onBulkPublish` (per entry)
 * check only `IsRawPayload` and then call components-contrib `pubsub/envelope.go`
 * `ApplyMetadata`, which does `ttl, hasTTL, _ := contribMetadata.TryGetTTL(metadata)`: the
 * error of `metadata/utils.go` `TryGetTTL` ("ttl value must be a valid integer" / "must be
 * higher than zero") is discarded. Nothing else on that path reads the TTL: not
 * `pkg/runtime/pubsub/cloudevents.go` `NewCloudEvent`, not `pkg/runtime/pubsub/publisher`
 * `Publish`, not the MQTT component (`pubsub/mqtt3/mqtt.go` `Publish`, no MESSAGE_TTL). So daprd
 * answers 204 for every TTL value; a 400 here would break a Dapr client that daprd serves.
 * The queue relays never pass a TTL (no such message attribute), so they are not affected.
 */
export function tryGetTtl(metadata: Metadata): bigint | undefined {
  const val = getMetadataProperty(metadata, TTLMetadataKey, TTLInSecondsMetadataKey)
  if (val === undefined || val === '') return undefined
  const duration = parseGoDuration(val)
  if (duration !== undefined) return duration < 0n ? 0n : duration
  const seconds = parseGoInt64(val)
  if (seconds === undefined || seconds <= 0n) return undefined
  // time.Duration(v) * time.Second wraps around in int64; Dapr only catches negative results.
  const wrapped = BigInt.asIntN(64, seconds * NS_PER_SECOND)
  return wrapped < 0n ? INT64_MAX : wrapped
}

export interface CloudEventOverrides {
  id?: string
  source?: string
  type?: string
  subject?: string
  traceid?: string
  traceparent?: string
  tracestate?: string
}

/**
 * The `cloudevent.*` overrides as `mapstructure.WeakDecode(metadata, &CloudEvent{})` finds
 * them: the exact key, else the first key equal under Go's `strings.EqualFold`. A key that is
 * present with an empty value still overrides (with "").
 */
export function getCloudEventOverrides(metadata: Metadata): CloudEventOverrides {
  const out: CloudEventOverrides = {}
  if (isEmpty(metadata)) return out
  const entries = Object.entries(metadata)
  for (const [field, key] of Object.entries(CloudEventOverrideKeys) as Array<[keyof CloudEventOverrides, string]>) {
    if (Object.hasOwn(metadata, key)) {
      out[field] = metadata[key]
      continue
    }
    const hit = entries.find(([k]) => goEqualFoldAscii(k, key))
    if (hit !== undefined) out[field] = hit[1]
  }
  return out
}

/** Most publishes carry no metadata; this spares them the lookups' per-call maps and arrays. */
function isEmpty(metadata: Metadata): boolean {
  for (const _ in metadata) return false
  return true
}
