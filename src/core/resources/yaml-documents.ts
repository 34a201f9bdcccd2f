import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type ErrorCode, type YAMLError } from 'yaml'
import type { ProblemSink, Reporter } from './problems.js'
import { scalarToString } from './values.js'

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
  // The only place yaml 2 raises this code is composing a collection, when the stack overflows
  // (compose-node.js: "Almost certainly here due to a stack overflow"). Alias bombs are caught
  // later, by toJS, which throws a ReferenceError with no code: see ALIAS_LIMIT below.
  RESOURCE_EXHAUSTION: 'collections nested too deeply for the YAML parser (it ran out of stack); Dapr resources nest only a few levels',
  TAB_AS_INDENT: 'tabs cannot be used for indentation',
  TAG_RESOLVE_FAILED: 'unknown or invalid tag',
  UNEXPECTED_TOKEN: 'unexpected token',
  BAD_COLLECTION_TYPE: 'the tag does not fit this kind of collection',
}

/** `maxAliasCount` for toJS: how many nodes aliases may bring in, counted the library's way. */
const ALIAS_LIMIT = 100

/**
 * toJS throws plain Errors without a code. Their messages are fixed sentences of the library
 * (they name at most an anchor), matched here only to pick our own words; anything else gets
 * the generic text.
 */
function describeToJsError(error: unknown): string {
  const code = (error as Partial<YAMLError> | null)?.code
  if (code !== undefined && code in YAML_ERRORS) return `${YAML_ERRORS[code]} (${code})`
  const message = error instanceof Error ? error.message : ''
  if (error instanceof ReferenceError && /excessive alias count/i.test(message)) {
    return `aliases expand to too much data (more than ${ALIAS_LIMIT} nodes brought in through aliases; alias bombs are refused)`
  }
  if (error instanceof ReferenceError && /unresolved alias/i.test(message)) return YAML_ERRORS.BAD_ALIAS
  if (error instanceof RangeError) return 'collections nested too deeply to convert (ran out of stack); Dapr resources nest only a few levels'
  return 'the document cannot be converted'
}

function describe(error: YAMLError, lines: LineCounter, label: string): string {
  const what = YAML_ERRORS[error.code] ?? 'syntax error'
  const { line, col } = lines.linePos(error.pos[0])
  return `${label} at line ${line}, column ${col}: ${what} (${error.code})`
}

/** Kind and name read from a document that could not be converted, when they are plain scalars. */
function named(doc: Document.Parsed, reporter: Reporter): Reporter {
  const kind = scalarToString(doc.get('kind'))
  const name = scalarToString(doc.getIn(['metadata', 'name']))
  return reporter.named(kind === '' ? undefined : kind, name === '' ? undefined : name)
}

/** How many levels of a too-deep path the field names; the line and column say the rest. */
const FIELD_DEPTH = 3

/**
 * The field path, in the loader's `a.b[0]` form, of the collections that hold `offset`: the
 * first FIELD_DEPTH levels, then `...`. Iterative: the tree is as deep as the stack allowed.
 */
function fieldAt(doc: Document.Parsed, offset: number): string {
  let node: unknown = doc.contents
  let path = ''
  for (let depth = 0; ; depth++) {
    let next: unknown
    let segment: string | undefined
    if (isMap(node)) {
      for (const pair of node.items) {
        const value = pair.value as { range?: [number, number, number] } | null
        if (value?.range && value.range[0] <= offset && offset <= value.range[2]) {
          const key = isScalar(pair.key) ? scalarToString(pair.key.value) : undefined
          segment = key === undefined ? '[?]' : path === '' ? key : `.${key}`
          next = value
          break
        }
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => {
        const range = (item as { range?: [number, number, number] } | null)?.range
        if (next === undefined && range && range[0] <= offset && offset <= range[2]) {
          segment = `[${index}]`
          next = item
        }
      })
    }
    if (segment === undefined) return path
    if (depth === FIELD_DEPTH) return `${path}...`
    path += segment
    node = next
  }
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
      // An overflow, or an unclosed bracket, is reported once per level it unwinds through:
      // the same code at the same place is said once.
      const seen = new Set<string>()
      for (const error of doc.errors) {
        const key = error.code === 'RESOURCE_EXHAUSTION' ? error.code : `${error.code}@${error.pos[0]}`
        if (seen.has(key)) continue
        seen.add(key)
        if (error.code === 'RESOURCE_EXHAUSTION') {
          // Not a syntax error: the rest of the document was read, so say which resource and where.
          named(doc, reporter).error(fieldAt(doc, error.pos[0]), describe(error, lines, 'YAML error'))
        } else {
          reporter.error('', describe(error, lines, 'YAML syntax error'))
        }
      }
      continue
    }
    if (doc.contents === null) continue
    let value: unknown
    try {
      value = doc.toJS({ maxAliasCount: ALIAS_LIMIT })
    } catch (error) {
      // toJS throws for alias bombs and dangling aliases; its message may quote the source.
      named(doc, reporter).error('', `YAML error: ${describeToJsError(error)}`)
      continue
    }
    if (value === null || value === undefined) continue
    result.push({ file, document: index, value })
  }
  return result
}
