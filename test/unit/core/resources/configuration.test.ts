import { describe, expect, it } from 'vitest'
import { DEFAULT_SAMPLING_RATE, tracingEnabled } from '../../../../src/core/resources/index.js'
import { startTracing } from '../../../../src/tracing/index.js'
import { loadError, loadText } from './helpers.js'

function configurationYaml(name: string, tracing: string | undefined): string {
  const spec = tracing === undefined ? '' : `spec:\n  tracing:\n${tracing.replace(/^/gm, '    ')}\n`
  return `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: ${name}\n${spec}`
}

const OTEL = 'samplingRate: "1"\notel:\n  endpointAddress: localhost:4318\n  isSecure: false\n  protocol: http'

describe('Configuration resources (spec.tracing, as daprd reads it)', () => {
  it('reads samplingRate, otel and zipkin, and keeps the resource in others as before', async () => {
    const loaded = await loadText(
      configurationYaml('tracing', 'samplingRate: "0.5"\nstdout: true\notel:\n  endpointAddress: collector:4317\n  isSecure: "true"\n  protocol: GRPC\nzipkin:\n  endpointAddress: http://zipkin:9411/api/v2/spans'),
    )
    expect(loaded.configuration).toEqual({
      file: 'res/test.yaml',
      document: 1,
      kind: 'Configuration',
      name: 'tracing',
      tracing: {
        samplingRate: 0.5,
        stdout: true,
        otel: { endpointAddress: 'collector:4317', isSecure: true, protocol: 'grpc' },
        zipkin: { endpointAddress: 'http://zipkin:9411/api/v2/spans' },
      },
    })
    expect(loaded.others.map((o) => [o.kind, o.name])).toEqual([['Configuration', 'tracing']])
    expect(loaded.warnings).toEqual([])
  })

  it("takes daprd's default rate (0.0001) and protocol (http) when they are absent", async () => {
    const loaded = await loadText(configurationYaml('c', 'otel:\n  endpointAddress: localhost:4318'))
    expect(DEFAULT_SAMPLING_RATE).toBe(0.0001)
    expect(loaded.configuration?.tracing).toEqual({ samplingRate: 0.0001, stdout: false, otel: { endpointAddress: 'localhost:4318', isSecure: false, protocol: 'http' } })
  })

  it('a Configuration without spec.tracing, or with rate "0" or no exporter, turns nothing on', async () => {
    const bare = await loadText(configurationYaml('bare', undefined))
    expect(bare.configuration).toMatchObject({ name: 'bare' })
    expect(bare.configuration?.tracing).toBeUndefined()
    const zero = await loadText(configurationYaml('zero', OTEL.replace('"1"', '"0"')))
    const nowhere = await loadText(configurationYaml('nowhere', 'samplingRate: "1"'))
    for (const tracing of [bare.configuration?.tracing, zero.configuration?.tracing, nowhere.configuration?.tracing]) {
      expect(tracingEnabled(tracing)).toBe(false)
      // No tracer, and so no SDK: the instrumented paths test this one undefined.
      await expect(startTracing(tracing, { serviceName: 'app' })).resolves.toBeUndefined()
    }
    expect(tracingEnabled((await loadText(configurationYaml('on', OTEL))).configuration?.tracing)).toBe(true)
  })

  it.each([
    ['samplingRate: "often"', 'spec.tracing.samplingRate: must be a number from 0 to 1 (got "often")'],
    ['samplingRate: "1.5"', 'spec.tracing.samplingRate: must be a number from 0 to 1 (got "1.5")'],
    ['samplingRate: "-0.1"', 'spec.tracing.samplingRate: must be a number from 0 to 1 (got "-0.1")'],
    ['samplingRate: true', 'spec.tracing.samplingRate: must be a number from 0 to 1 as a string, e.g. "1" or "0.1"'],
    ['otel:\n  endpointAddress: localhost:4318\n  protocol: thrift', 'spec.tracing.otel.protocol: must be one of http, grpc (got "thrift")'],
    ['otel:\n  isSecure: false', 'spec.tracing.otel.endpointAddress: is required'],
    ['otel:\n  endpointAddress: localhost:4318\n  isSecure: maybe', 'spec.tracing.otel.isSecure: must be true or false (got "maybe")'],
    ['otel: [localhost]', 'spec.tracing.otel: must be a mapping (endpointAddress, isSecure, protocol)'],
    ['zipkin:\n  endpointAddress: zipkin:9411', 'spec.tracing.zipkin.endpointAddress: must be a full http(s) URL such as http://localhost:9411/api/v2/spans (got "zipkin:9411")'],
  ])('refuses %j, naming the field', async (tracing, problem) => {
    const error = await loadError(configurationYaml('bad', tracing))
    expect(error.message).toContain('Configuration/bad')
    expect(error.message).toContain(problem)
  })

  it('warns about tracing fields it does not know, and still loads', async () => {
    const loaded = await loadText(configurationYaml('c', `${OTEL}\n  headers: x\nsampling: "1"`))
    expect(loaded.configuration?.tracing?.otel?.endpointAddress).toBe('localhost:4318')
    expect(loaded.warnings).toEqual([
      expect.stringContaining('spec.tracing.sampling: not a tracing field mqtt-fn knows'),
      expect.stringContaining('spec.tracing.otel.headers: not an otel field mqtt-fn knows'),
    ])
  })

  describe('which Configuration applies (daprd takes the one --config names)', () => {
    const two = `${configurationYaml('a', OTEL)}---\n${configurationYaml('b', OTEL.replace('"1"', '"0.25"'))}`

    it('the one named by the config option, else by MQTTFN_CONFIG', async () => {
      expect((await loadText(two, { config: 'b' })).configuration?.tracing?.samplingRate).toBe(0.25)
      expect((await loadText(two, { env: { MQTTFN_CONFIG: 'a' } })).configuration?.name).toBe('a')
      expect((await loadText(two, { config: 'b', env: { MQTTFN_CONFIG: 'a' } })).configuration?.name).toBe('b')
      expect((await loadText(two, { config: 'a' })).configurations?.map((c) => c.name)).toEqual(['a', 'b'])
    })

    it('refuses several and no name, or a name that matches none', async () => {
      expect((await loadError(two)).message).toContain('2 Configuration resources (a, b): choose the one that applies with --config NAME or MQTTFN_CONFIG')
      expect((await loadError(two, { config: 'c' })).message).toContain('no Configuration named "c" (--config / MQTTFN_CONFIG) in the resources (Configurations: a, b)')
      expect((await loadError('', { config: 'c' })).message).toContain('no Configuration named "c" (--config / MQTTFN_CONFIG) in the resources (there is none)')
    })

    it('no Configuration and no name: none applies', async () => {
      const loaded = await loadText('')
      expect(loaded.configuration).toBeUndefined()
    })
  })
})
