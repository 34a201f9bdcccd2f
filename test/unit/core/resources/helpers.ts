import { expect } from 'vitest'
import { ResourceError } from '../../../../src/core/errors.js'
import { loadResourcesFromDocuments } from '../../../../src/core/resources/index.js'
import type { LoadOptions, LoadedResources, PubsubComponent } from '../../../../src/core/resources/types.js'
import { pubsubYaml, type Entry } from './builders.js'

/** A fixed environment, so that no test depends on the machine's. */
export const ENV = { HOSTNAME: 'host-1' }

export async function loadText(text: string, options: LoadOptions = {}): Promise<LoadedResources> {
  return loadResourcesFromDocuments([{ file: 'res/test.yaml', text }], { env: ENV, ...options })
}

export async function loadPubsub(metadata: Entry[], options: LoadOptions = {}): Promise<PubsubComponent> {
  const loaded = await loadText(pubsubYaml(metadata), options)
  const [pubsub] = loaded.pubsubs
  if (!pubsub) throw new Error('no pubsub loaded')
  return pubsub
}

/** The ResourceError a load throws; fails the test when it resolves or throws anything else. */
export async function loadError(text: string, options: LoadOptions = {}): Promise<ResourceError> {
  try {
    await loadText(text, options)
  } catch (error) {
    expect(error).toBeInstanceOf(ResourceError)
    return error as ResourceError
  }
  throw new Error('expected a ResourceError, but the load succeeded')
}

export const URL_ENTRY: Entry = { name: 'url', value: 'mqtt://localhost:1883' }
