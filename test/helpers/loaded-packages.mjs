#!/usr/bin/env node
// `node loaded-packages.mjs SPECIFIER` prints, as JSON, the npm packages that importing
// SPECIFIER loads and the names the module exports: {"packages": [...], "exports": [...]}.
//
// Run it in a child process, so that nothing the test runner loaded is counted, and from the
// folder whose node_modules should resolve SPECIFIER: a bare specifier resolves from this file's
// location, so a test copies it into the project it plays. ES module imports are seen by a
// resolve hook (on Node 20 the hooks run on their own thread, so it appends each URL to a file
// that is read back after the import); CommonJS `require`s, which Node 20 does not pass through
// the hooks, are read from the require cache.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire, register } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const specifier = process.argv[2]
if (!specifier) {
  console.error('usage: node loaded-packages.mjs SPECIFIER')
  process.exit(2)
}

const dir = mkdtempSync(join(tmpdir(), 'mqttfn-loaded-'))
const log = join(dir, 'resolved.txt')
writeFileSync(log, '')
const hooks = `
import { appendFileSync } from 'node:fs'
let log
export function initialize(data) { log = data.log }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(log, result.url + '\\n')
  return result
}
`
register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { log } })

const module = await import(specifier)

const require = createRequire(import.meta.url)
const files = [...readFileSync(log, 'utf8').split('\n').filter(Boolean), ...Object.keys(require.cache)]
rmSync(dir, { recursive: true, force: true })

const packages = new Set()
for (const file of files) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file.replaceAll('\\', '/'))
  if (m) packages.add(m[1])
}
console.log(JSON.stringify({ packages: [...packages].sort(), exports: Object.keys(module).sort() }))
