import { ResourceError } from '../core/errors.js'
import { checkForwarding } from '../forwarder/index.js'
import { TargetRegistry } from '../forwarder/targets/index.js'
import { commonOptions, helpText, parse } from './args.js'
import { loadWithWarnings } from './resources.js'

const options = {
  ...commonOptions,
  'app-url': { type: 'string' },
} as const

/**
 * Exit 0 with a summary, or exit 1 with one `FILE: document N (Kind/name): field: problem` line
 * each. Checks what `mqtt-fn forward` checks before it connects: the resources, the
 * Subscriptions' routes and CEL, and the Resiliency policies. Route paths need an app to be
 * joined to: `--app-url` when given, else they are taken as fine.
 */
export async function validate(argv: string[]): Promise<number> {
  const { values } = parse(argv, options)
  if (values.help) {
    console.log(helpText('validate', '[--resources-path DIR] [--app-id ID] [--app-url URL]', options))
    return 0
  }
  const dir = values['resources-path']
  const appId = values['app-id']
  // A stand-in app address: it is never contacted, it only lets path routes resolve.
  const targets = new TargetRegistry({ appUrl: values['app-url'] ?? 'http://127.0.0.1', env: process.env })
  try {
    const r = await loadWithWarnings(dir, appId)
    checkForwarding(r, { targets, ...(appId ? { appId } : {}), warn: (message) => console.error(`warning: ${message}`) })
    console.log(
      `${dir}: ok (${r.pubsubs.length} pubsub, ${r.secretStores.length} secret store, ${r.subscriptions.length} subscription, ${r.others.length} other)`,
    )
    return 0
  } catch (error) {
    if (!(error instanceof ResourceError)) throw error
    for (const line of error.message.split('\n')) console.error(line)
    return 1
  } finally {
    targets.destroy()
  }
}
