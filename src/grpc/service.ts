/**
 * The grpc-js service definition of `dapr.proto.runtime.v1.Dapr`, built from the protobuf-es
 * descriptors in gen/: every method of the service, so that each one is answered (the served
 * ones with their messages, the rest UNIMPLEMENTED without decoding anything).
 */
import { fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf'
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2'
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js'
import { Dapr } from './gen/dapr_pb.js'

/** The methods mqtt-fn serves, as banners and messages name them; the others are answered UNIMPLEMENTED naming these. */
export const SERVED_METHODS = ['PublishEvent', 'BulkPublishEventAlpha1', 'GetMetadata'] as const

/** Newer names daprd serves for the same call: BulkPublishEvent is BulkPublishEventAlpha1's stable name. */
export const SERVED_ALIASES = { BulkPublishEvent: 'BulkPublishEventAlpha1' } as const

export type ServedMethod = (typeof SERVED_METHODS)[number] | keyof typeof SERVED_ALIASES

/** Every method with a handler: the served ones and their aliases. */
export const HANDLED_METHODS: readonly ServedMethod[] = [...SERVED_METHODS, ...(Object.keys(SERVED_ALIASES) as (keyof typeof SERVED_ALIASES)[])]

function codec<T extends DescMessage>(schema: T): { serialize: (m: MessageShape<T>) => Buffer; deserialize: (b: Buffer) => MessageShape<T> } {
  return {
    serialize: (message) => Buffer.from(toBinary(schema, message)),
    deserialize: (bytes) => fromBinary(schema, bytes),
  }
}

const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b }

/** The service, each served method with its codecs, every other one passing bytes it never reads. */
export function daprServiceDefinition(service: GenService<GenServiceMethods> = Dapr as unknown as GenService<GenServiceMethods>): ServiceDefinition {
  const served = new Set<string>(HANDLED_METHODS)
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {}
  for (const method of service.methods) {
    const isServed = served.has(method.name)
    const input = isServed ? codec(method.input) : raw
    const output = isServed ? codec(method.output) : raw
    definition[method.name] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
      responseStream: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
      requestSerialize: input.serialize as (m: unknown) => Buffer,
      requestDeserialize: input.deserialize,
      responseSerialize: output.serialize as (m: unknown) => Buffer,
      responseDeserialize: output.deserialize,
    }
  }
  return definition
}
