import { describe, expect, it } from 'vitest'
import { LogLimiter } from '../../../src/forwarder/log-limiter.js'

describe('LogLimiter', () => {
  it('one line per key and interval, then the count of what was left out', () => {
    const limiter = new LogLimiter(1000)
    expect(limiter.take('k', 0)).toBe(0)
    expect(limiter.take('k', 10)).toBeUndefined()
    expect(limiter.take('k', 999)).toBeUndefined()
    expect(limiter.take('other', 999)).toBe(0)
    expect(limiter.take('k', 1000)).toBe(2)
    expect(limiter.take('k', 2500)).toBe(0)
  })
})
