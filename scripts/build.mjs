#!/usr/bin/env node
// `npm run build`: one esbuild bundle per deployable function, ready to upload.
//
//   dist/functions/aws/<name>/index.mjs     Lambda handler `index.handler` (+ .map, lazy chunks)
//   dist/functions/aws/<name>.zip           the same folder, zipped for `aws lambda update-function-code`
//   dist/functions/azure/                   an Azure Functions app folder (host.json, package.json,
//                                           index.mjs), ready for `func azure functionapp publish`
//   dist/functions/examples/<name>/index.mjs each of examples/functions/ built as a user's own function
//                                           (`mqtt-fn/functions`) is built: handler `index.handler`
//   dist/functions/sizes.json               bundle sizes, and MQTT.js alone bundled the same way
//   dist/cli/main.js                        the CLI (bin/mqtt-fn.mjs runs it when src/ is absent,
//                                           e.g. in the forwarder's image, infra/forwarder/Dockerfile)
//   dist/index.js, forwarder.js, local.js   the library's entries (package.json `exports`; build-lib.mjs)
//
// The resources are compiled into each function bundle: their YAML is parsed here, and the
// bundle carries the parsed documents (no YAML parser); secrets and template tags are still
// resolved at cold start from the function's environment. `MQTTFN_RESOURCES_PATH` set at run
// time reads that folder's YAML instead (the parser is then loaded from resources-yaml.mjs
// beside the bundle). resources/ is copied beside a bundle only when a compiled resource reads
// a file from it at run time (a secretstores.local.file's secretsFile). MQTT.js's WebSocket
// transport is a chunk too, mqtt-ws.mjs, loaded only for a ws:// or wss:// component.
//
// Options: --resources DIR (default ./resources), --strict (fail when the resources do not load
// with this environment), --out DIR (default dist/functions), --only NAME,... (only these of
// http-publish, sqs-relay, azure, examples; no CLI or library), --quiet.
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import * as esbuild from 'esbuild'
import { zipSync } from 'fflate'
import ts from 'typescript'
import { buildCli } from './build-cli.mjs'
import { buildLib } from './build-lib.mjs'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
// Parsed by main(): importing this module (tests read AWS_FUNCTIONS, azureHostJson) reads no argv.
let args = { resources: 'resources', strict: false, quiet: true, out: 'dist/functions', only: undefined }
const log = (...a) => {
  if (!args.quiet) console.log(...a)
}

let out = join(root, 'dist', 'functions')
let resourcesDir = resolve(root, args.resources)

export const AWS_FUNCTIONS = [
  { name: 'http-publish', entry: 'functions/aws/http-publish.ts' },
  { name: 'sqs-relay', entry: 'functions/aws/sqs-relay.ts' },
]

// MQTT.js is CommonJS: its `require('net')` needs a real `require` in an ES module.
const banner = {
  js: "import { createRequire as __mqttfnCreateRequire } from 'node:module'; const require = __mqttfnCreateRequire(import.meta.url);",
}

/**
 * Parts of MQTT.js's dependency tree that a function never runs, swapped for small stand-ins:
 * - `socks`: SOCKS proxy support (only with the `socksProxy` option, which mqtt-fn never sets);
 * - `worker-timers`: timers for browsers' web workers (Node uses its own timers);
 * - `readable-stream`: the npm copy of Node's streams, replaced by `node:stream` itself;
 * - MQTT.js's package.json, which it embeds whole for its version string;
 * - `node:stream/web` as @middy/core imports it: it tests `instanceof ReadableStream` only for
 *   a streamed response, which mqtt-fn never makes, and importing it loads Node's web streams
 *   (about 2 ms of a cold start); the stand-in defers to the same class, touched only then.
 * Together they are about half of a plain MQTT.js bundle.
 */
const trimPlugin = {
  name: 'mqtt-fn-trim',
  setup(build) {
    build.onResolve({ filter: /^socks$/ }, () => ({ path: 'socks', namespace: 'mqtt-fn-stub' }))
    build.onResolve({ filter: /^worker-timers$/ }, () => ({ path: 'worker-timers', namespace: 'mqtt-fn-stub' }))
    build.onResolve({ filter: /^readable-stream$/ }, () => ({ path: 'node:stream', external: true }))
    build.onResolve({ filter: /^node:stream\/web$/ }, (a) =>
      /[\\/]node_modules[\\/]@middy[\\/]core[\\/]/.test(a.importer) ? { path: 'stream-web', namespace: 'mqtt-fn-stub' } : undefined,
    )
    build.onLoad({ filter: /[\\/]node_modules[\\/]mqtt[\\/]package\.json$/ }, async (a) => {
      const { name, version } = JSON.parse(await readFile(a.path, 'utf8'))
      return { loader: 'json', contents: JSON.stringify({ name, version }) }
    })
    build.onLoad({ filter: /.*/, namespace: 'mqtt-fn-stub' }, (a) => ({
      loader: 'js',
      contents:
        a.path === 'stream-web'
          ? 'export const ReadableStream = class { static [Symbol.hasInstance](v) { return v instanceof globalThis.ReadableStream } }'
          : a.path === 'socks'
          ? "export class SocksClient { static createConnection() { throw new Error('SOCKS proxies are not supported in mqtt-fn function bundles') } }"
          : 'export const setInterval = globalThis.setInterval, clearInterval = globalThis.clearInterval, setTimeout = globalThis.setTimeout, clearTimeout = globalThis.clearTimeout',
    }))
  },
}

/**
 * The field tables (src/core/resources/*-fields.ts) carry each setting's description and
 * example for the README's reference table (`npm run docs`, renderMetadataTable); a function
 * only parses with them. Their strings (about 8 kB) are emptied in function bundles; the
 * library and the CLI keep them.
 */
const DOC_PROPERTIES = new Set(['description', 'example'])
const fieldDocsPlugin = {
  name: 'mqtt-fn-field-docs',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]core[\\/]resources[\\/][a-z-]+-fields\.ts$/ }, async (a) => {
      const source = await readFile(a.path, 'utf8')
      const file = ts.createSourceFile(a.path, source, ts.ScriptTarget.Latest, true)
      const cuts = []
      const visit = (node) => {
        if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && DOC_PROPERTIES.has(node.name.text)) {
          cuts.push([node.initializer.getStart(file), node.initializer.getEnd()])
        }
        ts.forEachChild(node, visit)
      }
      visit(file)
      let contents = source
      for (const [start, end] of cuts.sort((x, y) => y[0] - x[0])) contents = `${contents.slice(0, start)}''${contents.slice(end)}`
      return { contents, loader: 'ts' }
    })
  },
}

/**
 * Code a function needs only for some resources, and too big to carry in every bundle: a
 * single-file bundle would inline a dynamic import, so each is left as an import of a chunk
 * written beside the bundle by `withLazyChunks`.
 * - tracing-otel.mjs: the OpenTelemetry SDK (about 0.7 MB), imported by src/tracing/index.ts
 *   once a Configuration turns tracing on;
 * - aws-sigv4.mjs: the AWS credential chain and SigV4 signer, imported by
 *   src/core/pubsub/auth/aws-iot.ts at the first connect of an `authMethod: aws-sigv4` component;
 * - azure-identity.mjs: @azure/identity, imported by src/core/pubsub/auth/entra-jwt.ts at the
 *   first connect of an `authMethod: oauth2-jwt` component;
 * - resources-yaml.mjs: the `yaml` parser and the folder reader (src/core/resources/read-folder.ts),
 *   imported by src/function-runtime/runtime.ts only when `MQTTFN_RESOURCES_PATH` names a folder to
 *   read at run time instead of the compiled resources. It holds no module state, so its copy of
 *   the little it shares with the bundle does no harm;
 * - mqtt-ws.mjs: MQTT.js's WebSocket transport and the `ws` package, imported by
 *   src/function-runtime/web-socket.ts once the resources hold a ws:// or wss:// component.
 */
const LAZY_CHUNKS = [
  { file: 'mqtt-ws.mjs', specifier: './web-socket-transport.js', importer: /[\\/]src[\\/]function-runtime[\\/]web-socket\.ts$/, entry: 'src/function-runtime/web-socket-transport.ts' },
  { file: 'resources-yaml.mjs', specifier: '../core/resources/read-folder.js', importer: /[\\/]src[\\/]function-runtime[\\/]runtime\.ts$/, entry: 'src/core/resources/read-folder.ts' },
  { file: 'tracing-otel.mjs', specifier: './otel.js', importer: /[\\/]src[\\/]tracing[\\/]index\.ts$/, entry: 'src/tracing/otel.ts' },
  { file: 'azure-identity.mjs', specifier: './entra-token.js', importer: /[\\/]src[\\/]core[\\/]pubsub[\\/]auth[\\/]entra-jwt\.ts$/, entry: 'src/core/pubsub/auth/entra-token.ts' },
  { file: 'aws-sigv4.mjs', specifier: './aws-sigv4-presign.js', importer: /[\\/]src[\\/]core[\\/]pubsub[\\/]auth[\\/]aws-iot\.ts$/, entry: 'src/core/pubsub/auth/aws-sigv4-presign.ts' },
]
const lazyChunkPlugin = {
  name: 'mqtt-fn-lazy-chunks',
  setup(build) {
    for (const chunk of LAZY_CHUNKS) {
      const filter = new RegExp(`^${chunk.specifier.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`)
      build.onResolve({ filter }, (a) => (chunk.importer.test(a.importer) ? { path: `./${chunk.file}`, external: true } : undefined))
    }
  },
}

/**
 * The compiled resources (src/function-runtime/compile-resources.ts), set by main() before
 * any bundle is built: `{ text, readsFolder: [why...] }`.
 */
let compiled

/**
 * src/function-runtime/bundled-resources.ts, which returns undefined from source, returns the
 * compiled resources in a bundle. They are JSON text parsed at the first load: JSON.parse is
 * faster than the same object as a literal, and keeps a `__proto__` key a key.
 */
const compiledResourcesPlugin = {
  name: 'mqtt-fn-compiled-resources',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/]function-runtime[\\/]bundled-resources\.ts$/ }, (a) => ({
      loader: 'js',
      resolveDir: dirname(a.path),
      contents: [
        "import { decodeCompiled } from './compiled-json.ts'",
        'let bundled',
        'export function bundledResources() {',
        `  bundled ??= { resources: decodeCompiled(${JSON.stringify(compiled.text)}) }`,
        '  return bundled',
        '}',
      ].join('\n'),
    }))
  },
}

/**
 * MQTT.js's transports, as a function bundle carries them. The WebSocket one (connect/ws.js
 * and the `ws` package, about 50 kB) is the chunk mqtt-ws.mjs: the bundle's connect/ws.js
 * forwards to what src/function-runtime/web-socket.ts loaded, which the function runtime does
 * before the first connect of a ws:// or wss:// component, whatever resources it runs with.
 * The WeChat and Alipay mini-program ones, which MQTT.js picks only in a browser, are left out.
 */
const transportsPlugin = {
  name: 'mqtt-fn-transports',
  setup(build) {
    const connect = /[\\/]node_modules[\\/]mqtt[\\/]build[\\/]lib[\\/]connect[\\/](ws|wx|ali)\.js$/
    build.onLoad({ filter: connect }, (a) => {
      const module = connect.exec(a.path)[1]
      if (module === 'ws') {
        const webSocket = JSON.stringify(join(root, 'src/function-runtime/web-socket.ts'))
        return {
          loader: 'js',
          contents: [
            `import { webSocketTransport } from ${webSocket}`,
            'export const streamBuilder = (client, opts) => webSocketTransport(opts.protocol).streamBuilder(client, opts)',
            'export const browserStreamBuilder = (client, opts) => webSocketTransport(opts.protocol).browserStreamBuilder(client, opts)',
          ].join('\n'),
        }
      }
      const fail = `function () { throw new Error("MQTT.js's ${module === 'wx' ? 'WeChat' : 'Alipay'} mini-program transport is not in mqtt-fn function bundles") }`
      return { loader: 'js', contents: `exports.default = ${fail}` }
    })
  },
}

const builtChunks = new Map()
/** Bundles each lazy chunk once and writes it (with its source map and LEGAL.txt) into `dir`; returns the sizes by file. */
async function withLazyChunks(dir) {
  const sizes = {}
  for (const chunk of LAZY_CHUNKS) {
    if (!builtChunks.has(chunk.file)) {
      builtChunks.set(
        chunk.file,
        esbuild.build({ ...common, plugins: [trimPlugin], entryPoints: [join(root, chunk.entry)], write: false, outfile: join(dir, chunk.file), metafile: false }).then((r) => r.outputFiles),
      )
    }
    const files = await builtChunks.get(chunk.file)
    for (const file of files) await writeFile(join(dir, basename(file.path)), file.contents)
    sizes[chunk.file] = files.find((f) => f.path.endsWith(chunk.file)).contents.byteLength
  }
  return sizes
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  legalComments: 'linked',
  banner,
  logLevel: 'warning',
  metafile: true,
  plugins: [trimPlugin, lazyChunkPlugin, fieldDocsPlugin, compiledResourcesPlugin, transportsPlugin],
}

/** Bundles `entry`; returns its size and the bytes each package (or our own source folder) adds. */
async function bundle(entry, outfile, extra = {}) {
  const result = await esbuild.build({ ...common, ...extra, entryPoints: [join(root, entry)], outfile })
  const output = Object.entries(result.metafile.outputs).find(([file]) => file.endsWith('.mjs'))?.[1]
  const parts = {}
  for (const [input, { bytesInOutput }] of Object.entries(output?.inputs ?? {})) {
    const key = partOf(input)
    parts[key] = (parts[key] ?? 0) + bytesInOutput
  }
  const sorted = Object.fromEntries(Object.entries(parts).sort((a, b) => b[1] - a[1]))
  return { bytes: (await stat(outfile)).size, parts: sorted }
}

/** `node_modules/@scope/pkg/...` → `@scope/pkg`; `src/core/x/...` → `src/core/x`. */
function partOf(input) {
  const path = input.replace(/^.*?node_modules\//, 'node_modules/')
  const p = path.split('/')
  if (p[0] === 'node_modules') return p[1].startsWith('@') ? `${p[1]}/${p[2]}` : p[1]
  if (p[0] === 'src') return p.slice(0, Math.min(3, p.length - 1)).join('/') || p[0]
  return p.length > 1 ? p[0] : input
}

/** MQTT.js alone, bundled as plain esbuild does it (no trims): the size floor the goal is measured against. */
async function mqttAloneSize() {
  const result = await esbuild.build({
    stdin: { contents: "export * from 'mqtt'", resolveDir: root, loader: 'js' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    minify: true,
    write: false,
    logLevel: 'silent',
  })
  return result.outputFiles[0].contents.byteLength
}

async function checkResources() {
  let files
  try {
    files = (await readdir(resourcesDir)).filter((f) => /\.ya?ml$/i.test(f))
  } catch {
    throw new Error(`build: no resources folder at ${relative(root, resourcesDir) || '.'} (--resources DIR)`)
  }
  if (files.length === 0) log(`build: warning: ${relative(root, resourcesDir)} holds no .yaml files`)
  const { register } = await import('tsx/esm/api')
  const unregister = register()
  try {
    const { compileResources } = await import(pathToUrl(join(root, 'src/function-runtime/compile-resources.ts')))
    // Parsed only: validation, secrets and template tags run at cold start, with the function's
    // environment, so a bad resource fails there with the message it fails with here.
    compiled = await compileResources(resourcesDir)
    // Here they are only checked with the build's environment.
    const { loadResources } = await import(pathToUrl(join(root, 'src/core/resources/index.ts')))
    await loadResources(resourcesDir, { env: process.env })
    log(`build: ${relative(root, resourcesDir)}/ (${files.length} YAML file(s)) loads with this environment`)
  } catch (error) {
    if (compiled === undefined) throw error
    const text = `build: the resources do not load with this environment (the functions load them at cold start with theirs):\n${error.message}`
    if (args.strict) throw new Error(text)
    console.warn(text)
  } finally {
    await unregister()
  }
  for (const why of compiled.readsFolder) log(`build: resources/ copied beside each bundle: ${relative(root, resourcesDir)}/${why}`)
}

/** resources/ beside a bundle, when something compiled into it reads a file from there at run time. */
async function copyResources(dir) {
  if (compiled.readsFolder.length > 0) await cp(resourcesDir, join(dir, 'resources'), { recursive: true })
}

function pathToUrl(p) {
  return new URL(`file://${p}`).href
}

/** Every file under `dir`, relative paths with `/`. */
async function listFiles(dir, prefix = '') {
  const result = []
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name
    if (entry.isDirectory()) result.push(...(await listFiles(join(dir, entry.name), rel)))
    else if (entry.isFile()) result.push(rel)
  }
  return result.sort()
}

/** A zip of `dir` with fixed timestamps, so the same build gives the same bytes. */
async function zipFolder(dir, zipPath) {
  const entries = {}
  for (const rel of await listFiles(dir)) {
    entries[rel] = [await readFile(join(dir, rel)), { mtime: new Date('2000-01-01T00:00:00Z'), level: 9 }]
  }
  const data = zipSync(entries)
  await writeFile(zipPath, data)
  return data.byteLength
}

async function main() {
  const { values } = parseArgs({
    options: {
      resources: { type: 'string', default: 'resources' },
      strict: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      out: { type: 'string', default: join('dist', 'functions') },
      only: { type: 'string' },
    },
  })
  args = values
  out = resolve(root, args.out)
  resourcesDir = resolve(root, args.resources)
  const only = args.only === undefined ? undefined : new Set(args.only.split(',').map((n) => n.trim()))
  const wanted = (name) => only === undefined || only.has(name)
  const started = Date.now()
  await checkResources()
  await rm(out, { recursive: true, force: true })
  const sizes = {
    mqttAlone: await mqttAloneSize(),
    compiled: { resourcesFolder: compiled.readsFolder.length > 0 },
    aws: {},
    azure: {},
  }

  for (const fn of AWS_FUNCTIONS.filter((f) => wanted(f.name))) {
    const dir = join(out, 'aws', fn.name)
    await mkdir(dir, { recursive: true })
    const { bytes, parts } = await bundle(fn.entry, join(dir, 'index.mjs'))
    sizes.lazyChunks = await withLazyChunks(dir)
    await copyResources(dir)
    const zipBytes = await zipFolder(dir, join(out, 'aws', `${fn.name}.zip`))
    sizes.aws[fn.name] = { bundle: bytes, zip: zipBytes, ratioToMqttAlone: round(bytes / sizes.mqttAlone), parts }
  }

  // The examples as user functions: `mqtt-fn/functions` resolves through tsconfig.json `paths` here, through node_modules in a user's project.
  sizes.examples = {}
  for (const file of !wanted('examples') ? [] :  (await readdir(join(root, 'examples/functions'))).filter((f) => /\.m?ts$/.test(f) && !f.endsWith('.d.ts')).sort()) {
    const name = file.replace(/\.m?ts$/, '')
    const dir = join(out, 'examples', name)
    await mkdir(dir, { recursive: true })
    const { bytes, parts } = await bundle(join('examples/functions', file), join(dir, 'index.mjs'))
    await withLazyChunks(dir)
    await copyResources(dir)
    sizes.examples[name] = { bundle: bytes, ratioToMqttAlone: round(bytes / sizes.mqttAlone), parts }
  }

  if (wanted('azure')) await buildAzure(sizes)

  await writeFile(join(out, 'sizes.json'), JSON.stringify(sizes, null, 2) + '\n')
  log(`build: MQTT.js alone ${kb(sizes.mqttAlone)}`)
  for (const [name, s] of Object.entries(sizes.aws)) {
    log(`build: ${relative(root, out)}/aws/${name}/index.mjs ${kb(s.bundle)} (${s.ratioToMqttAlone}x MQTT.js alone), ${name}.zip ${kb(s.zip)}`)
  }
  for (const [file, bytes] of Object.entries(sizes.lazyChunks ?? {})) log(`build: + ${file} ${kb(bytes)} beside each function bundle, loaded only when its resources need it`)
  if (sizes.azure.bundle !== undefined) log(`build: ${relative(root, out)}/azure/index.mjs ${kb(sizes.azure.bundle)} (${sizes.azure.ratioToMqttAlone}x)`)
  for (const [name, s] of Object.entries(sizes.examples)) {
    log(`build: ${relative(root, out)}/examples/${name}/index.mjs ${kb(s.bundle)} (${s.ratioToMqttAlone}x)`)
  }
  if (only === undefined) {
    const cliBytes = await buildCli()
    const lib = await buildLib()
    log(`build: dist/cli/main.js + dist/cli/chunks ${kb(cliBytes)} (packages not bundled)`)
    const libEntries = Object.entries(lib.entries).map(([file, bytes]) => `${file} ${kb(bytes)}`).join(', ')
    log(`build: ${libEntries}, ${kb(lib.bytes)} with shared chunks, + dist/types (the library: 'mqtt-fn', 'mqtt-fn/forwarder', 'mqtt-fn/local', 'mqtt-fn/functions')`)
  }
  log(`build: done in ${Date.now() - started} ms`)
}

async function buildAzure(sizes) {
  const azure = join(out, 'azure')
  await mkdir(azure, { recursive: true })
  const { bytes: azureBytes, parts: azureParts } = await bundle('functions/azure/index.ts', join(azure, 'index.mjs'), {
    // Provided by the Functions host's Node worker at run time.
    external: ['@azure/functions-core'],
  })
  await withLazyChunks(azure)
  await copyResources(azure)
  await writeFile(join(azure, 'host.json'), JSON.stringify(azureHostJson(), null, 2) + '\n')
  await writeFile(join(azure, 'package.json'), JSON.stringify(await azurePackageJson(), null, 2) + '\n')
  sizes.azure = { bundle: azureBytes, ratioToMqttAlone: round(azureBytes / sizes.mqttAlone), parts: azureParts }
}

/** host.json: Dapr's paths without the `/api` prefix; poison queue after 5 attempts. */
export function azureHostJson() {
  return {
    version: '2.0',
    extensionBundle: { id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' },
    extensions: {
      http: { routePrefix: '' },
      queues: { maxDequeueCount: 5 },
    },
    logging: { logLevel: { default: 'Information' } },
  }
}

async function azurePackageJson() {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'))
  return {
    name: `${pkg.name}-azure-functions`,
    version: pkg.version,
    description: 'mqtt-fn Azure Functions app: Dapr publish API (HTTP) and Storage Queue relay. Everything is bundled in index.mjs.',
    type: 'module',
    main: 'index.mjs',
    engines: { node: '>=20' },
    dependencies: {},
  }
}

function kb(bytes) {
  return `${(bytes / 1000).toFixed(1)} kB`
}

function round(x) {
  return Math.round(x * 1000) / 1000
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  })
}
