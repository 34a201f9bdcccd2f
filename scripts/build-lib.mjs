// The library entry, dist/index.js + dist/index.d.ts: what `import { ... } from 'mqtt-fn'` loads.
// Our code is bundled into one ES module; packages stay imports. Declarations come from tsc.
import { execFile } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import * as esbuild from 'esbuild'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/** Writes dist/index.js (+ map) and the declarations under dist/types; returns the bundle size. */
export async function buildLib() {
  await rm(join(root, 'dist', 'types'), { recursive: true, force: true })
  const result = await esbuild.build({
    entryPoints: [join(root, 'src', 'index.ts')],
    outfile: join(root, 'dist', 'index.js'),
    bundle: true,
    packages: 'external',
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    logLevel: 'warning',
    metafile: true,
  })
  await promisify(execFile)(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { cwd: root })
  return Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0
}
