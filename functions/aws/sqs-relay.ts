// Lambda `index.handler` on an SQS queue (ReportBatchItemFailures): each record becomes one MQTT message.
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSqsRelayHandler } from '../../src/platforms/aws/index.js'
import { createFunctionRuntime, settingsFromEnv } from '../../src/platforms/shared/index.js'

const settings = settingsFromEnv(process.env, { bundleDir: dirname(fileURLToPath(import.meta.url)) })

export const handler = createSqsRelayHandler(createFunctionRuntime({ settings }))
