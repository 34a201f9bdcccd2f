// Build time only (scripts/build.mjs, through tsx): a resources folder compiled for a function
// bundle. Nothing a function runs imports this module.
import { formatProblem } from '../core/errors.js'
import type { ParsedResources } from '../core/resources/parsed.js'
import { readResourceFolder } from '../core/resources/read-folder.js'
import { isRecord, own, scalarToString } from '../core/resources/values.js'
import { encodeCompiled } from './compiled-json.js'

export interface CompiledResources {
  /** `ParsedResources` as `encodeCompiled` text: what bundled-resources.ts returns in the bundle. */
  text: string
  /**
   * Why the resources folder must still sit beside the bundle, one line per component that reads a
   * file from it at run time (a `secretstores.local.file`: secrets stay run-time).
   */
  readsFolder: string[]
}

export async function compileResources(dir: string): Promise<CompiledResources> {
  const parsed = await readResourceFolder(dir)
  return { text: encodeCompiled(parsed), readsFolder: folderReaders(parsed) }
}

function folderReaders(parsed: ParsedResources): string[] {
  const readers: string[] = []
  for (const { component, at } of components(parsed)) {
    const type = scalarToString(own(component.spec, 'type')) ?? ''
    if (type.toLowerCase() === 'secretstores.local.file') readers.push(formatProblem({ ...at, field: 'spec.type', problem: `${type} reads its secretsFile at run time` }))
  }
  return readers
}

function* components(parsed: ParsedResources) {
  for (const file of parsed.files) {
    for (const { document, value } of file.documents) {
      if (!isRecord(value) || scalarToString(own(value, 'kind')) !== 'Component') continue
      const spec = own(value, 'spec')
      if (!isRecord(spec)) continue
      const metadata = own(value, 'metadata')
      const name = isRecord(metadata) ? scalarToString(own(metadata, 'name')) : undefined
      yield { component: { spec }, at: { file: file.file, document, kind: 'Component', ...(name === undefined ? {} : { name }) } }
    }
  }
}
