import { ArnFormat, CfnOutput, CfnParameter, Stack, type StackProps } from 'aws-cdk-lib'
import { Vpc, type IVpc } from 'aws-cdk-lib/aws-ec2'
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager'
import type { Construct } from 'constructs'
import { BrokerSecret } from './broker-secret.js'
import { ConfigError, type MqttFnConfig } from './config.js'
import { ForwarderService } from './forwarder-service.js'
import { functionCode } from './function-code.js'
import { HttpPublish } from './http-publish.js'
import { grantIot, IotCoreEndpoint } from './iot-core.js'
import type { IotPermissions } from './iot-permissions.js'
import { acknowledge } from './nag.js'
import { SqsRelay } from './sqs-relay.js'

export interface MqttFnStackProps extends StackProps {
  config: MqttFnConfig
  /** With broker iot-core: each role's IoT Core permissions, from loadIotPermissions(config) (async, so read before the stack is made). */
  iot?: IotPermissions
}

/**
 * mqtt-fn on AWS: the HTTP publish function (Function URL + HTTP API), the SQS relay (queue,
 * dead-letter queue, partial batch responses) and the forwarder (ECS Fargate), all reading the
 * broker's address and TLS material from one Secrets Manager secret (parameter BrokerSecretArn),
 * or, with context broker=iot-core, connecting to the account's AWS IoT Core (endpoint looked up at
 * deploy time, each role signing its connection and allowed exactly the iot: actions the resources need).
 */
export class MqttFnStack extends Stack {
  readonly httpPublish: HttpPublish
  readonly sqsRelay: SqsRelay
  readonly forwarder: ForwarderService
  readonly apiToken: ISecret
  /** With broker iot-core: the endpoint lookup. */
  readonly iotEndpoint?: IotCoreEndpoint

  constructor(scope: Construct, id: string, props: MqttFnStackProps) {
    super(scope, id, props)
    const { config } = props
    this.templateOptions.description = 'mqtt-fn: Dapr MQTT pub/sub for Lambda (HTTP publish, SQS relay) and an MQTT forwarder on ECS Fargate'

    if (config.broker === 'iot-core' && props.iot === undefined) {
      throw new ConfigError('context broker: iot-core needs the IoT permissions of the resources; build the app with createApp() (it awaits loadIotPermissions) or pass `iot`')
    }
    // Broker secret mode: MQTT_* from the secret (dynamic references / ECS secrets). IoT Core:
    // MQTT_URL only, a plain variable built from the endpoint looked up at deploy time.
    let brokerEnvironment: Record<string, string>
    let brokerSecrets: ReturnType<BrokerSecret['ecsSecrets']>
    if (config.broker === 'iot-core') {
      this.iotEndpoint = new IotCoreEndpoint(this, 'IotEndpoint')
      brokerEnvironment = { MQTT_URL: this.iotEndpoint.url }
      brokerSecrets = {}
    } else {
      const brokerSecretArn = new CfnParameter(this, 'BrokerSecretArn', {
        type: 'String',
        description:
          'Full ARN of a Secrets Manager secret holding JSON {"url": "mqtts://user:password@host:8883"' +
          (config.brokerTls === 'none' ? '' : config.brokerTls === 'ca' ? ', "caCert": PEM' : ', "caCert": PEM, "clientCert": PEM, "clientKey": PEM') +
          '} (context brokerTls decides which fields).',
        allowedPattern: '^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$',
        constraintDescription: 'the full ARN of a Secrets Manager secret (with its 6-character suffix)',
      })
      acknowledge(this, 'W2509', 'BrokerSecretArn is the ARN of the secret, not a secret value: hiding it (NoEcho) would only hide which secret is used.')
      const broker = new BrokerSecret(this, 'Broker', { secretArn: brokerSecretArn.valueAsString, tls: config.brokerTls })
      brokerEnvironment = broker.lambdaEnvironment()
      brokerSecrets = broker.ecsSecrets()
    }

    // The dapr-api-token the publish API requires. Generated here unless an existing secret is
    // named; the function gets it as a dynamic reference (see BrokerSecret.lambdaEnvironment).
    this.apiToken = config.apiTokenSecretArn
      ? Secret.fromSecretCompleteArn(this, 'ApiToken', config.apiTokenSecretArn)
      : new Secret(this, 'ApiToken', {
          description: 'mqtt-fn: dapr-api-token of the HTTP publish API (APP_API_TOKEN)',
          generateSecretString: { passwordLength: 48, excludePunctuation: true },
        })
    acknowledge(
      this.apiToken,
      'AwsSolutions-SMG4',
      'The token reaches the function as a dynamic reference resolved at deployment, so a rotation would take effect only with the next deployment; rotate it by updating the secret and redeploying (see the README (Deploy)).',
    )

    // The functions' code is built here with the resources of functionResourcesPath compiled in
    // (function-code.ts): no layer, no MQTTFN_RESOURCES_PATH (which would make a cold start read
    // and parse YAML). Their secrets and template tags still resolve at cold start from this
    // environment.
    const settings: Record<string, string> = {
      APP_ID: config.appId,
      ...brokerEnvironment,
    }

    this.httpPublish = new HttpPublish(this, 'HttpPublish', {
      code: functionCode(config.functionResourcesPath, 'http-publish'),
      environment: {
        ...settings,
        // unsafeUnwrap() gives the `{{resolve:secretsmanager:...}}` reference, not the value.
        APP_API_TOKEN: this.apiToken.secretValue.unsafeUnwrap(),
      },
    })

    this.sqsRelay = new SqsRelay(this, 'SqsRelay', {
      code: functionCode(config.functionResourcesPath, 'sqs-relay'),
      environment: { ...settings, ...(config.relayTopic !== undefined ? { MQTTFN_TOPIC: config.relayTopic } : {}) },
    })

    this.forwarder = new ForwarderService(this, 'Forwarder', {
      root: config.root,
      resourcesPath: config.forwarderResourcesPath,
      replicas: config.forwarderReplicas,
      architecture: config.forwarderArchitecture,
      targetFunctionArns: config.forwarderTargetFunctions.map((target) => this.functionArn(target)),
      environment: {
        APP_ID: config.appId,
        ...(config.broker === 'iot-core' ? brokerEnvironment : {}),
        ...(config.forwarderAppUrl !== undefined ? { APP_URL: config.forwarderAppUrl } : {}),
      },
      secrets: brokerSecrets,
      ...(config.vpcId !== undefined ? { vpc: this.lookupVpc(config.vpcId) } : {}),
    })

    new CfnOutput(this, 'ApiTokenSecretArn', {
      value: this.apiToken.secretArn,
      description: 'Secret holding the dapr-api-token (aws secretsmanager get-secret-value --secret-id ...)',
    })

    if (props.iot !== undefined && config.broker === 'iot-core') {
      grantIot(this, this.httpPublish.handler.role, props.iot.httpPublish, 'HTTP publish function')
      grantIot(this, this.sqsRelay.handler.role, props.iot.sqsRelay, 'SQS relay function')
      grantIot(this, this.forwarder.taskDefinition.taskRole, props.iot.forwarder, 'forwarder task')
    }

  }

  /** A function name becomes its ARN in this stack's account and region; an ARN stays. */
  private functionArn(target: string): string {
    if (target.startsWith('arn:')) return target
    return this.formatArn({ service: 'lambda', resource: 'function', resourceName: target, arnFormat: ArnFormat.COLON_RESOURCE_NAME })
  }

  private lookupVpc(vpcId: string): IVpc {
    return Vpc.fromLookup(this, 'Vpc', { vpcId })
  }
}
