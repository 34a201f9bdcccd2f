import { LineCounter, parseAllDocuments, type ErrorCode, type YAMLError } from 'yaml'
import type { ProblemSink } from './problems.js'

/** One non-empty YAML document, converted to plain JS values. */
export interface RawDocument {
  file: string
  /** 1-based position in the file, empty documents counted. */
  document: number
  value: unknown
}

/**
 * Our own words for each `yaml` error code. The library's messages can quote the source
 * (`Unresolved plain scalar "..."`, `Invalid escape sequence ...`), and a source line may hold a
 * password, so its text is never passed on.
 */
const YAML_ERRORS: Record<ErrorCode, string> = {
  ALIAS_PROPS: 'an alias cannot have an anchor or a tag',
  BAD_ALIAS: 'an alias refers to an anchor that is not defined before it',
  BAD_DIRECTIVE: 'bad directive',
  BAD_DQ_ESCAPE: 'bad escape sequence in a double-quoted string',
  BAD_INDENT: 'bad indentation',
  BAD_PROP_ORDER: 'anchors and tags must come after the indicator',
  BAD_SCALAR_START: 'a plain value cannot start with this character; quote it',
  BLOCK_AS_IMPLICIT_KEY: 'a block value cannot be used as a key',
  BLOCK_IN_FLOW: 'a block value cannot sit inside [ ] or { }',
  DUPLICATE_KEY: 'duplicate key in a mapping',
  IMPOSSIBLE: 'internal YAML parser error',
  KEY_OVER_1024_CHARS: 'implicit key longer than 1024 characters',
  MISSING_CHAR: 'missing character (a comma, colon, space or closing quote/bracket)',
  MULTILINE_IMPLICIT_KEY: 'a key cannot span several lines',
  MULTIPLE_ANCHORS: 'a node can have only one anchor',
  MULTIPLE_DOCS: 'several documents where one was expected',
  MULTIPLE_TAGS: 'a node can have only one tag',
  NON_STRING_KEY: 'keys must be strings',
  RESOURCE_EXHAUSTION: 'aliases expand to too much data',
  TAB_AS_INDENT: 'tabs cannot be used for indentation',
  TAG_RESOLVE_FAILED: 'unknown or invalid tag',
  UNEXPECTED_TOKEN: 'unexpected token',
  BAD_COLLECTION_TYPE: 'the tag does not fit this kind of collection',
}

function describe(error: YAMLError, lines: LineCounter, label: string): string {
  const what = YAML_ERRORS[error.code] ?? 'syntax error'
  const { line, col } = lines.linePos(error.pos[0])
  return `${label} at line ${line}, column ${col}: ${what} (${error.code})`
}

/**
 * Splits a file into its documents. A document with a syntax error becomes a problem naming
 * the file, the document and the line; empty documents are skipped.
 */
export function readYamlDocuments(file: string, text: string, sink: ProblemSink): RawDocument[] {
  const lines = new LineCounter()
  const documents = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false })
  const result: RawDocument[] = []
  let index = 0
  for (const doc of documents) {
    index++
    const reporter = sink.at({ file, document: index })
    for (const warning of doc.warnings) reporter.warn('', describe(warning, lines, 'YAML warning'))
    if (doc.errors.length > 0) {
      for (const error of doc.errors) reporter.error('', describe(error, lines, 'YAML syntax error'))
      continue
    }
    if (doc.contents === null) continue
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: 100 })
    } catch (error) {
      // toJS throws for alias bombs and dangling aliases; its message may quote the source.
      const code = (error as Partial<YAMLError>).code
      reporter.error('', `YAML error: ${code ? YAML_ERRORS[code] : 'the document cannot be converted'}`)
      continue
    }
    if (value === null || value === undefined) continue
    result.push({ file, document: index, value })
  }
  return result
}
