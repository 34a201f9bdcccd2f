/**
 * `import ... from 'mqtt-fn/functions'` (or any entry of mqtt-fn's package.json `exports`) in a
 * function that `mqtt-fn dev` runs resolves to the mqtt-fn that runs it: the sources in a
 * checkout (no build needed, no stale dist/), the installed dist/ otherwise. So the example
 * functions run as they are on a fresh clone, and a functions folder outside any project
 * (`npx mqtt-fn dev --functions-path ~/fns`) needs no install of its own.
 */
import { existsSync } from 'node:fs'
import { register } from 'node:module'
import { fileURLToPath } from 'node:url'

/** Package subpath → source module, relative to this file (src/local/). */
const SOURCES: Record<string, string> = {
  'mqtt-fn': '../index.ts',
  'mqtt-fn/forwarder': '../exports/forwarder.ts',
  'mqtt-fn/local': '../exports/local.ts',
  'mqtt-fn/functions': '../exports/functions.ts',
}

/** Where each specifier goes in this process: the .ts sources when running from them, else the package's own resolution. */
export function packageEntries(): Record<string, string> {
  const fromSources = import.meta.url.endsWith('.ts')
  return Object.fromEntries(
    Object.entries(SOURCES).flatMap(([specifier, source]) => {
      const url = new URL(source, import.meta.url)
      if (fromSources && existsSync(fileURLToPath(url))) return [[specifier, url.href]]
      try {
        return [[specifier, import.meta.resolve(specifier)]]
      } catch {
        return []
      }
    }),
  )
}

// A resolve hook as a data: URL, so that it ships inside whichever bundle runs it (no file to find).
const HOOK = `
let entries = {}
export function initialize(data) { entries = data.entries }
export async function resolve(specifier, context, next) {
  // Passed on as the file URL, so that a TypeScript loader later in the chain (tsx) still takes a .ts entry.
  return next(entries[specifier] ?? specifier, context)
}
`

let registered = false

/** Installs the hook once per process; later imports of mqtt-fn's entries resolve to this mqtt-fn. */
export function resolveOwnPackage(): void {
  if (registered) return
  registered = true
  register(`data:text/javascript,${encodeURIComponent(HOOK)}`, { data: { entries: packageEntries() } })
}
