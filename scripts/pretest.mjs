// `npm test` must pass on a fresh clone of a fresh machine: install what is missing first.
import { execSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const run = (cmd) => execSync(cmd, { stdio: 'inherit' })
const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0

if (!existsSync('node_modules/.package-lock.json')) {
  console.log('pretest: installing dependencies (npm ci)')
  run('npm ci --no-audit --no-fund')
}

if (!has('mosquitto') && !existsSync('/usr/sbin/mosquitto')) {
  if (process.getuid?.() === 0) {
    console.log('pretest: installing mosquitto from Debian packages')
    run('apt-get update -qq && apt-get install -y -qq mosquitto mosquitto-clients')
  } else {
    console.error('pretest: Mosquitto is missing; install it with: sudo apt-get install -y mosquitto mosquitto-clients')
    process.exit(1)
  }
}

run('npx tsc --noEmit -p .')
