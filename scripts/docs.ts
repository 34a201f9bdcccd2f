// `npm run docs`: rewrites the README's component metadata table from the field table.
import { readFile, writeFile } from 'node:fs/promises'
import { renderMetadataTable } from '../src/core/resources/index.js'

const START = '<!-- metadata-table:start -->'
const END = '<!-- metadata-table:end -->'
const readme = await readFile('README.md', 'utf8')
const from = readme.indexOf(START)
const to = readme.indexOf(END)
if (from < 0 || to < from) throw new Error(`README.md has no ${START} ... ${END} block`)
const next = `${readme.slice(0, from + START.length)}\n${renderMetadataTable().trim()}\n${readme.slice(to)}`
await writeFile('README.md', next)
console.log(next === readme ? 'README.md metadata table is up to date' : 'README.md metadata table rewritten')
