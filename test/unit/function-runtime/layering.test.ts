// src/function-runtime is what every function is built on (README "Functions: configuration and
// build"), so it may reach only src/core: not src/http (the SQS relay bundle would carry the
// publish API again), nor a platform, the forwarder or the local runtime. The walk follows
// every relative import (TypeScript's own pre-processor, so `import type` and `export ... from`
// count) from each module of the runtime.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url))
const RUNTIME = path.join(SRC, 'function-runtime')
const ALLOWED = [RUNTIME, path.join(SRC, 'core')]

function relativeImports(file: string): string[] {
  return ts
    .preProcessFile(readFileSync(file, 'utf8'), true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    // NodeNext: sources import `./x.js` for `./x.ts`.
    .map((specifier) => path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts'))
}

/** Each import chain from `start` that leaves the allowed folders, e.g. `function-runtime/a.ts -> http/index.ts`. */
function chainsOutside(start: string): string[] {
  const found: string[] = []
  const seen = new Set<string>()
  const walk = (file: string, chain: string[]) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const next of relativeImports(file)) {
      const nextChain = [...chain, path.relative(SRC, next)]
      if (!ALLOWED.some((dir) => next.startsWith(dir + path.sep))) found.push(nextChain.join(' -> '))
      else if (existsSync(next)) walk(next, nextChain)
    }
  }
  walk(start, [path.relative(SRC, start)])
  return found
}

const files = readdirSync(RUNTIME)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(RUNTIME, f))

describe('src/function-runtime reaches only src/core', () => {
  it('finds the runtime modules', () => {
    expect(files.map((f) => path.basename(f))).toEqual(expect.arrayContaining(['runtime.ts', 'relay.ts', 'index.ts']))
  })

  it.each(files.map((f) => [path.basename(f), f]))('%s', (_name, file) => {
    expect(chainsOutside(file)).toEqual([])
  })

  it('the check itself sees a way out: the HTTP functions reach src/http', () => {
    expect(chainsOutside(path.join(SRC, 'platforms/http-function/publish-api.ts')).join('\n')).toMatch(/http\/index\.ts/)
  })
})
