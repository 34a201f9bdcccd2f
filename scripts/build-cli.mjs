// The CLI as one ES module, dist/cli/main.js: what bin/mqtt-fn.mjs runs when src/ is absent
// (an installed package, the forwarder's container image). Our own code is bundled; the
// packages stay imports, resolved from the production node_modules beside it.
import { rm } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * Our code bundled as ES modules, the packages left as imports (resolved from node_modules
 * beside it). `entry` is one file written to `target.outfile`, or a map of names to files
 * written to `target.outdir` with the code they share split into chunks (one copy of each
 * module, so module state and `instanceof` hold across entries). Returns each entry's size in
 * bytes, by output file name, and the total.
 */
export async function bundleModule(entry, target) {
  const { outfile, outdir } = typeof target === 'string' ? { outfile: target } : target
  const many = typeof entry !== 'string'
  const result = await esbuild.build({
    entryPoints: many ? entry : [entry],
    ...(outdir ? { outdir, splitting: true, chunkNames: 'chunks/[name]-[hash]' } : { outfile }),
    bundle: true,
    packages: 'external',
    platform: 'node',
    target: 'node20',
    format: 'esm',
    sourcemap: true,
    logLevel: 'warning',
    metafile: true,
  })
  const outputs = Object.entries(result.metafile.outputs).filter(([file]) => !file.endsWith('.map'))
  const bytes = outputs.reduce((sum, [, o]) => sum + o.bytes, 0)
  const entries = Object.fromEntries(outputs.filter(([, o]) => o.entryPoint).map(([file, o]) => [file, o.bytes]))
  return { bytes, entries, metafile: result.metafile }
}

/** Writes `outfile` (default dist/cli/main.js) and its source map; returns its size in bytes. */
export async function buildCli({ outfile = join(root, 'dist', 'cli', 'main.js') } = {}) {
  await rm(dirname(outfile), { recursive: true, force: true })
  return (await bundleModule(join(root, 'src', 'cli', 'main.ts'), outfile)).bytes
}
