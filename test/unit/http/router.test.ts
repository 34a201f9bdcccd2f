import { describe, expect, it } from 'vitest'
import { goPathClean, isExcludedFromApiToken, matchRoute, pathUnescape, queryUnescape, UnescapeError } from '../../../src/http/router.js'

describe('goPathClean (Go path.Clean, cases from its documentation and tests)', () => {
  it.each([
    ['', '.'],
    ['/', '/'],
    ['a//c', 'a/c'],
    ['a/c/.', 'a/c'],
    ['a/c/b/..', 'a/c'],
    ['/../a/c', '/a/c'],
    ['/../a/b/../././/c', '/a/c'],
    ['abc/', 'abc'],
    ['../../abc', '../../abc'],
    ['/v1.0/publish/pubsub/orders/', '/v1.0/publish/pubsub/orders'],
    ['/v1.0/publish//pubsub//a', '/v1.0/publish/pubsub/a'],
    ['/v1.0/publish/pubsub/a%2F..%2Fb', '/v1.0/publish/pubsub/a%2F..%2Fb'],
  ])('%j -> %j', (input, output) => {
    expect(goPathClean(input)).toBe(output)
  })
})

describe('queryUnescape (Go url.QueryUnescape)', () => {
  it('decodes percent escapes, including an encoded slash', () => {
    expect(queryUnescape('orders%2Fnew')).toBe('orders/new')
    expect(queryUnescape('caf%C3%A9')).toBe('café')
  })
  it('turns + into a space, as Go does for route parameters', () => {
    expect(queryUnescape('a+b')).toBe('a b')
    expect(queryUnescape('a%2Bb')).toBe('a+b')
  })
  it('throws Go’s text for a bad escape', () => {
    expect(() => queryUnescape('a%zz')).toThrow(new UnescapeError('invalid URL escape "%zz"'))
    expect(() => queryUnescape('a%4')).toThrow('invalid URL escape "%4"')
    expect(() => queryUnescape('%')).toThrow('invalid URL escape "%"')
  })
  it('reports bytes that are not UTF-8 in strict mode', () => {
    expect(queryUnescape('%FF', true)).toBeNull()
    expect(queryUnescape('%FF')).toBe('\ufffd')
    expect(queryUnescape('ok', true)).toBe('ok')
  })
  it('encodes characters outside ASCII as UTF-8 before decoding', () => {
    expect(queryUnescape('é%20x')).toBe('é x')
  })
})

describe('pathUnescape (Go url.PathUnescape)', () => {
  it('decodes percent escapes only: + stays +', () => {
    expect(pathUnescape('a+b')).toBe('a+b')
    expect(pathUnescape('a%2Bb%20c%2F')).toBe('a+b c/')
    expect(pathUnescape('a%0Ab')).toBe('a\nb')
  })
  it('throws Go’s text for a bad escape; strict mode reports bytes that are not UTF-8', () => {
    expect(() => pathUnescape('a%zz')).toThrow(new UnescapeError('invalid URL escape "%zz"'))
    expect(pathUnescape('%FF', true)).toBeNull()
  })
})

describe('matchRoute', () => {
  const none = (): boolean => false
  it.each([
    ['/v1.0/publish/pubsub/orders', { name: 'publish', rawPubsub: 'pubsub', rawTopic: 'orders' }],
    ['/v1.0/publish/pubsub/orders/new/eu', { name: 'publish', rawPubsub: 'pubsub', rawTopic: 'orders/new/eu' }],
    ['/v1.0/publish/pubsub/orders%2Fnew', { name: 'publish', rawPubsub: 'pubsub', rawTopic: 'orders%2Fnew' }],
    ['/v1.0/publish/pubsub/orders/', { name: 'publish', rawPubsub: 'pubsub', rawTopic: 'orders/' }],
    ['/v1.0/publish/pubsub', { name: 'publish', rawPubsub: 'pubsub', rawTopic: '' }],
    ['/v1.0/publish', { name: 'publish', rawPubsub: '', rawTopic: '' }],
    ['/v1.0/publish/pubsub/a/../b', { name: 'publish', rawPubsub: 'pubsub', rawTopic: 'a/../b' }],
    ['/v1.0/publish/bulk/pubsub/orders', { name: 'bulkPublish', rawPubsub: 'pubsub', rawTopic: 'orders' }],
    ['/v1.0/publish/bulk/pubsub', { name: 'bulkPublish', rawPubsub: 'pubsub', rawTopic: '' }],
    ['/v1.0-alpha1/publish/bulk/pubsub/a/b', { name: 'bulkPublish', rawPubsub: 'pubsub', rawTopic: 'a/b' }],
    ['/v1.0-alpha1/publish/bulk', { name: 'bulkPublish', rawPubsub: '', rawTopic: '' }],
    ['/v1.0/healthz', { name: 'healthz' }],
    ['/v1.0/healthz/', { name: 'healthz' }],
    ['/v1.0/healthz/outbound', { name: 'healthzOutbound' }],
    ['/v1.0/metadata', { name: 'metadata' }],
  ])('%s', (path, expected) => {
    expect(matchRoute(path, none)).toMatchObject(expected)
  })

  it.each(['/', '/v1.0', '/v1.0/healthz/x', '/v1.0/metadata/key', '/V1.0/healthz', '/v1.0-alpha1/publish/pubsub/t', '/v2/publish/p/t', 'x'])(
    '%s has no route',
    (path) => {
      expect(matchRoute(path, none)).toBeUndefined()
    },
  )

  it('keeps the topic part exactly: empty levels, leading and trailing /, dot levels (issue 17)', () => {
    const cases: Array<[string, string, string]> = [
      ['/v1.0/publish/pubsub/a//b', 'publish', 'a//b'],
      ['/v1.0/publish/pubsub//lead', 'publish', '/lead'],
      ['/v1.0/publish/pubsub/trail/', 'publish', 'trail/'],
      ['/v1.0/publish/pubsub///', 'publish', '//'],
      ['/v1.0/publish/pubsub/a/./b/..', 'publish', 'a/./b/..'],
      ['/v1.0/publish/pubsub/a+b', 'publish', 'a+b'],
      ['/v1.0-alpha1/publish/bulk/pubsub//a//', 'bulkPublish', '/a//'],
      ['/v1.0/publish/bulk/pubsub/a//b/', 'bulkPublish', 'a//b/'],
    ]
    for (const [path, name, rawTopic] of cases) {
      expect(matchRoute(path, none), path).toMatchObject({ name, rawPubsub: 'pubsub', rawTopic })
    }
  })

  it('cleans the route part before the topic as daprd does', () => {
    expect(matchRoute('//v1.0//publish/./pubsub/a//b', none)).toMatchObject({ name: 'publish', rawPubsub: 'pubsub', rawTopic: 'a//b' })
    expect(matchRoute('/v1.0/publish//pubsub', none)).toMatchObject({ name: 'publish', rawPubsub: 'pubsub', rawTopic: '' })
    // A `..` before the pubsub name: the whole path is cleaned (daprd's routing).
    expect(matchRoute('/v1.0/x/../publish/pubsub/a//b', none)).toMatchObject({ name: 'publish', rawPubsub: 'pubsub', rawTopic: 'a/b' })
    // After it, `..` is a topic level like any other.
    expect(matchRoute('/v1.0/publish/x/../pubsub/a', none)).toMatchObject({ name: 'publish', rawPubsub: 'x', rawTopic: '../pubsub/a' })
    expect(matchRoute('/v1.0/healthz/../publish/pubsub/t', none)).toMatchObject({ name: 'publish', rawPubsub: 'pubsub', rawTopic: 't' })
  })

  it('publish/bulk/{x} is a publish to a pubsub named bulk only when one exists (chi backtracking)', () => {
    expect(matchRoute('/v1.0/publish/bulk/orders', (n) => n === 'bulk')).toMatchObject({ name: 'publish', rawPubsub: 'bulk', rawTopic: 'orders' })
    expect(matchRoute('/v1.0/publish/bulk/orders', none)).toMatchObject({ name: 'bulkPublish', rawPubsub: 'orders', rawTopic: '' })
    expect(matchRoute('/v1.0/publish/bulk/p/orders', (n) => n === 'bulk')).toMatchObject({ name: 'bulkPublish', rawPubsub: 'p', rawTopic: 'orders' })
  })

  it('publish routes take POST and PUT, the others GET', () => {
    expect(matchRoute('/v1.0/publish/p/t', none)?.methods).toEqual(['POST', 'PUT'])
    expect(matchRoute('/v1.0/metadata', none)?.methods).toEqual(['GET'])
  })
})

describe('isExcludedFromApiToken (daprd isRouteExcludedFromAPITokenAuth)', () => {
  it.each([
    ['GET', '/v1.0/healthz', true],
    ['GET', '/v1.0/healthz/outbound', true],
    ['GET', '/v1.0/healthz/', true],
    ['GET', '//v1.0/healthz', true],
    ['GET', '/v1.0//healthz', false],
    ['POST', '/v1.0/healthz', false],
    ['GET', '/v1.0/metadata', false],
    ['GET', '/v1.0/publish/p/t', false],
    ['GET', '/v1.0/healthz%', false],
  ])('%s %s -> %s', (method, path, excluded) => {
    expect(isExcludedFromApiToken(method, path)).toBe(excluded)
  })
})
