/**
 * The Dapr gRPC API (issue 15) beside the HTTP publish API, same Mosquitto, same run: the real
 * @dapr/dapr DaprClient publishing one object at a time (QoS 1, sequential) over HTTP to the
 * publish API's Node server and over gRPC to the gRPC server, both answered by the same publish
 * API in this process; plain MQTT.js publishAsync of the same CloudEvent bytes as the floor.
 * Reported: p50 / p99 per request, alternating rounds. Figures, not goals.
 */
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr'
import mqtt from 'mqtt'
import { closeAllPubsubClients } from '../src/core/pubsub/index.js'
import { startGrpcServer } from '../src/grpc/index.js'
import { createPublishApi } from '../src/http/index.js'
import { startHttpServer } from '../src/http/node-server.js'
import { loadResourcesFromDocuments } from '../src/core/resources/index.js'
import { pubsubYaml } from '../support/component-yaml.js'
import { startMosquitto } from '../support/mosquitto.js'
import { median, nowMs, percentile } from './stats.js'

const MESSAGES = Number(process.env.BENCH_GRPC_MESSAGES ?? 2_000)
const ROUNDS = Number(process.env.BENCH_GRPC_ROUNDS ?? 6)
const ORDER = { orderId: 'ord-000123', customer: 'c-42', items: [{ sku: 'widget-7', qty: 3, price: 9.99 }], note: 'x'.repeat(60) }

export async function benchGrpc(): Promise<string[]> {
  const broker = await startMosquitto()
  const resources = await loadResourcesFromDocuments([{ file: 'pubsub.yaml', text: pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }) }], { appId: 'bench', env: {} })
  const api = createPublishApi({ resources, appId: 'bench' })
  const http = await startHttpServer(api, { port: 0, host: '127.0.0.1' })
  const grpc = await startGrpcServer({ publishApi: api, port: 0 })
  const logger = { level: LogLevel.Error }
  const viaHttp = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(http.port), communicationProtocol: CommunicationProtocolEnum.HTTP, logger })
  const viaGrpc = new DaprClient({ daprHost: '127.0.0.1', daprPort: String(grpc.port), communicationProtocol: CommunicationProtocolEnum.GRPC, logger })
  const plain = await mqtt.connectAsync(broker.url)
  const cloudEvent = Buffer.from(JSON.stringify({ data: ORDER, datacontenttype: 'application/json', id: 'x', pubsubname: 'pubsub', source: 'bench', specversion: '1.0', topic: 'bench/grpc', type: 'com.dapr.event.sent' }))
  try {
    const sides: Record<string, () => Promise<unknown>> = {
      'MQTT.js publishAsync (the CloudEvent bytes)': () => plain.publishAsync('bench/grpc', cloudEvent, { qos: 1 }),
      'DaprClient HTTP -> publish API': () => viaHttp.pubsub.publish('pubsub', 'bench/grpc', ORDER),
      'DaprClient gRPC -> gRPC API': () => viaGrpc.pubsub.publish('pubsub', 'bench/grpc', ORDER),
    }
    const names = Object.keys(sides)
    const all: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]))
    const p50s: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]))
    const run = async (f: () => Promise<unknown>, n: number) => {
      const out: number[] = []
      for (let i = 0; i < n; i++) {
        const t0 = nowMs()
        await f()
        out.push(nowMs() - t0)
      }
      return out.sort((a, b) => a - b)
    }
    for (const name of names) await run(sides[name]!, 300)
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order so no side always follows the same one.
      for (let k = 0; k < names.length; k++) {
        const name = names[(r + k) % names.length]!
        const lat = await run(sides[name]!, Math.round(MESSAGES / ROUNDS))
        all[name]!.push(...lat)
        p50s[name]!.push(percentile(lat, 50))
      }
    }
    const lines = [`publish latency, one object at a time, QoS 1, ${ROUNDS} rotating rounds (median of per-round p50; p99 over all):`]
    for (const name of names) {
      const sorted = all[name]!.sort((a, b) => a - b)
      lines.push(`  ${name.padEnd(46)} p50 ${median(p50s[name]!).toFixed(3)} ms   p99 ${percentile(sorted, 99).toFixed(3)} ms   (n ${sorted.length})`)
    }
    const g = median(p50s[names[2]!]!)
    const h = median(p50s[names[1]!]!)
    lines.push(`  gRPC / HTTP p50 ${(g / h).toFixed(2)}x`)
    return lines
  } finally {
    await viaHttp.stop()
    await viaGrpc.stop()
    await plain.endAsync()
    await grpc.close()
    await http.close()
    await closeAllPubsubClients()
    await broker.stop()
  }
}
