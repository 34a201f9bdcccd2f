// The Azure Functions app (v4 model): `publish` (HTTP, Dapr's publish API) and `relay` (Storage Queue).
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { registerAzureFunctions } from '../../src/platforms/azure/index.js'
import { createFunctionRuntime, settingsFromEnv } from '../../src/function-runtime/index.js'

const settings = settingsFromEnv(process.env, { bundleDir: dirname(fileURLToPath(import.meta.url)) })

// The host only needs the registration; the exports let tests call the handlers of the bundle.
export const { publish, relay } = registerAzureFunctions(createFunctionRuntime({ settings }))
