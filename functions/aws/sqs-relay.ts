// Lambda `index.handler` on an SQS queue (ReportBatchItemFailures): each record becomes one MQTT message.
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
// The handler's own module, not the platforms/aws barrel: the barrel also holds the HTTP
// handler, and module-level state of src/http would come along (esbuild keeps a `new TextDecoder()`).
import { createSqsRelayHandler } from '../../src/platforms/aws/sqs-relay.js'
import { createFunctionRuntime, settingsFromEnv } from '../../src/function-runtime/index.js'

const settings = settingsFromEnv(process.env, { bundleDir: dirname(fileURLToPath(import.meta.url)) })

export const handler = createSqsRelayHandler(createFunctionRuntime({ settings }))
