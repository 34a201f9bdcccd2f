// src/grpc/proto/dapr.proto is a subset of Dapr's runtime API: its wire must be Dapr's. Checked
// against the descriptors the @dapr/dapr SDK ships: the same methods of the Dapr service with
// the same streaming kinds, and every field of the served messages with Dapr's number and type.
import { createRequire } from 'node:module'
import type { DescMessage, DescService } from '@bufbuild/protobuf'
import { describe, expect, it } from 'vitest'
import * as ours from '../../../src/grpc/gen/dapr_pb.js'
import * as oursCallback from '../../../src/grpc/gen/appcallback_pb.js'
import { daprServiceDefinition, SERVED_METHODS } from '../../../src/grpc/service.js'

const require = createRequire(import.meta.url)
const sdk = require('@dapr/dapr/proto/dapr/proto/runtime/v1/dapr_pb.js') as { Dapr: DescService }
const sdkCallback = require('@dapr/dapr/proto/dapr/proto/runtime/v1/appcallback_pb.js') as { AppCallback: DescService; AppCallbackAlpha: DescService }

/** The methods of daprd's Dapr service (dapr/dapr d8450742ce, dapr/proto/runtime/v1/dapr.proto). */
const DAPRD_METHODS = [
  'BulkPublishEvent', 'BulkPublishEventAlpha1', 'ConverseAlpha1', 'ConverseAlpha2', 'DecryptAlpha1',
  'DeleteBulkState', 'DeleteJob', 'DeleteJobAlpha1', 'DeleteJobsByPrefix', 'DeleteJobsByPrefixAlpha1',
  'DeleteState', 'EncryptAlpha1', 'ExecuteActorStateTransaction', 'ExecuteStateTransaction',
  'GetActorReminder', 'GetActorState', 'GetBulkSecret', 'GetBulkState', 'GetConfiguration',
  'GetConfigurationAlpha1', 'GetJob', 'GetJobAlpha1', 'GetMetadata', 'GetSecret', 'GetState',
  'GetWorkflowAlpha1', 'GetWorkflowBeta1', 'InvokeActor', 'InvokeBinding', 'InvokeService',
  'ListActorReminders', 'ListJobs', 'ListJobsAlpha1', 'PauseWorkflowAlpha1', 'PauseWorkflowBeta1',
  'PublishEvent', 'PurgeWorkflowAlpha1', 'PurgeWorkflowBeta1', 'QueryStateAlpha1',
  'RaiseEventWorkflowAlpha1', 'RaiseEventWorkflowBeta1', 'RegisterActorReminder', 'RegisterActorTimer',
  'ResumeWorkflowAlpha1', 'ResumeWorkflowBeta1', 'SaveState', 'ScheduleJob', 'ScheduleJobAlpha1',
  'SetMetadata', 'Shutdown', 'StartWorkflowAlpha1', 'StartWorkflowBeta1', 'SubscribeActorEventsAlpha1',
  'SubscribeConfiguration', 'SubscribeConfigurationAlpha1', 'SubscribeTopicEventsAlpha1',
  'SubtleDecryptAlpha1', 'SubtleEncryptAlpha1', 'SubtleGetKeyAlpha1', 'SubtleSignAlpha1',
  'SubtleUnwrapKeyAlpha1', 'SubtleVerifyAlpha1', 'SubtleWrapKeyAlpha1', 'TerminateWorkflowAlpha1',
  'TerminateWorkflowBeta1', 'TryLockAlpha1', 'UnlockAlpha1', 'UnregisterActorReminder',
  'UnregisterActorRemindersByType', 'UnregisterActorTimer', 'UnsubscribeConfiguration',
  'UnsubscribeConfigurationAlpha1',
] as const

const DAPRD_STREAMING: Record<string, string> = {
  SubscribeTopicEventsAlpha1: 'bidi_streaming',
  SubscribeActorEventsAlpha1: 'bidi_streaming',
  SubscribeConfigurationAlpha1: 'server_streaming',
  SubscribeConfiguration: 'server_streaming',
  EncryptAlpha1: 'bidi_streaming',
  DecryptAlpha1: 'bidi_streaming',
}

describe('the gRPC subset of the Dapr API', () => {
  it('declares every method of dapr.proto.runtime.v1.Dapr with its streaming kind: the SDK\'s and daprd\'s', () => {
    const kinds = (s: DescService) => Object.fromEntries(s.methods.map((m) => [m.name, m.methodKind]))
    const mine = kinds(ours.Dapr as unknown as DescService)
    expect(mine).toMatchObject(kinds(sdk.Dapr))
    expect(ours.Dapr.typeName).toBe(sdk.Dapr.typeName)
    expect(Object.keys(mine).sort()).toEqual([...DAPRD_METHODS].sort())
    for (const [name, kind] of Object.entries(mine)) expect(kind, name).toBe(DAPRD_STREAMING[name] ?? 'unary')
    expect(Object.keys(daprServiceDefinition())).toHaveLength(DAPRD_METHODS.length)
  })

  it('declares BulkPublishEvent, the stable name, with BulkPublishEventAlpha1\'s messages', () => {
    const byName = new Map((ours.Dapr as unknown as DescService).methods.map((m) => [m.name, m]))
    expect(byName.get('BulkPublishEvent')!.input).toBe(byName.get('BulkPublishEventAlpha1')!.input)
    expect(byName.get('BulkPublishEvent')!.output).toBe(byName.get('BulkPublishEventAlpha1')!.output)
    expect(daprServiceDefinition().BulkPublishEvent!.path).toBe('/dapr.proto.runtime.v1.Dapr/BulkPublishEvent')
  })

  it('gives the served methods Dapr\'s messages: each field with Dapr\'s number, name and type', () => {
    const fields = (m: DescMessage): Record<string, string> =>
      Object.fromEntries(m.fields.map((f) => [f.number, `${f.name}:${f.fieldKind}:${f.fieldKind === 'scalar' ? f.scalar : f.fieldKind === 'message' ? f.message.typeName : f.fieldKind === 'map' ? `map<${f.mapKey},${f.mapKind}>` : f.fieldKind}`]))
    const oursByName = new Map((ours.Dapr as unknown as DescService).methods.map((m) => [m.name, m]))
    for (const method of sdk.Dapr.methods.filter((m) => (SERVED_METHODS as readonly string[]).includes(m.name))) {
      const mine = oursByName.get(method.name)!
      const pairs: [DescMessage, DescMessage][] = [[mine.input, method.input], [mine.output, method.output]]
      for (let pair = pairs.pop(); pair; pair = pairs.pop()) {
        const [our, theirs] = pair
        expect(our.typeName).toBe(theirs.typeName)
        const theirFields = fields(theirs)
        // Ours may leave fields out (never sent or read); those it has must be Dapr's, nested messages too.
        for (const [number, spec] of Object.entries(fields(our))) expect(theirFields[number], `${our.typeName} field ${number}`).toBe(spec)
        for (const f of our.fields) {
          const t = theirs.fields.find((x) => x.number === f.number)
          if (f.fieldKind === 'message' && t?.fieldKind === 'message' && f.message.typeName.startsWith('dapr.')) pairs.push([f.message, t.message])
          if (f.fieldKind === 'list' && f.listKind === 'message' && t?.fieldKind === 'list' && t.listKind === 'message') pairs.push([f.message, t.message])
        }
      }
    }
  })

  it('calls the app\'s AppCallback methods by Dapr\'s names, with Dapr\'s messages', () => {
    const fields = (m: DescMessage) => Object.fromEntries(m.fields.map((f) => [f.number, `${f.name}:${f.fieldKind}`]))
    for (const [mine, theirs] of [
      [oursCallback.AppCallback, sdkCallback.AppCallback],
      [oursCallback.AppCallbackAlpha, sdkCallback.AppCallbackAlpha],
    ] as unknown as [DescService, DescService][]) {
      expect(mine.typeName).toBe(theirs.typeName)
      for (const method of mine.methods) {
        // In Dapr 1.16's appcallback.proto (the SDK ships that file) but not yet in the SDK's generated code.
        if (method.name === 'OnBulkTopicEvent') continue
        const their = theirs.methods.find((m) => m.name === method.name)
        expect(their, `${theirs.typeName}/${method.name}`).toBeDefined()
        expect(method.methodKind).toBe(their!.methodKind)
        const pairs: [DescMessage, DescMessage][] = [[method.input, their!.input], [method.output, their!.output]]
        for (let pair = pairs.pop(); pair; pair = pairs.pop()) {
          const [o, t] = pair
          expect(o.typeName).toBe(t.typeName)
          const tf = fields(t)
          for (const [n, spec] of Object.entries(fields(o))) expect(tf[n], `${o.typeName} field ${n}`).toBe(spec)
          for (const f of o.fields) {
            const tField = t.fields.find((x) => x.number === f.number)
            if ((f.fieldKind === 'message' || (f.fieldKind === 'list' && f.listKind === 'message')) && f.message.typeName.startsWith('dapr.') && tField && (tField.fieldKind === 'message' || tField.fieldKind === 'list') && tField.message) pairs.push([f.message, tField.message])
          }
        }
      }
    }
  })
})
