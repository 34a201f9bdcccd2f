import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { renderMetadataTable } from '../../src/core/resources/index.js'

describe('README', () => {
  it('carries the metadata table the parser is driven by (run `npm run docs` after changing a field)', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
    expect(readme).toContain(`<!-- metadata-table:start -->\n${renderMetadataTable().trim()}\n<!-- metadata-table:end -->`)
  })

  it('gives the two commands', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
    expect(readme).toContain('npm install && npm start')
    expect(readme).toContain('npm test')
  })
})
