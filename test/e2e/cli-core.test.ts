import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/local/broker.js'
import { getFreePort } from '../../support/ports.js'
import { recordTopics } from '../helpers/mqtt-recorder.js'
import { runCli, startCli } from '../helpers/cli.js'

const component = (url: string, extra = '') => `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.mqtt
  version: v1
  metadata:
  - name: url
    value: "${url}"
  - name: qos
    value: 1
${extra}`

describe('mqtt-fn CLI (core commands, as a user runs them)', () => {
  let broker: EmbeddedBroker
  let dir: string

  beforeAll(async () => {
    broker = await startEmbeddedBroker()
    dir = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-cli-'))
    await writeFile(path.join(dir, 'pubsub.yaml'), component(broker.url))
  })
  afterAll(async () => {
    await broker.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('validate: exit 0 with a summary for good resources', async () => {
    const r = await runCli(['validate', '--resources-path', dir])
    expect(r.stderr).toBe('')
    expect(r.stdout).toContain('ok (1 pubsub')
    expect(r.code).toBe(0)
  })

  it('validate: exit 1 with one FILE: document N (Kind/name): field: problem line per problem, no secret', async () => {
    const bad = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-cli-bad-'))
    try {
      await writeFile(
        path.join(bad, 'a.yaml'),
        component('http://user:s3cr3t-pw@broker:1883', '  - name: qos\n    value: 3\n').replace('  - name: qos\n    value: 1\n', ''),
      )
      await writeFile(path.join(bad, 'b.yaml'), 'kind: Component\nmetadata:\n  name: x\n spec: [\n')
      const r = await runCli(['validate', '--resources-path', bad])
      expect(r.code).toBe(1)
      const lines = r.stderr.trim().split('\n')
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/a\.yaml: document 1 \(Component\/pubsub\): spec\.metadata\.url: .*http/),
          expect.stringMatching(/a\.yaml: document 1 \(Component\/pubsub\): spec\.metadata\.qos: must be 0, 1 or 2/),
          expect.stringMatching(/b\.yaml: document 1: .*line \d+/),
        ]),
      )
      expect(r.stderr + r.stdout).not.toContain('s3cr3t-pw')
    } finally {
      await rm(bad, { recursive: true, force: true })
    }
  })

  it('validate: names a FIFO called a.yaml (without blocking on it) and a too deeply nested document, each as what it is', async () => {
    const bad = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-cli-special-'))
    try {
      execFileSync('mkfifo', [path.join(bad, 'a.yaml')])
      const deep = '['.repeat(20_000) + ']'.repeat(20_000)
      await writeFile(path.join(bad, 'deep.yaml'), component(broker.url).replace('name: pubsub', 'name: deep') + `  - name: consumerID\n    value: ${deep}\n`)
      const r = await runCli(['validate', '--resources-path', bad])
      expect(r.code).toBe(1)
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/a\.yaml: is a FIFO \(named pipe\), not a regular file: /),
        expect.stringMatching(/deep\.yaml: document 1 \(Component\/deep\): spec\.metadata\[2\]\.\.\.: YAML error at line 14, column \d+: collections nested too deeply for the YAML parser/),
      ])
      expect(r.stderr).not.toMatch(/no \.yaml|alias/)
    } finally {
      await rm(bad, { recursive: true, force: true })
    }
  })

  it('validate: also checks what the forwarder refuses at start (CEL, routes, Resiliency), naming file and field', async () => {
    const bad = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-cli-fwd-'))
    try {
      await writeFile(path.join(bad, 'pubsub.yaml'), component(broker.url))
      await writeFile(
        path.join(bad, 'subs.yaml'),
        [
          'apiVersion: dapr.io/v2alpha1',
          'kind: Subscription',
          'metadata:',
          '  name: orders',
          'spec:',
          '  pubsubname: pubsub',
          '  topic: orders/#',
          '  routes:',
          '    rules:',
          '      - match: event.type ==',
          '        path: /a',
          '    default: ftp:somewhere',
          '',
        ].join('\n'),
      )
      await writeFile(
        path.join(bad, 'resiliency.yaml'),
        'apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: r\nspec:\n  policies:\n    circuitBreakers:\n      DefaultCircuitBreakerPolicy: { trip: "consecutiveFailures >" }\n',
      )
      const r = await runCli(['validate', '--resources-path', bad])
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/subs\.yaml: document 1 \(Subscription\/orders\): spec\.routes\.rules\[0\]\.match: invalid CEL expression/)
      expect(r.stderr).toMatch(/unknown target scheme "ftp:"/)
      // Fixed routes, a good breaker: path routes resolve without --app-url.
      await writeFile(path.join(bad, 'subs.yaml'), (await readFile(path.join(bad, 'subs.yaml'), 'utf8')).replace('event.type ==', 'event.type == "x"').replace('ftp:somewhere', '/b'))
      expect((await runCli(['validate', '--resources-path', bad])).stderr).toMatch(
        /resiliency\.yaml: document 1 \(Resiliency\/r\): spec\.policies\.circuitBreakers\.DefaultCircuitBreakerPolicy\.trip: invalid CEL expression/,
      )
      await writeFile(path.join(bad, 'resiliency.yaml'), (await readFile(path.join(bad, 'resiliency.yaml'), 'utf8')).replace('consecutiveFailures >"', 'consecutiveFailures > 3"'))
      const ok = await runCli(['validate', '--resources-path', bad])
      expect(ok.stderr).toBe('')
      expect(ok.code).toBe(0)
    } finally {
      await rm(bad, { recursive: true, force: true })
    }
  })

  it('publish: sends the CloudEvent daprd would, and --raw sends the bytes as they are', async () => {
    const rec = await recordTopics(broker.url, 'cli/#')
    try {
      const r = await runCli(['publish', '--resources-path', dir, '--pubsub', 'pubsub', '--topic', 'cli/json', '--data', '{"b":2,"a":1}', '--content-type', 'application/json'])
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      const msg = await rec.next((m) => m.topic === 'cli/json')
      const text = msg.payload.toString()
      // Go's json.Marshal: sorted keys, embedded JSON data re-serialized with sorted keys.
      expect(text).toMatch(/^\{"data":\{"a":1,"b":2\},"datacontenttype":"application\/json","id":"[0-9a-f-]{36}","pubsubname":"pubsub","source":"Dapr","specversion":"1.0","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ","topic":"cli\/json","traceid":"","traceparent":"","tracestate":"","type":"com.dapr.event.sent"\}$/)

      const raw = await runCli(['publish', '--resources-path', dir, '--topic', 'cli/raw', '--data', 'plain <bytes>', '--raw'])
      expect(raw.code).toBe(0)
      expect((await rec.next((m) => m.topic === 'cli/raw')).payload.toString()).toBe('plain <bytes>')
    } finally {
      await rec.close()
    }
  })

  it('publish: a topic with # is refused with a clear error, and nothing is sent', async () => {
    const r = await runCli(['publish', '--resources-path', dir, '--topic', 'cli/#', '--data', 'x'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('topic "cli/#": wildcards (+, #) are not allowed in a publish topic')
  })

  it('subscribe: prints the topic and the decoded event of what arrives', async () => {
    const sub = startCli(['subscribe', '--resources-path', dir, '--topic', 'sub/+/x', '--count', '1', '--json'])
    try {
      await sub.waitFor(/subscribed to sub\/\+\/x/)
      const pub = await runCli(['publish', '--resources-path', dir, '--topic', 'sub/1/x', '--data', 'hello', '--content-type', 'text/plain'])
      expect(pub.code).toBe(0)
      const [line] = await sub.waitFor(/\{"topic":"sub\/1\/x".*\}\n/)
      const printed = JSON.parse(line) as { topic: string; event: { data: string; datacontenttype: string; topic: string } }
      expect(printed.event).toMatchObject({ data: 'hello', datacontenttype: 'text/plain', topic: 'sub/1/x' })
      // --count 1: it acks, closes and exits by itself.
      expect(await sub.exited()).toBe(0)
    } finally {
      await sub.stop('SIGKILL')
    }
  })

  it('broker: runs the embedded broker alone on the given port until Ctrl-C', async () => {
    const port = await getFreePort()
    const b = startCli(['broker', '--port', String(port)])
    try {
      await b.waitFor(new RegExp(`listening on mqtt://127.0.0.1:${port}`))
      const rec = await recordTopics(`mqtt://127.0.0.1:${port}`, 'solo/#')
      await writeFile(path.join(dir, 'solo.yaml'), component(`mqtt://127.0.0.1:${port}`).replace('name: pubsub', 'name: solo'))
      const pub = await runCli(['publish', '--resources-path', dir, '--pubsub', 'solo', '--topic', 'solo/1', '--data', '1'])
      expect(pub.code).toBe(0)
      expect((await rec.next()).topic).toBe('solo/1')
      await rec.close()
      expect(await b.stop('SIGINT')).toBe(0)
    } finally {
      await b.stop('SIGKILL')
      await rm(path.join(dir, 'solo.yaml'), { force: true })
    }
  })

  it('exits 2 with usage for an unknown command', async () => {
    const r = await runCli(['nope'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('unknown command "nope"')
  })
})
