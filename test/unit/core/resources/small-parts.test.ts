import { describe, expect, it } from 'vitest'
import { generateConsumerId, inScope, isTruthy, parseScopes, parseTopicList } from '../../../../src/core/resources/index.js'
import { expandTemplate } from '../../../../src/core/resources/template.js'

describe('isTruthy (dapr/kit)', () => {
  it.each(['y', 'Y', 'yes', 'true', 'TRUE', 't', 'on', '1', ' true '])('%j is true', (v) => expect(isTruthy(v)).toBe(true))
  it.each(['', 'n', 'no', 'false', '0', 'off', '2', 'enabled', 'ture'])('%j is false', (v) => expect(isTruthy(v)).toBe(false))
})

describe('scopes (dapr/pkg/scopes)', () => {
  it('removes spaces and empty topics', () => {
    expect(parseTopicList(' a , b,,a ')).toEqual(['a', 'b'])
  })

  it('parses app1=t1,t2;app2=t3', () => {
    expect(parseScopes('app1=t1, t2 ; app2=t3;')).toEqual({ scopes: { app1: ['t1', 't2'], app2: ['t3'] }, skipped: 0 })
  })

  it('keeps a key named __proto__ as data', () => {
    const { scopes } = parseScopes('__proto__=t1')
    expect(Object.keys(scopes)).toEqual(['__proto__'])
    expect(Object.getPrototypeOf(scopes)).toBe(Object.prototype)
  })

  it('inScope: empty scopes mean every app', () => {
    expect(inScope([], 'a')).toBe(true)
    expect(inScope(['b'], 'a')).toBe(false)
    expect(inScope(['a', 'b'], 'a')).toBe(true)
  })
})

describe('templates', () => {
  const ctx = { appId: 'app1', podName: 'pod-1', namespace: 'ns' }
  it('leaves text without tags alone', () => {
    expect(expandTemplate('plain {notatag}', ctx)).toBe('plain {notatag}')
  })
  it('expands every occurrence', () => {
    expect(expandTemplate('{appID}-{appID}-{podName}', ctx)).toBe('app1-app1-pod-1')
  })
})

describe('generateConsumerId', () => {
  it('is unique, at most 23 characters, and keeps only safe characters of the app id', () => {
    const ids = new Set(Array.from({ length: 200 }, () => generateConsumerId('my app/ü')))
    expect(ids.size).toBe(200)
    for (const id of ids) {
      expect(id.length).toBeLessThanOrEqual(23)
      expect(id).toMatch(/^mqttfn-myapp-[0-9a-f]{8}$/)
    }
    expect(generateConsumerId('---')).toMatch(/^mqttfn-app-[0-9a-f]{8}$/)
  })
})
