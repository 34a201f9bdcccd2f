import type { LoadedResources, LoadOptions } from './types.js'
import { loadParsedResources } from './loader.js'
import { parseResourceTexts, readResourceFolder, type ResourceFile } from './read-folder.js'

export type { ResourceFile } from './read-folder.js'

/**
 * Reads every `*.yaml` / `*.yml` file of `dir` (not recursive, sorted by name). An entry with such
 * a name that is not a regular file (or a symlink to one) is an error, never skipped: a FIFO,
 * socket, device, directory or dangling symlink. Throws one ResourceError listing every problem
 * of every file; never throws anything else.
 */
export async function loadResources(dir: string, options: LoadOptions = {}): Promise<LoadedResources> {
  return loadParsedResources(await readResourceFolder(dir), options, dir)
}

/** The same as `loadResources`, from files held in memory (tests, tools). */
export async function loadResourcesFromDocuments(files: readonly ResourceFile[], options: LoadOptions = {}): Promise<LoadedResources> {
  return loadParsedResources(parseResourceTexts(files), options)
}
