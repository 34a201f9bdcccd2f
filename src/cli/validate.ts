import { ResourceError } from '../core/errors.js'
import { commonOptions, helpText, parse } from './args.js'
import { loadWithWarnings } from './resources.js'

const options = { ...commonOptions }

/** Exit 0 with a summary, or exit 1 with one `FILE: document N (Kind/name): field: problem` line each. */
export async function validate(argv: string[]): Promise<number> {
  const { values } = parse(argv, options)
  if (values.help) {
    console.log(helpText('validate', '[--resources-path DIR]', options))
    return 0
  }
  const dir = values['resources-path']
  try {
    const r = await loadWithWarnings(dir, values['app-id'])
    console.log(
      `${dir}: ok (${r.pubsubs.length} pubsub, ${r.secretStores.length} secret store, ${r.subscriptions.length} subscription, ${r.others.length} other)`,
    )
    return 0
  } catch (error) {
    if (!(error instanceof ResourceError)) throw error
    for (const line of error.message.split('\n')) console.error(line)
    return 1
  }
}
