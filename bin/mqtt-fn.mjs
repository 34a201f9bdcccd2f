#!/usr/bin/env node
// In a checkout the TypeScript sources run through tsx, so `npx mqtt-fn` never runs a stale
// build; an installed package ships only dist/.
import { existsSync } from 'node:fs'

const source = new URL('../src/cli/main.ts', import.meta.url)
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api')
  register()
  await import(source.href)
} else {
  await import(new URL('../dist/cli/main.js', import.meta.url).href)
}
