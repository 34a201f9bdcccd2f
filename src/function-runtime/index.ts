export { settingsFromEnv, type FunctionSettings, type SettingsDefaults } from './settings.js'
export {
  createFunctionRuntime,
  FunctionConfigError,
  type FunctionLogger,
  type FunctionRuntime,
  type FunctionRuntimeOptions,
} from './runtime.js'
export { choosePubsub, lazyRelayTarget } from './relay-target.js'
export { planRelay, relayMessage, RelayError, type QueueMessage, type MessageAttributes, type RelayTarget } from './relay.js'
export { runWithDeadline, boundByDeadline, DEADLINE_MARGIN_MS } from './deadline.js'
export { boundedPublisher, type Publisher } from './publisher.js'
