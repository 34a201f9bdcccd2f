import { formatProblem, type ResourceLocation, type ResourceProblem } from '../errors.js'

/**
 * Collects every problem of a load instead of stopping at the first, so that one run shows
 * the user all that is wrong. Warnings share the error format.
 */
export class ProblemSink {
  readonly problems: ResourceProblem[] = []
  readonly warnings: string[] = []

  at(location: ResourceLocation): Reporter {
    return new Reporter(this, { ...location })
  }

  addError(problem: ResourceProblem): void {
    this.problems.push(problem)
  }

  addWarning(problem: ResourceProblem): void {
    this.warnings.push(formatProblem(problem))
  }
}

/** Reports problems about one document. */
export class Reporter {
  constructor(
    private readonly sink: ProblemSink,
    readonly location: ResourceLocation,
  ) {}

  error(field: string, problem: string): void {
    this.sink.addError({ ...this.location, field, problem })
  }

  warn(field: string, problem: string): void {
    this.sink.addWarning({ ...this.location, field, problem })
  }

  /** Number of errors reported so far by every reporter of the sink. */
  get errorCount(): number {
    return this.sink.problems.length
  }

  /** The same document, once its kind and name are known. */
  named(kind: string | undefined, name: string | undefined): Reporter {
    const location: ResourceLocation = { file: this.location.file, document: this.location.document }
    if (kind !== undefined) location.kind = kind
    if (name !== undefined) location.name = name
    return new Reporter(this.sink, location)
  }
}

/** ` (got "x")`, or nothing for a value that must stay secret. Long values are shortened. */
export function got(value: string, sensitive: boolean): string {
  if (sensitive) return ''
  const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value
  return ` (got ${JSON.stringify(shown)})`
}
