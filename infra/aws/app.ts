// The CDK app (`npm run synth`, `npm run deploy:aws`): writes the CloudFormation template and
// its assets to cdk.out/ (or where the CDK CLI says, CDK_OUTDIR). Offline: no AWS account,
// no Docker; see the README (Deploy).
import { join } from 'node:path'
import { createApp, REPO_ROOT } from './build-app.js'

process.env['CDK_DISABLE_CLI_TELEMETRY'] ??= 'true'
const outdir = process.env['CDK_OUTDIR'] ?? join(REPO_ROOT, 'cdk.out')
try {
  const { app } = await createApp({ outdir })
  const assembly = app.synth()
  for (const stack of assembly.stacks) console.error(`synth: ${stack.stackName} -> ${join(assembly.directory, stack.templateFile)}`)
} catch (error) {
  // A bad context value (ConfigError) or a cdk-nag finding nobody acknowledged (the report is
  // the message): both say what to fix, a stack trace would only bury it.
  console.error(`synth: ${error instanceof Error ? error.message : String(error)}`)
  process.exitCode = 1
}
