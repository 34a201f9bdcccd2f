import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { AssetHashType, BundlingOutput, DockerImage, type ILocalBundling } from 'aws-cdk-lib'
import { Code } from 'aws-cdk-lib/aws-lambda'

/** The functions of the stack, as scripts/build.mjs names them (its AWS_FUNCTIONS). */
export const STACK_FUNCTIONS = ['http-publish', 'sqs-relay'] as const
export type StackFunction = (typeof STACK_FUNCTIONS)[number]

/** The repository this module is in: where scripts/build.mjs and the functions' sources are. */
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/**
 * A function's code as the stack deploys it: `scripts/build.mjs --resources <resourcesPath>`, run
 * at synth in this process's machine (CDK local bundling: no Docker; the image is required by the
 * API and never pulled), so the bundle carries that folder's resources compiled in and a cold
 * start parses no YAML. The documents are compiled as written: secrets (`secretKeyRef`) and
 * template tags are still resolved at cold start from the function's environment. The folder
 * beside the bundle (resources/) is there only when a compiled resource reads a file from it at
 * run time (a `secretstores.local.file`), as the build decides.
 *
 * The asset's hash is that of the built folder (AssetHashType.OUTPUT): a change of the resources
 * or of the code both change it, and nothing else does (the build is deterministic).
 */
export function functionCode(resourcesPath: string, name: StackFunction): Code {
  return Code.fromAsset(resourcesPath, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-slim'),
      local: new LocalBuild(resolve(resourcesPath), name),
      outputType: BundlingOutput.NOT_ARCHIVED,
    },
  })
}

/**
 * Copies one function's folder out of the build of its resources. A class with fields, not an
 * object literal: CDK's asset cache key is the JSON of the bundling options, which drops
 * functions, so the fields are what tells the two functions' assets apart.
 */
class LocalBuild implements ILocalBundling {
  constructor(
    readonly resourcesPath: string,
    readonly name: StackFunction,
  ) {}

  tryBundle(outputDir: string): boolean {
    cpSync(join(buildOf(this.resourcesPath), 'aws', this.name), outputDir, { recursive: true })
    return true
  }
}

/** One build per resources folder and process (both functions, every synth of the process). */
const builds = new Map<string, string>()

function buildOf(resourcesPath: string): string {
  const done = builds.get(resourcesPath)
  if (done !== undefined) return done
  const out = mkdtempSync(join(tmpdir(), 'mqtt-fn-functions-'))
  process.once('exit', () => rmSync(out, { recursive: true, force: true }))
  const shown = relative(REPO, resourcesPath) || '.'
  const result = spawnSync(
    process.execPath,
    [join(REPO, 'scripts', 'build.mjs'), '--resources', resourcesPath, '--out', out, '--only', STACK_FUNCTIONS.join(','), '--quiet'],
    { cwd: REPO, encoding: 'utf8', timeout: 300_000 },
  )
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim()
  if (result.status !== 0) {
    const why = result.error?.message ?? (result.signal !== null ? `killed by ${result.signal}` : `exit code ${result.status}`)
    throw new Error(`the functions' code (scripts/build.mjs --resources ${shown}) did not build (${why})${output === '' ? '' : `:\n${output}`}`)
  }
  // The build warns when the resources do not load with the synthesizing environment, which
  // usually lacks the secrets the functions get at run time; a wrong resource is said there too.
  if (output !== '') console.error(`synth: the functions' code from ${shown}: ${output}`)
  builds.set(resourcesPath, out)
  return out
}
