import type { ResourceProblem } from '../errors.js'

/**
 * Resource files after YAML parsing and before anything else: the documents as plain values,
 * with secrets, `secretKeyRef`s and template tags (`{appID}`, `{podName}`...) still as written.
 * What `loadParsedResources` validates and resolves, and what a function bundle carries
 * compiled in (scripts/build.mjs), so that a bundle needs no YAML parser.
 *
 * Every `file` here is relative to the resources folder (`''` is the folder itself): the loader
 * places them in the folder it is given, so problems name the same paths wherever the parsing
 * ran (at build time, problems name the folder on the build machine; at run time, the
 * function's).
 */
export interface ParsedResources {
  /** The folder could not be listed: its error code. Nothing else is then set. */
  folderError?: string
  /** Problems of the folder and of files that could not be read, in the order found. */
  notes: ParseNote[]
  /** The readable `*.yaml` / `*.yml` files, sorted by name. */
  files: ParsedFile[]
}

export interface ParsedFile {
  file: string
  /** The file's YAML errors and warnings, in the order the parser found them. */
  notes: ParseNote[]
  /** The non-empty documents that parsed. */
  documents: ParsedDocument[]
}

export interface ParsedDocument {
  /** 1-based position in the file, empty documents counted. */
  document: number
  value: unknown
}

/** An error or a warning of parsing, kept unformatted so that the loader can place its file. */
export interface ParseNote {
  severity: 'error' | 'warning'
  problem: ResourceProblem
}
