/**
 * Dapr's topic scoping keys (dapr/pkg/scopes/scopes.go). daprd removes every space, then
 * splits apps on `;`, app from topics on `=` and topics on `,`.
 */

/** `allowedTopics` / `protectedTopics`: a comma list. Empty entries are dropped. */
export function parseTopicList(value: string): string[] {
  return unique(
    value
      .replaceAll(' ', '')
      .split(',')
      .filter((t) => t !== ''),
  )
}

/**
 * `publishingScopes` / `subscriptionScopes`: `app1=t1,t2;app2=t3` → app id → topics. An entry
 * without `=` is skipped, as daprd does; it is returned in `skipped` so the caller can warn.
 */
export function parseScopes(value: string): { scopes: Record<string, string[]>; skipped: number } {
  const scopes: Record<string, string[]> = Object.create(null) as Record<string, string[]>
  let skipped = 0
  for (const entry of value.replaceAll(' ', '').split(';')) {
    if (entry === '') continue
    const at = entry.indexOf('=')
    if (at < 0) {
      skipped++
      continue
    }
    const app = entry.slice(0, at)
    const topics = entry
      .slice(at + 1)
      .split(',')
      .filter((t) => t !== '')
    scopes[app] = unique([...(scopes[app] ?? []), ...topics])
  }
  return { scopes: { ...scopes }, skipped }
}

/** Dapr's resource `scopes`: empty means every app; otherwise the app id must be listed. */
export function inScope(scopes: readonly string[], appId: string): boolean {
  return scopes.length === 0 || scopes.includes(appId)
}

function unique(values: string[]): string[] {
  return [...new Set(values)]
}
