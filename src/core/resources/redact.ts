/**
 * Keeping secrets out of logs. The loader knows which values are secret (fields marked
 * `sensitive` in the table, the URL password, and anything read through a `secretKeyRef`);
 * it registers them here, and any layer can pass a log line or error text through `redact`.
 */

export const REDACTED = '***'

/** `scheme://user:password@` in any text: the password part is masked even if never registered. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:@/?#]*:)[^\s@/?#]+@/gi

/** Values shorter than this are not masked: a one-character "secret" would mask every such letter. */
const MIN_LENGTH = 3

/**
 * The forms a secret can take in text: as is, trimmed, percent-encoded (in a URL), JSON-escaped
 * (in a JSON log line), and each long line of a multi-line value (a PEM key logged in part).
 */
export function sensitiveForms(value: string): string[] {
  const forms = new Set<string>()
  const add = (form: string): void => {
    if (form.length >= MIN_LENGTH) forms.add(form)
  }
  add(value)
  add(value.trim())
  add(encodeURIComponent(value))
  add(JSON.stringify(value).slice(1, -1))
  for (const line of value.split(/\r?\n/)) if (line.trim().length >= 16) add(line.trim())
  return [...forms]
}

/** A function that masks the given values (and URL passwords) in a text. */
export function createRedactor(values: Iterable<string>): (text: string) => string {
  const sorted = [...new Set([...values].flatMap(sensitiveForms))].sort((a, b) => b.length - a.length)
  return (text: string): string => {
    let out = text
    for (const value of sorted) if (out.includes(value)) out = out.split(value).join(REDACTED)
    return out.replace(URL_PASSWORD, `$1${REDACTED}@`)
  }
}

const registry = new Set<string>()
let cached: ((text: string) => string) | undefined

/** Adds values to the process-wide list that `redact(text)` masks. The loader calls it. */
export function registerSensitiveValues(values: Iterable<string>): void {
  for (const value of values) {
    if (value.length >= MIN_LENGTH && !registry.has(value)) {
      registry.add(value)
      cached = undefined
    }
  }
}

/** The values currently registered (for a logger that wants to build its own redactor). */
export function registeredSensitiveValues(): string[] {
  return [...registry]
}

/**
 * Masks every registered secret (and any `scheme://user:password@`) in `text`; with `values`,
 * masks those as well.
 */
export function redact(text: string, values?: Iterable<string>): string {
  if (values !== undefined) return createRedactor([...registry, ...values])(text)
  cached ??= createRedactor(registry)
  return cached(text)
}
