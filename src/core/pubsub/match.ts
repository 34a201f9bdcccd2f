/**
 * The pubsub client validates and routes with src/core/topics. This module only keeps the
 * names that code written against an earlier version of the pubsub layer imports
 * (src/forwarder); new code should import from src/core/topics directly.
 */
export { filterProblem, matchesFilter, publishTopicProblem as topicProblem } from '../topics/index.js'
