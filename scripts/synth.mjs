#!/usr/bin/env node
// `npm run synth`: the AWS CloudFormation template from the CDK app infra/aws/app.ts into
// cdk.out/, offline (no AWS account, no Docker), and checks that the Azure ARM template parses.
// The app builds the functions' code itself, with the resources of `-c functionResourcesPath`
// compiled in (infra/aws/function-code.ts runs scripts/build.mjs): no `npm run build` first.
//
//   npm run synth
//   npm run synth -- -c forwarderReplicas=3 -c brokerTls=ca     (CDK context, as `cdk synth -c`)
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')

const context = {}
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i]
  const pair = arg === '-c' || arg === '--context' ? argv[++i] : arg.startsWith('--context=') ? arg.slice('--context='.length) : undefined
  const eq = pair?.indexOf('=') ?? -1
  if (pair === undefined || eq <= 0) {
    console.error(`synth: unknown argument ${JSON.stringify(arg)} (expected -c key=value)`)
    process.exit(2)
  }
  context[pair.slice(0, eq)] = pair.slice(eq + 1)
}

const run = (args, env = {}) => {
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } })
  if (result.status !== 0) process.exit(result.status ?? 1)
}

run(['--import', 'tsx', join(root, 'infra/aws/app.ts')], {
  CDK_DISABLE_CLI_TELEMETRY: 'true',
  ...(Object.keys(context).length > 0 ? { CDK_CONTEXT_JSON: JSON.stringify({ ...JSON.parse(process.env.CDK_CONTEXT_JSON ?? '{}'), ...context }) } : {}),
})

const arm = join(root, 'infra/azure/azuredeploy.json')
const template = JSON.parse(readFileSync(arm, 'utf8'))
console.error(`synth: infra/azure/azuredeploy.json parses (${template.resources.length} resources; deploy with az deployment group create, see the README (Deploy))`)
