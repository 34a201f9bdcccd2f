// The layering that README "Layout" promises, checked on every import of every src module
// (TypeScript's own pre-processor reads them, so `import type`, `export ... from` and `import()`
// count). Each folder may import only the folders its row names; since every folder keeps to
// its row, no chain of imports can leave it either: src/local never reaches src/cli, the
// function runtime reaches only src/core, and the queue relays reach src/http through nothing.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

/** Folder (relative to src) -> the folders its modules may import, itself included. */
const MAY_IMPORT: Record<string, string[]> = {
  core: ['core'],
  // Tracing: the facade (types.ts) everyone may name, and the SDK behind a dynamic import (otel.ts).
  tracing: ['tracing', 'core'],
  // tracing/types.ts holds types only (erased): the publish API is handed a Tracer.
  http: ['http', 'core', 'tracing/types.ts'],
  // grpc/gen: the AppCallback messages of a gRPC app's target (generated code, no logic).
  forwarder: ['forwarder', 'core', 'grpc/gen', 'tracing'],
  'function-runtime': ['function-runtime', 'core', 'tracing'],
  'platforms/http-function': ['platforms', 'function-runtime', 'http', 'core'],
  // http/types.ts holds types only (erased from bundles): the HTTP adapters translate to them.
  'platforms/aws': ['platforms/aws', 'platforms/http-function', 'function-runtime', 'core', 'http/types.ts'],
  'platforms/azure': ['platforms/azure', 'platforms/http-function', 'function-runtime', 'core', 'http/types.ts'],
  local: ['local', 'http', 'grpc', 'forwarder', 'core'],
  cli: ['cli', 'local', 'http', 'grpc', 'forwarder', 'core', 'tracing'],
  // The gRPC API answers through the HTTP publish API, in process.
  grpc: ['grpc', 'http', 'core'],
  // The functions API answers through the publish API the HTTP function runs (http via platforms/http-function).
  functions: ['functions', 'function-runtime', 'platforms/http-function', 'platforms/aws/context.ts', 'core', 'http/types.ts', 'http/host-binding.ts', 'http/in-process-request.ts'],
  exports: ['exports', 'forwarder', 'local', 'functions', 'core'],
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name)
    if (statSync(full).isDirectory()) return filesUnder(full)
    return name.endsWith('.ts') ? [full] : []
  })
}

/** The folder rule a src file falls under: the longest key that contains it. */
function ruleOf(relative: string): string | undefined {
  return Object.keys(MAY_IMPORT)
    .filter((folder) => relative === folder || relative.startsWith(folder + '/'))
    .sort((a, b) => b.length - a.length)[0]
}

/** The src modules `file` imports, relative to src (NodeNext: `./x.js` stands for `./x.ts`). */
function srcImports(file: string): string[] {
  return ts
    .preProcessFile(readFileSync(file, 'utf8'), true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts'))
    .filter((target) => target.startsWith(SRC) && existsSync(target))
    .map((target) => path.relative(SRC, target).split(path.sep).join('/'))
}

function violations(file: string): string[] {
  const from = path.relative(SRC, file).split(path.sep).join('/')
  const rule = ruleOf(from)
  if (rule === undefined) return []
  const allowed = MAY_IMPORT[rule] ?? []
  return srcImports(file)
    .filter((to) => !allowed.some((folder) => to === folder || to.startsWith(folder + '/')))
    .map((to) => `${from} -> ${to}`)
}

const files = filesUnder(SRC).filter((f) => path.relative(SRC, f) !== 'index.ts')

describe('src layering (README "Layout")', () => {
  it('every src folder has a row', () => {
    const unruled = files.map((f) => path.relative(SRC, f).split(path.sep).join('/')).filter((f) => ruleOf(f) === undefined)
    expect(unruled).toEqual([])
  })

  it.each(Object.keys(MAY_IMPORT))('%s imports only what its row allows', (folder) => {
    const inFolder = files.filter((f) => ruleOf(path.relative(SRC, f).split(path.sep).join('/')) === folder)
    expect(inFolder.length).toBeGreaterThan(0)
    expect(inFolder.flatMap(violations)).toEqual([])
  })

  it('the check itself sees a way out: src/cli/dev.ts, held to the rule of src/local, breaks it', () => {
    const asIfLocal = srcImports(path.join(SRC, 'cli/dev.ts')).filter((to) => !MAY_IMPORT.local!.some((folder) => to.startsWith(folder + '/')))
    expect(asIfLocal).toContain('cli/args.ts')
  })
})
