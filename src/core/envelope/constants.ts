/**
 * Names and defaults of the CloudEvent that daprd builds, as declared in components-contrib
 * `pubsub/envelope.go`, `contenttype/utils.go` and `metadata/utils.go` (v1.18.4). The names
 * keep Go's spelling so a reader can hold this file next to envelope.go.
 */

/** The default event type for a Dapr published event. */
export const DefaultCloudEventType = 'com.dapr.event.sent'
/** The event type of the envelope that wraps a bulk delivery to a bulk-enabled subscription. */
export const DefaultBulkCloudEventType = 'com.dapr.event.sent.bulk'
/** The specversion Dapr writes. */
export const CloudEventsSpecVersion = '1.0'
/** The default event source; publish uses the app ID first, FromCloudEvent and raw delivery use this. */
export const DefaultCloudEventSource = 'Dapr'
/** The content type written when the publish request had none. */
export const DefaultCloudEventDataContentType = 'text/plain'

// `traceid` duplicates `traceparent`; Dapr keeps it for subscribers that still read it.
export const TraceIDField = 'traceid'
export const TraceParentField = 'traceparent'
export const TraceStateField = 'tracestate'
export const TopicField = 'topic'
export const PubsubField = 'pubsubname'
export const ExpirationField = 'expiration'
export const DataContentTypeField = 'datacontenttype'
export const DataField = 'data'
export const DataBase64Field = 'data_base64'
export const SpecVersionField = 'specversion'
export const TypeField = 'type'
export const SourceField = 'source'
export const IDField = 'id'
export const SubjectField = 'subject'
export const TimeField = 'time'

/** A body with this content type is already a CloudEvent (contenttype.CloudEventContentType). */
export const CloudEventContentType = 'application/cloudevents+json'
/** A body with this content type is embedded as a JSON value when it parses (contenttype.JSONContentType). */
export const JSONContentType = 'application/json'
/** A body with this content type goes to `data_base64` (contenttype.IsBinaryContentType). */
export const OctetStreamContentType = 'application/octet-stream'
/** Also goes to `data_base64` (contenttype.CloudEventProtobufContentType). */
export const CloudEventProtobufContentType = 'application/cloudevents+protobuf'

/** Request metadata keys read on the publish path (metadata/utils.go). */
export const RawPayloadKey = 'rawPayload'
export const TTLMetadataKey = 'ttl'
export const TTLInSecondsMetadataKey = 'ttlInSeconds'

/**
 * Request metadata that overrides envelope fields (dapr `pkg/runtime/pubsub/cloudevents.go`,
 * struct tags of `CloudEvent`). Matched exactly first, then case-insensitively, as mapstructure does.
 */
export const CloudEventOverrideKeys = {
  id: 'cloudevent.id',
  source: 'cloudevent.source',
  type: 'cloudevent.type',
  subject: 'cloudevent.subject',
  traceid: 'cloudevent.traceid',
  traceparent: 'cloudevent.traceparent',
  tracestate: 'cloudevent.tracestate',
} as const

/** Dapr error codes this module raises (dapr `pkg/api/errors/pubsub.go`). */
export const ErrorCode = {
  /** Bad `rawPayload` value: HTTP 400. */
  PubsubRequestMetadata: 'ERR_PUBSUB_REQUEST_METADATA',
  /** A CloudEvent could not be built from, or read back out of, the bytes: HTTP 500 on publish. */
  PubsubCloudEventsSer: 'ERR_PUBSUB_CLOUD_EVENTS_SER',
  /** `parseJsonUseNumber` met text Go's decoder refuses. */
  JsonSyntax: 'ERR_JSON_SYNTAX',
  /** `goMarshal` met a value Go's encoder refuses (NaN, a cycle, a function). */
  JsonMarshal: 'ERR_JSON_MARSHAL',
} as const
