import type { ILayerVersion } from 'aws-cdk-lib/aws-lambda'

/** What every mqtt-fn function of the stack shares. */
export interface FunctionBase {
  /** Settings and secret references (see BrokerSecret.lambdaEnvironment). */
  environment: Record<string, string>
  /** The Dapr resources layer. */
  layers: ILayerVersion[]
}
