import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { appStatus, bulkOutcomes, singleOutcome } from '../../../src/forwarder/outcome.js'
import type { TargetReply } from '../../../src/forwarder/types.js'

const reply = (status: number, body = ''): TargetReply => ({ ok: true, status, body })
const kind = (r: TargetReply) => singleOutcome(r).kind

describe('singleOutcome (daprd postman/http Deliver)', () => {
  it.each([
    [200, '', 'success'],
    [204, '', 'success'],
    [200, 'OK', 'success'], // not JSON: status check skipped
    [200, '[1,2]', 'success'], // not an object
    [200, '"RETRY"', 'success'],
    [200, 'null', 'success'],
    [200, '{}', 'success'],
    [200, '{"status":""}', 'success'],
    [200, '{"status":null}', 'success'],
    [200, '{"status":"SUCCESS"}', 'success'],
    [200, '{"status":"RETRY"}', 'retry'],
    [200, '{"status":"DROP"}', 'drop'],
    [200, '{"status":"success"}', 'retry'], // case-sensitive value
    [200, '{"status":"drop"}', 'retry'],
    [200, '{"status":"MAYBE"}', 'retry'],
    [200, '{"Status":"DROP"}', 'drop'], // Go matches keys case-insensitively
    [200, '{"STATUS":"RETRY"}', 'retry'],
    [200, '{"status":"RETRY","Status":"SUCCESS"}', 'success'], // last key wins
    [200, '{"status":5}', 'success'], // type error: status check skipped
    [201, '{"status":"RETRY"}', 'retry'],
    [299, '{"status":"DROP"}', 'drop'],
    [404, '{"status":"SUCCESS"}', 'drop'],
    [400, '', 'retry'],
    [500, '{"status":"SUCCESS"}', 'retry'],
    [503, '', 'retry'],
    [302, '', 'retry'],
    [100, '', 'retry'],
  ] as const)('HTTP %i %s -> %s', (status, body, expected) => {
    expect(kind(reply(status, body))).toBe(expected)
  })

  it('a transport failure (timeout, refused, FunctionError) is a retry', () => {
    expect(singleOutcome({ ok: false, reason: 'ECONNREFUSED' })).toEqual({ kind: 'retry', reason: 'ECONNREFUSED' })
  })

  it('never throws and follows the status-code classes for any body', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.oneof(fc.string(), fc.json()), (status, body) => {
        const k = kind(reply(status, body))
        if (status === 404) expect(k).toBe('drop')
        else if (status < 200 || status > 299) expect(k).toBe('retry')
        else expect(['success', 'retry', 'drop']).toContain(k)
      }),
    )
  })

  it('a 2xx body that is not a JSON object is always a success', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(fc.jsonValue()).map((v) => JSON.stringify(v))), (body) => {
        fc.pre(appStatus(body) === undefined || !body.trim().startsWith('{'))
        expect(kind(reply(200, body))).toBe('success')
      }),
    )
  })
})

describe('bulkOutcomes (daprd postman/http DeliverBulk)', () => {
  const ids = ['a', 'b', 'c', 'd']
  const kinds = (r: TargetReply) => Object.fromEntries([...bulkOutcomes(r, ids)].map(([id, o]) => [id, o.kind]))

  it('reads each entry by its own status; empty or missing = RETRY', () => {
    const body = JSON.stringify({
      statuses: [
        { entryId: 'a', status: 'SUCCESS' },
        { entryId: 'b', status: 'DROP' },
        { entryId: 'c', status: '' },
        { entryId: 'zz', status: 'SUCCESS' }, // unknown id: ignored
      ],
    })
    expect(kinds(reply(200, body))).toEqual({ a: 'success', b: 'drop', c: 'retry', d: 'retry' })
  })

  it('takes the first status of an entry, keys case-insensitively, values case-sensitively', () => {
    const body = '{"Statuses":[{"EntryID":"a","STATUS":"SUCCESS"},{"entryId":"a","status":"DROP"},{"entryId":"b","status":"success"}]}'
    expect(kinds(reply(200, body))).toMatchObject({ a: 'success', b: 'retry' })
  })

  it('retries everything on a body that does not decode, drops everything on 404, retries on other codes', () => {
    for (const body of ['', 'OK', '[]', '{"statuses":{}}', '{"statuses":[{"entryId":1}]}', '{"statuses":[5]}']) {
      expect(Object.values(kinds(reply(200, body)))).toEqual(['retry', 'retry', 'retry', 'retry'])
    }
    expect(Object.values(kinds(reply(404)))).toEqual(['drop', 'drop', 'drop', 'drop'])
    expect(Object.values(kinds(reply(500, '{"statuses":[{"entryId":"a","status":"SUCCESS"}]}')))).toEqual(['retry', 'retry', 'retry', 'retry'])
    expect(Object.values(kinds({ ok: false, reason: 'timeout' }))).toEqual(['retry', 'retry', 'retry', 'retry'])
  })

  it('gives every entry exactly one outcome for any reply', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 100, max: 599 }),
        fc.oneof(fc.string(), fc.json(), fc.array(fc.record({ entryId: fc.string(), status: fc.constantFrom('SUCCESS', 'RETRY', 'DROP', '', 'x') })).map((s) => JSON.stringify({ statuses: s }))),
        (entryIds, status, body) => {
          const result = bulkOutcomes(reply(status, body), entryIds)
          expect([...result.keys()].sort()).toEqual([...entryIds].sort())
        },
      ),
    )
  })
})
