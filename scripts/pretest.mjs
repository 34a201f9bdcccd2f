// `npm test` must pass on a fresh clone of a fresh machine: install what is missing first.
import { execSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const run = (cmd) => execSync(cmd, { stdio: 'inherit' })
const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0

if (!existsSync('node_modules/.package-lock.json')) {
  console.log('pretest: installing dependencies (npm ci)')
  run('npm ci --no-audit --no-fund')
}

// The broker matrix (test/integration/brokers) starts private instances of each.
const brokers = [
  { name: 'Mosquitto', present: () => has('mosquitto') || existsSync('/usr/sbin/mosquitto'), packages: ['mosquitto', 'mosquitto-clients'] },
  { name: 'RabbitMQ', present: () => existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server'), packages: ['rabbitmq-server'] },
  { name: 'NATS', present: () => has('nats-server') || existsSync('/usr/sbin/nats-server'), packages: ['nats-server'] },
]
const missing = brokers.filter((b) => !b.present())
if (missing.length > 0) {
  const packages = missing.flatMap((b) => b.packages).join(' ')
  if (process.getuid?.() === 0) {
    console.log(`pretest: installing ${missing.map((b) => b.name).join(', ')} from Debian packages`)
    run(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${packages}`)
  } else {
    console.error(`pretest: ${missing.map((b) => b.name).join(', ')} missing; install with: sudo apt-get install -y ${packages}`)
    process.exit(1)
  }
}

run('npx tsc --noEmit -p .')
