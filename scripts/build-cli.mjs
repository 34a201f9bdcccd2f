// The CLI as one ES module, dist/cli/main.js: what bin/mqtt-fn.mjs runs when src/ is absent
// (an installed package, the forwarder's container image). Our own code is bundled; the
// packages stay imports, resolved from the production node_modules beside it.
import { rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * One ES module of our code with the packages left as imports (resolved from node_modules
 * beside it); returns its size in bytes.
 */
export async function bundleModule(entry, outfile) {
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    logLevel: 'warning',
    metafile: true,
  })
  return Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0
}

/** Writes `outfile` (default dist/cli/main.js) and its source map; returns its size in bytes. */
export async function buildCli({ outfile = join(root, 'dist', 'cli', 'main.js') } = {}) {
  await rm(dirname(outfile), { recursive: true, force: true })
  return bundleModule(join(root, 'src', 'cli', 'main.ts'), outfile)
}
