import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib'
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2'
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations'
import { FunctionUrlAuthType, type FunctionUrl } from 'aws-cdk-lib/aws-lambda'
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs'
import { Construct } from 'constructs'
import { acknowledge } from './nag.js'
import { MqttFnFunction } from './mqtt-fn-function.js'
import type { FunctionBase } from './stack-types.js'

/**
 * Dapr's publish API (`POST /v1.0/publish/{pubsub}/{topic}`, bulk, healthz, metadata) as a
 * Lambda function, reachable two ways with the same event format (payload 2.0):
 * - a Function URL, the cheapest and simplest;
 * - an HTTP API (`ANY /{proxy+}`), for a custom domain, throttling or access logs.
 * Both are public (no IAM auth): a Dapr SDK cannot sign requests with SigV4, and the function
 * itself refuses any request without the right `dapr-api-token` header (APP_API_TOKEN), as
 * daprd does with its API token.
 */
export class HttpPublish extends Construct {
  readonly handler: MqttFnFunction
  readonly functionUrl: FunctionUrl
  readonly httpApi: HttpApi
  readonly stage: HttpStage

  constructor(scope: Construct, id: string, props: FunctionBase) {
    super(scope, id)
    this.handler = new MqttFnFunction(this, 'Handler', {
      code: props.code,
      description: 'mqtt-fn HTTP publish: the Dapr publish API onto MQTT',
      // connectTimeout (5 s) + publishTimeout (5 s) with room to spare; the HTTP API gives up at 30 s.
      timeout: Duration.seconds(15),
      environment: props.environment,
    })

    this.functionUrl = this.handler.function.addFunctionUrl({ authType: FunctionUrlAuthType.NONE })

    this.httpApi = new HttpApi(this, 'Api', {
      description: 'mqtt-fn: the Dapr publish API',
      createDefaultStage: false,
    })
    const routes = this.httpApi.addRoutes({
      path: '/{proxy+}',
      methods: [HttpMethod.ANY],
      integration: new HttpLambdaIntegration('Publish', this.handler.function),
    })
    for (const route of routes) {
      acknowledge(
        route,
        'AwsSolutions-APIG4',
        'Dapr clients authenticate with the dapr-api-token header, which the function checks against APP_API_TOKEN as daprd does; an API Gateway authorizer would need a credential Dapr SDKs cannot send.',
      )
    }
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY })
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
      throttle: { rateLimit: 1000, burstLimit: 500 },
    })
    new CfnOutput(scope, 'FunctionUrl', { value: this.functionUrl.url, description: 'Dapr publish API (Lambda Function URL): POST {url}v1.0/publish/{pubsub}/{topic}' })
    new CfnOutput(scope, 'HttpApiUrl', { value: this.stage.url, description: 'Dapr publish API (API Gateway HTTP API)' })
  }
}
