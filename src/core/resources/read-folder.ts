import { constants, type Dirent, type Stats } from 'node:fs'
import { open, readdir, readlink, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { ResourceProblem } from '../errors.js'
import type { ParsedFile, ParsedResources, ParseNote } from './parsed.js'
import { ProblemSink } from './problems.js'
import { readYamlDocuments } from './yaml-documents.js'

// The YAML half of loading: files to ParsedResources. It holds no module state, so a function
// bundle can carry it as a separate chunk (resources-yaml.mjs, scripts/build.mjs), loaded only
// when MQTTFN_RESOURCES_PATH names a folder to read at run time.

/** A YAML file held in memory: `file` is how problems name it. */
export interface ResourceFile {
  file: string
  text: string
}

/**
 * Reads and parses every `*.yaml` / `*.yml` file of `dir` (not recursive, sorted by name). An
 * entry with such a name that is not a regular file (or a symlink to one) is an error, never
 * skipped: a FIFO, socket, device, directory or dangling symlink. Never throws. File names in
 * the result are relative to `dir`.
 */
export async function readResourceFolder(dir: string): Promise<ParsedResources> {
  let entries: Dirent[]
  try {
    entries = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => /\.ya?ml$/i.test(e.name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  } catch (error) {
    return { folderError: `cannot read the resources folder (${errorCode(error)})`, notes: [], files: [] }
  }
  const notes: ParseNote[] = []
  const texts: ResourceFile[] = []
  for (const entry of entries) {
    const read = await readRegularFile(join(dir, entry.name), entry)
    if (typeof read === 'string') texts.push({ file: entry.name, text: read })
    else notes.push({ severity: 'error', problem: { file: entry.name, document: 0, field: '', problem: read.problem } })
  }
  if (entries.length === 0) notes.push({ severity: 'warning', problem: { file: '', document: 0, field: '', problem: 'no .yaml or .yml files: no components loaded' } })
  return { notes, files: texts.map(parseResourceFile) }
}

/** The same as `readResourceFolder`, from files held in memory; their names are kept as given. */
export function parseResourceTexts(files: readonly ResourceFile[]): ParsedResources {
  return { notes: [], files: files.map(parseResourceFile) }
}

function parseResourceFile({ file, text }: ResourceFile): ParsedFile {
  const sink = new RecordingSink()
  const documents = readYamlDocuments(file, text, sink).map(({ document, value }) => ({ document, value }))
  return { file, notes: sink.notes, documents }
}

/** A ProblemSink that also keeps errors and warnings in one list, in the order reported, unformatted. */
class RecordingSink extends ProblemSink {
  readonly notes: ParseNote[] = []

  override addError(problem: ResourceProblem): void {
    super.addError(problem)
    this.notes.push({ severity: 'error', problem })
  }

  override addWarning(problem: ResourceProblem): void {
    super.addWarning(problem)
    this.notes.push({ severity: 'warning', problem })
  }
}

/** What a directory entry is, in words, for one that is not a regular file. */
function kindOf(entry: Dirent | Stats): string {
  if (entry.isFIFO()) return 'a FIFO (named pipe)'
  if (entry.isSocket()) return 'a socket'
  if (entry.isDirectory()) return 'a directory'
  if (entry.isCharacterDevice()) return 'a character device'
  if (entry.isBlockDevice()) return 'a block device'
  if (entry.isSymbolicLink()) return 'a symlink'
  return 'not a regular file'
}

const NOT_REGULAR = 'resource files must be regular files or symlinks to them; remove it or rename it so that it does not end in .yaml/.yml'

/**
 * The text of a regular file (or of the regular file a symlink points at), or the problem.
 * The file is opened non-blocking and checked with fstat before reading, so that a FIFO (or a
 * file swapped for one after readdir) is named, never waited on.
 */
async function readRegularFile(file: string, entry: Dirent): Promise<string | { problem: string }> {
  const link = entry.isSymbolicLink()
  if (!link && !entry.isFile()) return { problem: `is ${kindOf(entry)}, not a regular file: ${NOT_REGULAR}` }
  let handle
  try {
    handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0))
  } catch (error) {
    return { problem: link ? await brokenLink(file, error) : `cannot read the file (${errorCode(error)})` }
  }
  try {
    const stats = await handle.stat()
    if (!stats.isFile()) {
      const what = kindOf(stats)
      return { problem: link ? `is a symlink to ${what}${await target(file)}, not a regular file: ${NOT_REGULAR}` : `is ${what}, not a regular file: ${NOT_REGULAR}` }
    }
    return await handle.readFile('utf8')
  } catch (error) {
    return { problem: `cannot read the file (${errorCode(error)})` }
  } finally {
    await handle.close().catch(() => undefined)
  }
}

/** Why a symlink could not be opened: dangling, a loop, or what it points at cannot be opened. */
async function brokenLink(file: string, error: unknown): Promise<string> {
  const code = errorCode(error)
  const to = await target(file)
  if (code === 'ENOENT' || code === 'ENOTDIR') return `is a dangling symlink${to}: its target does not exist`
  if (code === 'ELOOP') return `is a symlink loop${to}`
  // ENXIO: a socket (open(2) refuses those); describe what the link points at when stat can.
  const stats = await stat(file).catch(() => undefined)
  if (stats && !stats.isFile()) return `is a symlink to ${kindOf(stats)}${to}, not a regular file: ${NOT_REGULAR}`
  return `cannot read the file${to} (${code})`
}

/** ` (-> TARGET)` for a symlink, or nothing. */
async function target(file: string): Promise<string> {
  try {
    return ` (-> ${await readlink(file)})`
  } catch {
    return ''
  }
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : 'unknown error'
}
