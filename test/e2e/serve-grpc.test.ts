// `mqtt-fn serve --grpc-port` as a user runs it: the real @dapr/dapr DaprClient in gRPC mode
// publishes through the CLI's gRPC port (with the API token the environment sets), and Ctrl-C
// stops both ports.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr'
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../src/local/broker.js'
import { isPortFree } from '../../src/local/ports.js'
import { pubsubYaml } from '../../support/component-yaml.js'
import { getFreePort } from '../../support/ports.js'
import { runCli, startCli } from '../helpers/cli.js'
import { recordTopics, type Recorder } from '../helpers/mqtt-recorder.js'

const quiet = () => {}
const silent = { level: LogLevel.Error, service: { error: quiet, warn: quiet, info: quiet, verbose: quiet, debug: quiet } }

describe('mqtt-fn serve --grpc-port', () => {
  let broker: EmbeddedBroker
  let dir: string
  let recorder: Recorder
  beforeAll(async () => {
    broker = await startEmbeddedBroker()
    dir = await mkdtemp(path.join(tmpdir(), 'mqtt-fn-serve-grpc-'))
    await writeFile(path.join(dir, 'pubsub.yaml'), pubsubYaml({ name: 'pubsub', url: broker.url, metadata: { qos: '1' } }))
    recorder = await recordTopics(broker.url, 'sg/#')
  })
  afterAll(async () => {
    await recorder?.close()
    await broker?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('serves the Dapr gRPC API beside HTTP; the SDK in gRPC mode publishes through it', async () => {
    const serve = startCli(['serve', '--resources-path', dir, '--app-id', 'shop', '--port', '0', '--grpc-port', '0'], { env: { DAPR_API_TOKEN: 'serve-token', DAPR_GRPC_PORT: '' } })
    let client: DaprClient | undefined
    try {
      const [, port] = await serve.waitFor(/Dapr gRPC API on 127\.0\.0\.1:(\d+) \(dapr\.proto\.runtime\.v1\.Dapr: PublishEvent, BulkPublishEventAlpha1, GetMetadata/)
      client = new DaprClient({ daprHost: '127.0.0.1', daprPort: port!, communicationProtocol: CommunicationProtocolEnum.GRPC, daprApiToken: 'serve-token', logger: silent })
      expect(await client.pubsub.publish('pubsub', 'sg/orders', { orderId: 5 })).toEqual({})
      const event = JSON.parse((await recorder.next((m) => m.topic === 'sg/orders')).payload.toString()) as Record<string, unknown>
      expect(event).toMatchObject({ data: { orderId: 5 }, source: 'shop', topic: 'sg/orders', pubsubname: 'pubsub' })
      expect(await client.pubsub.publishBulk('pubsub', 'sg/bulk', [{ n: 1 }, { n: 2 }])).toEqual({ failedMessages: [] })
      await recorder.next((m) => m.topic === 'sg/bulk')
      await client.stop()
      client = undefined
      expect(await serve.stop('SIGINT')).toBe(0)
      expect(await isPortFree(Number(port))).toBe(true)
    } finally {
      await client?.stop()
      await serve.stop('SIGKILL')
    }
  })

  it('DAPR_GRPC_PORT alone serves it there (where the SDKs look); daprd\'s answers to a missing token and to other methods', async () => {
    const grpcPort = await getFreePort()
    const serve = startCli(['serve', '--resources-path', dir, '--port', '0'], { env: { APP_API_TOKEN: 'env-token', DAPR_API_TOKEN: '', DAPR_GRPC_PORT: String(grpcPort) } })
    const raw = new Client(`127.0.0.1:${grpcPort}`, credentials.createInsecure())
    const call = (method: string, token?: string) =>
      new Promise<ServiceError | null>((resolve) => {
        const metadata = new Metadata()
        if (token !== undefined) metadata.set('dapr-api-token', token)
        raw.makeUnaryRequest(`/dapr.proto.runtime.v1.Dapr/${method}`, (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), metadata, (err) => resolve(err))
      })
    try {
      await serve.waitFor(new RegExp(`Dapr gRPC API on 127\\.0\\.0\\.1:${grpcPort} `))
      expect(await call('GetMetadata')).toMatchObject({ code: status.UNAUTHENTICATED, details: 'Unauthorized' })
      expect(await call('GetMetadata', 'env-token')).toBeNull()
      expect(await call('GetState', 'env-token')).toMatchObject({ code: status.UNIMPLEMENTED, details: expect.stringMatching(/^GetState: mqtt-fn serves PublishEvent, BulkPublishEventAlpha1, GetMetadata/) })
      // An empty PublishEventRequest: daprd's "pubsub name is empty".
      expect(await call('PublishEvent', 'env-token')).toMatchObject({ code: status.INVALID_ARGUMENT, details: 'pubsub name is empty' })
      raw.close()
      expect(await serve.stop('SIGINT')).toBe(0)
    } finally {
      raw.close()
      await serve.stop('SIGKILL')
    }
  })

  it('--help names the flag; a bad --grpc-port is refused naming it', async () => {
    const help = await runCli(['serve', '--help'])
    expect(help.stdout).toContain('--grpc-port')
    const bad = await runCli(['serve', '--resources-path', dir, '--port', '0', '--grpc-port', 'x'], { env: { DAPR_GRPC_PORT: '' } })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/grpc-port/)
    // A port in use: exit 1 naming the flag, and the HTTP port it had opened is closed again.
    const net = await import('node:net')
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()))
    const taken = (blocker.address() as { port: number }).port
    try {
      const busy = await runCli(['serve', '--resources-path', dir, '--port', '0', '--grpc-port', String(taken)], { env: { DAPR_GRPC_PORT: '' } })
      expect(busy.code).toBe(1)
      expect(busy.stderr).toMatch(new RegExp(`--grpc-port ${taken}`))
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })

  it('mqtt-fn forward --app-protocol: daprd\'s values; the ones not served are refused naming what is', async () => {
    const grpcs = await runCli(['forward', '--resources-path', dir, '--app-url', '127.0.0.1:1', '--app-protocol', 'grpcs', '--port', '0'])
    expect(grpcs.code).toBe(1)
    expect(grpcs.stderr).toMatch(/--app-protocol grpcs: not supported; use http, https .* or grpc/)
    const typo = await runCli(['forward', '--resources-path', dir, '--app-protocol', 'gprc', '--port', '0'])
    expect(typo.code).toBe(1)
    expect(typo.stderr).toMatch(/--app-protocol: one of http, https, grpc/)
    expect((await runCli(['forward', '--help'])).stdout).toContain('--app-protocol')
  })
})
