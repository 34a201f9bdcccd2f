// The library entry, dist/index.js + dist/types/index.d.ts: what `import { ... } from 'mqtt-fn'` loads.
// Our code is bundled into one ES module; packages stay imports. Declarations come from tsc.
import { execFile } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { bundleModule } from './build-cli.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Writes dist/index.js (+ map) and the declarations under dist/types; returns the bundle size. */
export async function buildLib() {
  await rm(join(root, 'dist', 'types'), { recursive: true, force: true })
  const bytes = await bundleModule(join(root, 'src', 'index.ts'), join(root, 'dist', 'index.js'))
  await promisify(execFile)(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root })
  return bytes
}
