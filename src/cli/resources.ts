import { MqttFnError } from '../core/errors.js'
import { loadResources } from '../core/resources/index.js'
import type { LoadedResources, PubsubComponent } from '../core/resources/types.js'

/** Loads the folder and prints the loader's warnings; a bad resource throws ResourceError. */
export async function loadWithWarnings(dir: string, appId?: string, config?: string): Promise<LoadedResources> {
  const resources = await loadResources(dir, { ...(appId ? { appId } : {}), ...(config ? { config } : {}) })
  for (const warning of resources.warnings) console.error(`warning: ${warning}`)
  return resources
}

/** The named pubsub component, or the only one when no name is given. */
export function pickPubsub(resources: LoadedResources, name: string | undefined, dir: string): PubsubComponent {
  const names = resources.pubsubs.map((p) => p.name)
  if (name) {
    const found = resources.pubsubs.find((p) => p.name === name)
    if (!found) {
      throw new MqttFnError('ERR_PUBSUB_NOT_FOUND', `pubsub "${name}" not found in ${dir} (have: ${names.join(', ') || 'none'})`)
    }
    return found
  }
  const [only, ...more] = resources.pubsubs
  if (!only) throw new MqttFnError('ERR_PUBSUB_NOT_FOUND', `no pubsub.mqtt component in ${dir}`)
  if (more.length > 0) throw new MqttFnError('ERR_USAGE', `several pubsub components in ${dir} (${names.join(', ')}): choose one with --pubsub`)
  return only
}
