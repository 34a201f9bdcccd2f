import { CfnOutput, Duration } from 'aws-cdk-lib'
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources'
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs'
import { Construct } from 'constructs'
import { MqttFnFunction } from './mqtt-fn-function.js'
import type { FunctionBase } from './stack-types.js'

/** Function timeout of the relay. */
export const RELAY_TIMEOUT = Duration.seconds(30)
/** Receives before a message moves to the dead-letter queue. */
export const RELAY_MAX_RECEIVE_COUNT = 5
export const RELAY_BATCH_SIZE = 10

/**
 * SQS → MQTT: each message of the queue is published once (topic from the CloudEvent body, the
 * `topic` message attribute or MQTTFN_TOPIC). The function answers with `batchItemFailures`
 * (ReportBatchItemFailures), so only the records that failed return to the queue; a record that
 * failed RELAY_MAX_RECEIVE_COUNT times moves to the dead-letter queue.
 */
export class SqsRelay extends Construct {
  readonly handler: MqttFnFunction
  readonly queue: Queue
  readonly deadLetterQueue: Queue

  constructor(scope: Construct, id: string, props: FunctionBase) {
    super(scope, id)
    this.handler = new MqttFnFunction(this, 'Handler', {
      code: props.code,
      description: 'mqtt-fn SQS relay: queue messages onto MQTT',
      timeout: RELAY_TIMEOUT,
      environment: props.environment,
    })
    this.deadLetterQueue = new Queue(this, 'DeadLetters', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    })
    this.queue = new Queue(this, 'Queue', {
      // Lambda's rule: at least 6 times the function timeout, so that a batch still being
      // processed (or retried by Lambda's poller) is not handed out a second time.
      visibilityTimeout: Duration.seconds(RELAY_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: RELAY_MAX_RECEIVE_COUNT },
    })
    this.handler.function.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: RELAY_BATCH_SIZE,
        reportBatchItemFailures: true,
      }),
    )

    new CfnOutput(scope, 'QueueUrl', { value: this.queue.queueUrl, description: 'SQS relay: messages sent here are published to MQTT' })
    new CfnOutput(scope, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl, description: 'SQS relay: messages that failed 5 times' })
  }
}
