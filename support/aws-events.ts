// Lambda events as AWS delivers them (shapes from the AWS docs / @types/aws-lambda), for tests.
import { randomUUID } from 'node:crypto'
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2, Context, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda'

export interface HttpInit {
  method?: string
  /** Path with an optional `?query`, as the client sent it (percent-encoded). */
  url: string
  headers?: Record<string, string>
  body?: string | Buffer
  /** Send the body base64-encoded, as Function URLs do for binary content types. */
  base64?: boolean
  cookies?: string[]
  stage?: string
}

/** Payload format 2.0: Lambda Function URL / API Gateway HTTP API. */
export function httpEventV2(init: HttpInit): APIGatewayProxyEventV2 {
  const q = init.url.indexOf('?')
  const rawPath = q < 0 ? init.url : init.url.slice(0, q)
  const rawQueryString = q < 0 ? '' : init.url.slice(q + 1)
  const method = init.method ?? 'POST'
  const headers: Record<string, string> = { host: 'abc123.lambda-url.eu-west-1.on.aws', 'user-agent': 'vitest' }
  for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v
  const body = init.body === undefined ? undefined : init.base64 ? Buffer.from(init.body).toString('base64') : init.body.toString()
  const queryStringParameters: Record<string, string> = {}
  for (const [k, v] of new URLSearchParams(rawQueryString)) queryStringParameters[k] = queryStringParameters[k] ? `${queryStringParameters[k]},${v}` : v
  const stage = init.stage ?? '$default'
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath: stage === '$default' ? rawPath : `/${stage}${rawPath}`,
    rawQueryString,
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.lambda-url.eu-west-1.on.aws',
      domainPrefix: 'abc123',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: randomUUID(),
      routeKey: '$default',
      stage,
      time: '26/Nov/2025:07:00:00 +0000',
      timeEpoch: Date.now(),
    },
    isBase64Encoded: init.base64 === true,
  }
  if (Object.keys(queryStringParameters).length > 0) event.queryStringParameters = queryStringParameters
  if (body !== undefined) event.body = body
  if (init.cookies) event.cookies = init.cookies
  return event
}

/** Payload format 1.0: API Gateway REST API (proxy integration). */
export function httpEventV1(init: HttpInit): APIGatewayProxyEvent {
  const q = init.url.indexOf('?')
  const path = q < 0 ? init.url : init.url.slice(0, q)
  const query = new URLSearchParams(q < 0 ? '' : init.url.slice(q + 1))
  const headers: Record<string, string> = { Host: 'abc123.execute-api.eu-west-1.amazonaws.com' }
  const multiValueHeaders: Record<string, string[]> = { Host: ['abc123.execute-api.eu-west-1.amazonaws.com'] }
  for (const [k, v] of Object.entries(init.headers ?? {})) {
    headers[k] = v
    multiValueHeaders[k] = [v]
  }
  const single: Record<string, string> = {}
  const multi: Record<string, string[]> = {}
  for (const [k, v] of query) {
    single[k] = v
    ;(multi[k] ??= []).push(v)
  }
  const stage = init.stage ?? 'prod'
  return {
    resource: '/{proxy+}',
    path,
    httpMethod: init.method ?? 'POST',
    headers,
    multiValueHeaders,
    queryStringParameters: q < 0 ? null : single,
    multiValueQueryStringParameters: q < 0 ? null : multi,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      authorizer: {},
      httpMethod: init.method ?? 'POST',
      identity: {} as APIGatewayProxyEvent['requestContext']['identity'],
      path: `/${stage}${path}`,
      protocol: 'HTTP/1.1',
      requestId: randomUUID(),
      requestTimeEpoch: Date.now(),
      resourceId: 'abc',
      resourcePath: '/{proxy+}',
      stage,
    },
    body: init.body === undefined ? null : init.base64 ? Buffer.from(init.body).toString('base64') : init.body.toString(),
    isBase64Encoded: init.base64 === true,
  }
}

export interface RecordInit {
  body: string
  attributes?: Record<string, string>
  messageId?: string
  groupId?: string
}

export const STANDARD_QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:mqtt-fn-relay'
export const FIFO_QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:mqtt-fn-relay.fifo'

export function sqsRecord(init: RecordInit, queueArn = STANDARD_QUEUE_ARN): SQSRecord {
  const messageAttributes: SQSMessageAttributes = {}
  for (const [name, value] of Object.entries(init.attributes ?? {})) {
    messageAttributes[name] = { stringValue: value, stringListValues: [], binaryListValues: [], dataType: 'String' }
  }
  const record: SQSRecord = {
    messageId: init.messageId ?? randomUUID(),
    receiptHandle: `AQEB${randomUUID()}`,
    body: init.body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes,
    md5OfBody: '0',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'eu-west-1',
  }
  if (queueArn.endsWith('.fifo')) {
    record.attributes.MessageGroupId = init.groupId ?? 'g1'
    record.attributes.SequenceNumber = String(Date.now())
  }
  return record
}

export function sqsEvent(records: RecordInit[], queueArn = STANDARD_QUEUE_ARN): SQSEvent {
  return { Records: records.map((r) => sqsRecord(r, queueArn)) }
}

/** A Lambda context with a real clock behind getRemainingTimeInMillis. */
export function lambdaContext(timeoutMs = 30_000): Context {
  const deadline = Date.now() + timeoutMs
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'mqtt-fn-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:mqtt-fn-test',
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/mqtt-fn-test',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  }
}
