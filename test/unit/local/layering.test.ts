// src/local is a runtime that the CLI uses, never the other way round (issue 10): no module of
// src/local may import src/cli, directly or through another src module. The imports are read
// with TypeScript's own pre-processor, so `import type`, `export ... from` and `import()` count.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url))
const LOCAL = path.join(SRC, 'local')
const CLI = path.join(SRC, 'cli')

/** The src files a module imports (relative specifiers only; packages cannot reach src/cli). */
function importsOf(file: string): { specifier: string; resolved: string }[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
  return importedFiles
    .map((f) => f.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => {
      // NodeNext: sources import `./x.js` for `./x.ts`.
      const target = path.resolve(path.dirname(file), specifier)
      const candidates = [target.replace(/\.js$/, '.ts'), target, `${target}.ts`, path.join(target, 'index.ts')]
      return { specifier, resolved: candidates.find((c) => existsSync(c) && c.endsWith('.ts')) ?? target }
    })
}

/** Every chain of imports from `start` that ends inside src/cli, e.g. `local/dev.ts -> cli/signals.ts`. */
function chainsIntoCli(start: string): string[] {
  const found: string[] = []
  const seen = new Set<string>()
  const walk = (file: string, chain: string[]) => {
    if (seen.has(file)) return
    seen.add(file)
    for (const { specifier, resolved } of importsOf(file)) {
      const next = [...chain, path.relative(SRC, resolved)]
      if (resolved === CLI || resolved.startsWith(CLI + path.sep)) {
        found.push(`${next.join(' -> ')} (import '${specifier}')`)
      } else if (resolved.startsWith(SRC) && existsSync(resolved)) {
        walk(resolved, next)
      }
    }
  }
  walk(start, [path.relative(SRC, start)])
  return found
}

const localFiles = readdirSync(LOCAL)
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(LOCAL, f))

describe('src/local imports nothing from src/cli', () => {
  it('finds the modules of src/local', () => {
    expect(localFiles.map((f) => path.basename(f))).toContain('dev.ts')
  })

  it.each(localFiles.map((f) => [path.basename(f), f]))('%s reaches no src/cli module, directly or through others', (_name, file) => {
    expect(chainsIntoCli(file)).toEqual([])
  })

  it('the check itself sees an import of ../cli', () => {
    // The CLI's own dev command imports src/local and src/cli: walking from it must report cli.
    expect(chainsIntoCli(path.join(CLI, 'dev.ts')).length).toBeGreaterThan(0)
  })
})
