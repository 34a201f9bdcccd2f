import type { ParsedResources } from '../core/resources/parsed.js'

/** What scripts/build.mjs compiles into a function bundle. */
export interface BundledResources {
  /** The resources folder the build was given, parsed (compile-resources.ts). */
  resources: ParsedResources
}

/**
 * The compiled resources, or undefined: run from source, from the library, or bundled by
 * anything but scripts/build.mjs, which replaces this module (its `compiledResourcesPlugin`).
 */
export function bundledResources(): BundledResources | undefined {
  return undefined
}
