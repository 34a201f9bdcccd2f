// Lambda `index.handler` behind a Function URL or an API Gateway HTTP / REST API: Dapr's publish API.
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHttpPublishHandler } from '../../src/platforms/aws/index.js'
import { createFunctionRuntime, settingsFromEnv } from '../../src/function-runtime/index.js'

const settings = settingsFromEnv(process.env, { bundleDir: dirname(fileURLToPath(import.meta.url)) })

export const handler = createHttpPublishHandler(createFunctionRuntime({ settings }))
