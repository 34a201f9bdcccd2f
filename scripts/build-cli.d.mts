/** Bundles src/cli/main.ts into `outfile` (default dist/cli/main.js) with its lazily loaded parts in chunks/ beside it; resolves to the size of all of it in bytes. */
export function buildCli(options?: { outfile?: string }): Promise<number>
/** One ES module of our code, packages left as imports; resolves to its size in bytes. */
export function bundleModule(entry: string, outfile: string): Promise<number>
