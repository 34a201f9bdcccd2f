/**
 * `npm run bench`: every benchmark, each against plain MQTT.js measured in the same run.
 * Figures are for comparison on one machine, never assertions.
 */
import { benchPublish } from './publish.js'

const suites: [string, () => Promise<string[]>][] = [['core publish (QoS 1, 256 B, Mosquitto nodelay)', benchPublish]]

const only = process.argv[2]
for (const [name, run] of suites) {
  if (only && !name.includes(only)) continue
  console.log(`\n## ${name}`)
  for (const line of await run()) console.log(line)
}
process.exit(0)
