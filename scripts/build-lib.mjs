// The library as installed: what `import ... from 'mqtt-fn'` and its subpaths load. One ES
// module per entry of package.json `exports`, our code bundled, packages left as imports; the
// code the entries share is split into dist/chunks/, so there is one copy of each module (one
// client registry, one set of error classes) whichever entries a user imports. Declarations
// come from tsc (tsconfig.build.json).
import { execFile } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { bundleModule } from './build-cli.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * dist/<name>.js from each source, matching package.json `exports` (`.` → dist/index.js,
 * `./forwarder` → dist/forwarder.js, ...); the declarations are dist/types/<same path>.d.ts.
 */
export const LIB_ENTRIES = {
  index: 'src/index.ts',
  forwarder: 'src/exports/forwarder.ts',
  local: 'src/exports/local.ts',
  functions: 'src/exports/functions.ts',
}

/** Writes the entries (+ maps, chunks) and the declarations under dist/types; returns each entry's size by file. */
export async function buildLib() {
  const dist = join(root, 'dist')
  await Promise.all(['types', 'chunks'].map((d) => rm(join(dist, d), { recursive: true, force: true })))
  const entryPoints = Object.fromEntries(Object.entries(LIB_ENTRIES).map(([name, src]) => [name, join(root, src)]))
  const { bytes, entries } = await bundleModule(entryPoints, { outdir: dist })
  await promisify(execFile)(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root })
  return {
    bytes,
    entries: Object.fromEntries(Object.entries(entries).map(([file, size]) => [relative(root, resolve(root, file)), size])),
  }
}
