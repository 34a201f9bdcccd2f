export * from './constants.js'
export { JsonNumber, isValidNumber } from './json-number.js'
export {
  decodeJsonUseNumber,
  goFormatFloat,
  goMarshal,
  goQuote,
  parseGoJson,
  parseGoJsonFloat,
  parseJsonUseNumber,
  type GoJsonParseOptions,
} from './go-json.js'
export { decodeGoString } from './go-string.js'
export { parseGoBool, parseGoDuration, parseGoInt64 } from './go-strconv.js'
export {
  getCloudEventOverrides,
  getMetadataProperty,
  isRawPayload,
  tryGetTtl,
  type CloudEventOverrides,
  type Metadata,
} from './metadata.js'
export {
  applyMetadata,
  buildPublishPayload,
  decodeEvent,
  formatRfc3339,
  fromCloudEvent,
  fromRawPayload,
  hasExpired,
  isBinaryContentType,
  isCloudEventContentType,
  isJsonContentType,
  newCloudEventsEnvelope,
  parseRfc3339,
  type NewEnvelopeArgs,
} from './envelope.js'
export type { PublishPayload, PublishRequest } from './types.js'
export { fromBinaryMode, isStructuredContentType, toBinaryMode, type BinaryMessage, type FromBinary } from './binary-mode.js'
