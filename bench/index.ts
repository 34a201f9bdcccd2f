/**
 * `npm run bench`: every benchmark, each against plain MQTT.js measured in the same run.
 * Figures are for comparison on one machine, never assertions. `npm run bench -- NAME` runs
 * only the suites whose title contains NAME.
 */
import { benchForwarder } from './forwarder.js'
import { benchFunctions } from './functions.js'
import { benchFunctionsApi } from './functions-api.js'
import { benchGrpc } from './grpc.js'
import { benchPublish } from './publish.js'
import { benchPublishApi } from './publish-api.js'
import { benchSessionHygiene } from './session-hygiene.js'

const suites: [string, () => Promise<string[]>][] = [
  ['core publish (QoS 1, 256 B, Mosquitto nodelay)', benchPublish],
  ['functions: warm HTTP publish, bundle size, cold start, SQS batch', benchFunctions],
  ['functions API (mqtt-fn/functions): warm publish, user bundle size, cold start', benchFunctionsApi],
  ['publish API under load (autocannon, 64 connections): mqtt-fn serve vs a node:http -> publishAsync bridge', benchPublishApi],
  ['gRPC API: publish latency beside HTTP (the Dapr SDK both ways)', benchGrpc],
  ['session hygiene: a removed Subscription does not slow the remaining one', benchSessionHygiene],
  ['forwarder: throughput, slow app, latency, RSS', benchForwarder],
]

const only = process.argv[2]
for (const [name, run] of suites) {
  if (only && !name.includes(only)) continue
  console.log(`\n## ${name}`)
  for (const line of await run()) console.log(line)
}
process.exit(0)
