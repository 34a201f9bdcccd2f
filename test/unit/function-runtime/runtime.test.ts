// Function configuration: environment → settings → runtime, with real resource folders.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InvocationContext } from '@azure/functions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHttpPublishHandler, createSqsRelayHandler } from '../../../src/platforms/aws/index.js'
import { createAzureHttpPublishHandler, createAzureQueueRelayHandler } from '../../../src/platforms/azure/index.js'
import { choosePubsub, createFunctionRuntime, FunctionConfigError, settingsFromEnv } from '../../../src/function-runtime/index.js'
import { HttpRequest } from '@azure/functions'
import { httpEventV2, lambdaContext, sqsEvent } from '../../../support/aws-events.js'
import { loadPubsubs } from '../../helpers/http.js'
import { pubsubYaml } from '../../../support/component-yaml.js'
import { recordingPublisher } from '../../helpers/recording-publisher.js'

const quiet = { error: () => {}, warn: () => {} }

describe('settingsFromEnv', () => {
  it('reads every MQTTFN_* variable, APP_ID and the API token', () => {
    const s = settingsFromEnv(
      { MQTTFN_RESOURCES_PATH: '/opt/res', MQTTFN_PUBSUB: 'p', MQTTFN_TOPIC: 't/x', APP_ID: 'app', DAPR_API_TOKEN: 'd', APP_API_TOKEN: 'a' },
      { bundleDir: '/var/task' },
    )
    expect(s).toMatchObject({ resourcesPath: '/opt/res', resourcesPathFromEnv: true, pubsubName: 'p', defaultTopic: 't/x', appId: 'app', apiToken: 'd' })
  })

  it('defaults: resources/ beside the handler, APP_API_TOKEN when DAPR_API_TOKEN is unset, empty values ignored', () => {
    const s = settingsFromEnv({ APP_API_TOKEN: 'a', MQTTFN_TOPIC: ' ', MQTTFN_PUBSUB: '' }, { bundleDir: '/var/task' })
    expect(s.resourcesPath).toBe('/var/task/resources')
    expect(s.resourcesPathFromEnv).toBe(false)
    expect(s.apiToken).toBe('a')
    expect(s).not.toHaveProperty('defaultTopic')
    expect(s).not.toHaveProperty('pubsubName')
  })
})

describe('choosePubsub', () => {
  it('the only component, or the one MQTTFN_PUBSUB names; otherwise a config error listing the names', async () => {
    const { pubsubs } = await loadPubsubs([{ name: 'a', url: 'mqtt://h:1' }, { name: 'b', url: 'mqtt://h:1' }])
    expect(choosePubsub(pubsubs.slice(0, 1), undefined).name).toBe('a')
    expect(choosePubsub(pubsubs, 'b').name).toBe('b')
    expect(() => choosePubsub(pubsubs, undefined)).toThrow(/several pubsub components \(a, b\): set MQTTFN_PUBSUB/)
    expect(() => choosePubsub(pubsubs, 'c')).toThrow(/MQTTFN_PUBSUB names "c".*\(there are: a, b\)/)
    expect(() => choosePubsub([], undefined)).toThrow(FunctionConfigError)
  })
})

describe('bad or missing resources', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mqttfn-bad-'))
    await writeFile(join(dir, 'pubsub.yaml'), 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: p\nspec:\n  type: pubsub.mqtt\n  version: v1\n  metadata: []\n')
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  const runtime = (vars: Record<string, string>) => {
    const errors: string[] = []
    const rt = createFunctionRuntime({ settings: settingsFromEnv(vars, { bundleDir: '/nonexistent' }), logger: { error: (m) => void errors.push(m), warn: () => {} } })
    return { rt, errors }
  }

  it('HTTP: 500 with a Dapr body, the loader problems logged (once) and not sent to the caller', async () => {
    const { rt, errors } = runtime({ MQTTFN_RESOURCES_PATH: dir })
    const handler = createHttpPublishHandler(rt)
    for (let i = 0; i < 2; i++) {
      const res = (await handler(httpEventV2({ method: 'GET', url: '/v1.0/healthz' }), lambdaContext())) as { statusCode: number; body: string }
      expect(res.statusCode).toBe(500)
      expect(JSON.parse(res.body)).toEqual({ errorCode: 'ERR_FUNCTION_CONFIG', message: 'the Dapr resources could not be loaded; see the function log' })
    }
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/pubsub\.yaml: document 1 \(Component\/p\)/)
  })

  it('SQS: every record is listed (the all-failed rule); Azure: the message throws', async () => {
    const { rt } = runtime({ MQTTFN_RESOURCES_PATH: join(dir, 'missing') })
    const res = await createSqsRelayHandler(rt, { logger: false })(sqsEvent([{ body: 'a', messageId: '1' }, { body: 'b', messageId: '2' }]), lambdaContext())
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: '1' }, { itemIdentifier: '2' }])
    await expect(createAzureQueueRelayHandler(rt)('x', new InvocationContext({ logHandler: () => {} }))).rejects.toThrow(FunctionConfigError)
    const azureHttp = (await createAzureHttpPublishHandler(rt)(new HttpRequest({ method: 'GET', url: 'http://h/v1.0/healthz' }), new InvocationContext({ logHandler: () => {} }))) as { status: number }
    expect(azureHttp.status).toBe(500)
  })

  it('SQS with several components and no MQTTFN_PUBSUB: every record fails, the reason names the fix', async () => {
    const several = await mkdtemp(join(tmpdir(), 'mqttfn-several-'))
    try {
      await writeFile(join(several, 'a.yaml'), [pubsubYaml({ name: 'a', url: 'mqtt://h:1' }), pubsubYaml({ name: 'b', url: 'mqtt://h:1' })].join('---\n'))
      const reasons: string[] = []
      const rt = createFunctionRuntime({ settings: settingsFromEnv({ MQTTFN_RESOURCES_PATH: several, MQTTFN_TOPIC: 't' }, { bundleDir: '/x' }), logger: quiet })
      const res = await createSqsRelayHandler(rt, { logger: (reason) => void reasons.push(String((reason as Error).message)) })(sqsEvent([{ body: 'a', messageId: '1' }]), lambdaContext())
      expect(res.batchItemFailures).toEqual([{ itemIdentifier: '1' }])
      expect(reasons[0]).toMatch(/set MQTTFN_PUBSUB/)
    } finally {
      await rm(several, { recursive: true, force: true })
    }
  })
})

describe('API token', () => {
  it('DAPR_API_TOKEN is required on publish (401 without it), healthz stays open', async () => {
    const loaded = await loadPubsubs([{ name: 'pubsub', url: 'mqtt://127.0.0.1:1' }])
    const publisher = recordingPublisher()
    const handler = createHttpPublishHandler(
      createFunctionRuntime({ settings: settingsFromEnv({ DAPR_API_TOKEN: 's3cret' }, { bundleDir: '/x' }), loadResources: async () => loaded, getClient: () => publisher, logger: quiet }),
    )
    const without = (await handler(httpEventV2({ url: '/v1.0/publish/pubsub/t', body: 'x' }), lambdaContext())) as { statusCode: number }
    expect(without.statusCode).toBe(401)
    const withToken = (await handler(httpEventV2({ url: '/v1.0/publish/pubsub/t', body: 'x', headers: { 'dapr-api-token': 's3cret' } }), lambdaContext())) as { statusCode: number }
    expect(withToken.statusCode).toBe(204)
    const health = (await handler(httpEventV2({ method: 'GET', url: '/v1.0/healthz' }), lambdaContext())) as { statusCode: number }
    expect(health.statusCode).toBe(204)
    expect(publisher.calls.map((c) => c.topic)).toEqual(['t'])
  })
})
