/**
 * Persistent-session hygiene (issue 12), measured: a Subscription removed between two runs of a
 * persistent session must not slow the ones that remain. Mosquitto with its default 20-message
 * in-flight window; the forwarder and an HTTP app answering 204 in this process; the publisher
 * sends N messages on the remaining topic interleaved with N on the removed one.
 *
 * - clean: a session that never had the removed filter (the reference);
 * - hygiene: the session had it, the forwarder unsubscribed it at start (the session ledger);
 * - ledger off (`sessionLedgerTopic: none`): the filter stays in the session and its messages
 *   arrive, to be acked as unrouted.
 * Reported: the remaining topic's msg/s in each, and the ratios to clean. Goal: hygiene >= 0.9x.
 * Runs on MQTT 3.1.1 and on MQTT 5.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import mqtt from 'mqtt'
import { startForwarder } from '../src/forwarder/index.js'
import { startMosquitto, type MosquittoBroker } from '../support/mosquitto.js'
import { median, nowMs } from './stats.js'

const MESSAGES = Number(process.env.BENCH_HYGIENE_MESSAGES ?? 5_000)
const ROUNDS = Number(process.env.BENCH_HYGIENE_ROUNDS ?? 5)

type Scenario = 'clean' | 'hygiene' | 'ledger off'

function event(id: string, topic: string): Buffer {
  return Buffer.from(JSON.stringify({ data: { pad: 'x'.repeat(120) }, datacontenttype: 'application/json', id, pubsubname: 'mqtt', source: 'bench', specversion: '1.0', topic, type: 'com.dapr.event.sent' }))
}

function component(url: string, consumerID: string, v5: boolean, ledgerOff: boolean): string {
  const md: Record<string, string> = { url, qos: '1', cleanSession: 'false', consumerID, ...(v5 ? { protocolVersion: '5', sessionExpiryInterval: '3600' } : {}), ...(ledgerOff ? { sessionLedgerTopic: 'none' } : {}) }
  return `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: mqtt\nspec:\n  type: pubsub.mqtt3\n  version: v1\n  metadata:\n${Object.entries(md).map(([k, v]) => `  - name: ${k}\n    value: ${JSON.stringify(v)}`).join('\n')}\n`
}

function subscription(name: string, topic: string): string {
  return `apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata:\n  name: ${name}\nspec:\n  pubsubname: mqtt\n  topic: "${topic}"\n  routes:\n    default: /${name}\n---\n`
}

async function oneRun(broker: MosquittoBroker, scenario: Scenario, v5: boolean, round: number): Promise<number> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-bench-hygiene-'))
  const id = `hyg-${scenario.replace(' ', '')}-${v5 ? 5 : 4}-${round}-${process.pid}`
  let kept = 0
  let done: () => void = () => {}
  const finished = new Promise<void>((resolve) => (done = resolve))
  const app = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      // No programmatic subscriptions: daprd treats a 404 on /dapr/subscribe as none.
      res.writeHead(req.url === '/dapr/subscribe' ? 404 : 204).end()
      if (req.url === '/kept' && ++kept === MESSAGES) done()
    })
  })
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
  const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`
  const publisher = await mqtt.connectAsync(broker.url, v5 ? { protocolVersion: 5 } : {})
  try {
    await writeFile(path.join(dir, 'pubsub.yaml'), component(broker.url, id, v5, scenario === 'ledger off'))
    const run = (subs: string) => writeFile(path.join(dir, 'subs.yaml'), subs)
    const options = { resourcesPath: dir, appUrl, port: false as const, logLevel: 'silent' as const, processMetrics: false }
    if (scenario !== 'clean') {
      // The first run had both Subscriptions; then `removed` was deleted.
      await run(subscription('kept', `${id}/kept/#`) + subscription('removed', `${id}/removed/#`))
      const first = await startForwarder(options)
      await first.ready
      await first.sessionTidied
      await first.stop()
    }
    await run(subscription('kept', `${id}/kept/#`))
    const second = await startForwarder(options)
    await second.ready
    await second.sessionTidied
    const t0 = nowMs()
    for (let i = 0; i < MESSAGES; i += 50) {
      const batch: Promise<unknown>[] = []
      for (let j = i; j < Math.min(MESSAGES, i + 50); j++) {
        batch.push(publisher.publishAsync(`${id}/kept/x`, event(`k${j}`, `${id}/kept/x`), { qos: 1 }))
        batch.push(publisher.publishAsync(`${id}/removed/x`, event(`r${j}`, `${id}/removed/x`), { qos: 1 }))
      }
      await Promise.all(batch)
    }
    await finished
    const seconds = (nowMs() - t0) / 1000
    await second.stop()
    return MESSAGES / seconds
  } finally {
    await publisher.endAsync()
    await new Promise<void>((resolve) => app.close(() => resolve()))
    await rm(dir, { recursive: true, force: true })
  }
}

export async function benchSessionHygiene(): Promise<string[]> {
  const broker = await startMosquitto({ extraConfig: ['max_inflight_messages 20'] })
  const lines = [`remaining topic's rate with a removed Subscription's topic flooding beside it (${MESSAGES} + ${MESSAGES} messages, QoS 1, Mosquitto in-flight 20), median of ${ROUNDS} rounds:`]
  try {
    for (const v5 of [false, true]) {
      const rates: Record<Scenario, number[]> = { clean: [], hygiene: [], 'ledger off': [] }
      for (let round = 0; round < ROUNDS; round++) {
        for (const scenario of ['clean', 'hygiene', 'ledger off'] as Scenario[]) rates[scenario].push(await oneRun(broker, scenario, v5, round))
      }
      const clean = median(rates.clean)
      const hygiene = median(rates.hygiene)
      const off = median(rates['ledger off'])
      lines.push(
        `  MQTT ${v5 ? '5    ' : '3.1.1'}  clean session ${clean.toFixed(0)} msg/s; removed filter unsubscribed (ledger) ${hygiene.toFixed(0)} msg/s = ${(hygiene / clean).toFixed(2)}x ` +
          `(goal >= 0.9x: ${hygiene / clean >= 0.9 ? 'met' : 'MISSED'}); ledger off, its messages acked as unrouted ${off.toFixed(0)} msg/s = ${(off / clean).toFixed(2)}x`,
      )
    }
  } finally {
    await broker.stop()
  }
  return lines
}
