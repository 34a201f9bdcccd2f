import { describe, expect, it } from 'vitest'
import { parseBrokerUrl } from '../../../../src/core/resources/index.js'
import { pubsubYaml } from './builders.js'
import { loadError, loadPubsub, loadText } from './helpers.js'

function ok(text: string) {
  const result = parseBrokerUrl(text)
  if (!result.ok) throw new Error(`expected ${text} to parse: ${result.problem}`)
  return result
}

describe('broker url', () => {
  it.each([
    ['mqtt://h', 'mqtt', 1883],
    ['tcp://h', 'mqtt', 1883],
    ['mqtts://h', 'mqtts', 8883],
    ['tcps://h', 'mqtts', 8883],
    ['ssl://h', 'mqtts', 8883],
    ['tls://h', 'mqtts', 8883],
    ['ws://h', 'ws', 80],
    ['wss://h', 'wss', 443],
    ['MQTT://h', 'mqtt', 1883],
  ])('%s → %s on port %i', (text, protocol, port) => {
    const { url } = ok(text)
    expect(url.protocol).toBe(protocol)
    expect(url.port).toBe(port)
    expect(url.host).toBe('h')
  })

  it('keeps an explicit port', () => {
    expect(ok('tcp://broker:1884').url.port).toBe(1884)
    expect(ok('wss://broker:8443/mqtt').url.port).toBe(8443)
  })

  it('keeps the WebSocket path (daprd drops it), default /', () => {
    expect(ok('ws://broker:9001/mqtt').url).toMatchObject({ path: '/mqtt', redacted: 'ws://broker:9001/mqtt' })
    expect(ok('wss://broker').url.path).toBe('/')
  })

  it('uses / as the path of a TCP url and warns that a path there is ignored', () => {
    const result = ok('mqtt://broker/some/path?x=1')
    expect(result.url.path).toBe('/')
    expect(result.warnings).toEqual([
      'a path is ignored with an MQTT over TCP scheme (only ws and wss use it)',
      'the query string is ignored with an MQTT over TCP scheme (only ws and wss send it)',
    ])
    expect('query' in result.url).toBe(false)
  })

  it('keeps a WebSocket query string as written (a presigned URL), never in the redacted form', () => {
    const { url, warnings } = ok('wss://a1b2-ats.iot.eu-west-1.amazonaws.com/mqtt?X-Amz-Signature=abc%2Fdef&x=1#frag')
    expect(url).toMatchObject({ path: '/mqtt', query: 'X-Amz-Signature=abc%2Fdef&x=1', redacted: 'wss://a1b2-ats.iot.eu-west-1.amazonaws.com:443/mqtt' })
    expect(warnings).toEqual(['the fragment is ignored'])
    expect('query' in ok('ws://broker/mqtt?').url).toBe(false)
  })

  it('splits off percent-decoded userinfo; password only when non-empty', () => {
    const full = ok('mqtt://us%40er:p%3Ass%20w@broker:1883').url
    expect(full).toMatchObject({ username: 'us@er', password: 'p:ss w' })
    expect(full.redacted).toBe('mqtt://broker:1883')
    const noPassword = ok('mqtt://user:@broker').url
    expect(noPassword.username).toBe('user')
    expect('password' in noPassword).toBe(false)
    const none = ok('mqtt://broker').url
    expect('username' in none).toBe(false)
  })

  it('handles IPv6 hosts', () => {
    const { url } = ok('mqtt://[::1]:1884')
    expect(url.host).toBe('::1')
    expect(url.redacted).toBe('mqtt://[::1]:1884')
  })

  it('rejects an unsupported scheme, naming it', () => {
    const result = parseBrokerUrl('http://user:hunter22@broker')
    expect(result).toEqual({ ok: false, problem: 'scheme "http" is not supported (use mqtt, tcp, mqtts, tcps, ssl, tls, ws, wss)' })
  })

  it.each(['broker:1883', 'user:pw@broker', '', 'mqtt://', 'mqtt://h:99999', 'mqtt://h:0', 'mqtt://u:%zz@h'])('rejects %j', (text) => {
    expect(parseBrokerUrl(text).ok).toBe(false)
  })
})

describe('broker url in a component', () => {
  it('reads the url into metadata.url', async () => {
    const pubsub = await loadPubsub([{ name: 'url', value: 'wss://u:pw@broker.example:8443/mqtt' }])
    expect(pubsub.metadata.url).toEqual({
      protocol: 'wss',
      host: 'broker.example',
      port: 8443,
      path: '/mqtt',
      username: 'u',
      password: 'pw',
      redacted: 'wss://broker.example:8443/mqtt',
    })
  })

  it('rejects http:// naming url and the scheme, never the url', async () => {
    const error = await loadError(pubsubYaml([{ name: 'url', value: 'http://admin:Sup3rSecret@broker:1883' }]))
    expect(error.message).toBe(
      'res/test.yaml: document 1 (Component/pubsub): spec.metadata.url: scheme "http" is not supported (use mqtt, tcp, mqtts, tcps, ssl, tls, ws, wss)',
    )
    expect(error.message).not.toContain('Sup3rSecret')
    expect(error.message).not.toContain('admin')
  })

  it('never echoes a malformed url', async () => {
    const error = await loadError(pubsubYaml([{ name: 'url', value: 'mqtt://admin:Sup3rSecret@broker:notaport' }]))
    expect(error.message).toContain('spec.metadata.url: not a valid URL')
    expect(error.message).not.toContain('Sup3rSecret')
  })

  it('warns when TLS settings come with a non-TLS scheme', async () => {
    const loaded = await loadText(
      pubsubYaml([
        { name: 'url', value: 'mqtt://broker' },
        { name: 'caCert', value: (await import('./builders.js')).makeCert().cert },
      ]),
    )
    expect(loaded.warnings.join('\n')).toContain('have no effect without a TLS scheme')
  })
})
