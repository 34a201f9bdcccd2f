import { Duration, RemovalPolicy } from 'aws-cdk-lib'
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam'
import { Architecture, Function, LoggingFormat, Runtime, type Code } from 'aws-cdk-lib/aws-lambda'
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs'
import { Construct } from 'constructs'
import { acknowledge } from './nag.js'

/** Node.js 22 on Graviton: the bundles target Node 20 syntax, so any newer runtime runs them. */
export const FUNCTION_RUNTIME = Runtime.NODEJS_22_X
export const FUNCTION_ARCHITECTURE = Architecture.ARM_64

export interface MqttFnFunctionProps {
  /** The built function (function-code.ts): index.mjs (handler `index.handler`) with its resources compiled in. */
  code: Code
  description: string
  timeout: Duration
  memorySize?: number
  environment: Record<string, string>
}

/**
 * One of the function bundles, built at synth with the stack's resources compiled in
 * (function-code.ts: scripts/build.mjs run locally, no Docker), with its own log group and a
 * role that may write to that log group and nothing else (instead of the AWS managed
 * AWSLambdaBasicExecutionRole, which allows every log group of the account).
 */
export class MqttFnFunction extends Construct {
  readonly function: Function
  readonly logGroup: LogGroup
  /** The function's role (with broker iot-core, the stack adds its iot: permissions). */
  readonly role: Role

  constructor(scope: Construct, id: string, props: MqttFnFunctionProps) {
    super(scope, id)
    this.logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY })
    const role = (this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description}: writes its own log group only`,
    }))
    this.logGroup.grantWrite(role)
    this.function = new Function(this, 'Function', {
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: FUNCTION_ARCHITECTURE,
      code: props.code,
      handler: 'index.handler',
      timeout: props.timeout,
      memorySize: props.memorySize ?? 256,
      role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
    })
    acknowledge(
      this.function,
      'AwsSolutions-L1',
      'Node.js 22 is the runtime mqtt-fn is built for and tested on (the bundles target Node 20); Node.js 24 changes the handler contract (no callbacks) and is adopted when the project moves.',
    )
  }
}
