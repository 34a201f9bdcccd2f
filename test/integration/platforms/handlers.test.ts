// The platform cases against the handler factories in src/, each with the runtime a deployed
// function builds: settings from its environment, resources from MQTTFN_RESOURCES_PATH.
import { closeAllPubsubClients } from '../../../src/core/pubsub/index.js'
import { createHttpPublishHandler, createSqsRelayHandler } from '../../../src/platforms/aws/index.js'
import { createAzureHttpPublishHandler, createAzureQueueRelayHandler } from '../../../src/platforms/azure/index.js'
import { createFunctionRuntime, settingsFromEnv, type FunctionRuntime } from '../../../src/function-runtime/index.js'
import { describePlatformCases } from './cases.js'

const quiet = { error: () => {}, warn: () => {} }

describePlatformCases('platform handlers from src/ against aedes', async (env) => {
  const runtime = (vars: Record<string, string>): FunctionRuntime =>
    createFunctionRuntime({ settings: settingsFromEnv(vars, { bundleDir: '/nonexistent' }), logger: quiet })
  const live = runtime(env.live)
  const down = runtime(env.down)
  return {
    handlers: {
      awsHttp: createHttpPublishHandler(live),
      sqsRelay: createSqsRelayHandler(live, { logger: false }),
      sqsRelayDown: createSqsRelayHandler(down, { logger: false }),
      azureHttp: createAzureHttpPublishHandler(live),
      azureRelay: createAzureQueueRelayHandler(live),
      azureRelayDown: createAzureQueueRelayHandler(down),
    },
    close: () => closeAllPubsubClients(),
  }
})
