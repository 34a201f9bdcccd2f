import { createPublishApi } from '../http/index.js'
import { startHttpServer } from '../http/node-server.js'
import { closeAllPubsubClients } from '../core/pubsub/index.js'
import { commonOptions, helpText, parse, parsePort } from './args.js'
import { loadWithWarnings } from './resources.js'
import { untilSignal } from './signals.js'

const options = {
  ...commonOptions,
  port: { type: 'string', default: process.env.DAPR_HTTP_PORT ?? '3500' },
  host: { type: 'string', default: '127.0.0.1' },
} as const

/** The HTTP publish function, locally: Dapr's publish API on Dapr's port. */
export async function serve(argv: string[]): Promise<number> {
  const { values } = parse(argv, options)
  if (values.help) {
    console.log(helpText('serve', '[--resources-path DIR] [--port 3500] [--host ADDR]', options))
    return 0
  }
  const resources = await loadWithWarnings(values['resources-path'], values['app-id'])
  const apiToken = process.env.APP_API_TOKEN ?? process.env.DAPR_API_TOKEN
  const handler = createPublishApi({
    resources,
    ...(values['app-id'] ? { appId: values['app-id'] } : {}),
    ...(apiToken ? { apiToken } : {}),
  })
  const server = await startHttpServer(handler, { port: parsePort(values.port, 'port'), host: values.host })
  console.log(`Dapr publish API on ${server.url} (POST /v1.0/publish/{pubsub}/{topic}); pubsubs: ${resources.pubsubs.map((p) => p.name).join(', ')}`)
  await untilSignal()
  await server.close()
  await closeAllPubsubClients()
  return 0
}
