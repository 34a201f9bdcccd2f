export {
  MAX_TOPIC_BYTES,
  MAX_TOPIC_SEPARATORS,
  filterProblem,
  mqttStringProblem,
  parseSharedFilter,
  publishTopicProblem,
  validateFilter,
  validatePublishTopic,
  type SharedFilter,
} from './validate.js'
export { matchesFilter } from './match.js'
export { TopicMatcher, type TopicMatch } from './topic-matcher.js'
