// The CLI as one ES module, dist/cli/main.js: what bin/mqtt-fn.mjs runs when src/ is absent
// (an installed package, the forwarder's container image). Our own code is bundled; the
// packages stay imports, resolved from the production node_modules beside it.
import { rm } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
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

/**
 * Writes `outfile` (default dist/cli/main.js), its source map and, beside it in chunks/, the
 * parts the CLI imports only when asked for (the gRPC API and its packages): one file would
 * hoist their package imports to the top and load grpc-js in every command. Returns the size
 * of all of it in bytes.
 */
export async function buildCli({ outfile = join(root, 'dist', 'cli', 'main.js') } = {}) {
  const outdir = dirname(outfile)
  await rm(outdir, { recursive: true, force: true })
  const name = basename(outfile).replace(/\.js$/, '')
  const { bytes } = await bundleModule({ [name]: join(root, 'src', 'cli', 'main.ts') }, { outdir })
  return bytes
}
