import { SecretValue } from 'aws-cdk-lib'
import { Secret as EcsSecret } from 'aws-cdk-lib/aws-ecs'
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager'
import { Construct } from 'constructs'
import { brokerFields, type BrokerTls } from './config.js'

export interface BrokerSecretProps {
  /** ARN of a Secrets Manager secret holding JSON `{"url", "caCert"?, "clientCert"?, "clientKey"?}` (a parameter's value). */
  secretArn: string
  tls: BrokerTls
}

/**
 * The broker's address, credentials and TLS material: one existing Secrets Manager secret,
 * JSON, one field per value. The code reads them as environment variables (MQTT_URL,
 * MQTT_CA_CERT, MQTT_CLIENT_CERT, MQTT_CLIENT_KEY) through the resources'
 * `secretstores.local.env` store and `secretKeyRef`; how each platform fills those variables
 * is below. The template holds references only, never a value.
 */
export class BrokerSecret extends Construct {
  readonly secret: ISecret
  readonly fields: { field: string; env: string }[]

  constructor(scope: Construct, id: string, props: BrokerSecretProps) {
    super(scope, id)
    this.secret = Secret.fromSecretCompleteArn(this, 'Imported', props.secretArn)
    this.fields = brokerFields(props.tls)
  }

  /**
   * For Lambda: each variable is a CloudFormation dynamic reference,
   * `{{resolve:secretsmanager:ARN:SecretString:FIELD::}}`. CloudFormation resolves it while it
   * deploys, so the template (and cdk.out) holds only the reference and the function needs no
   * Secrets Manager permission or call at cold start. The trade-off: the resolved values are
   * stored in the function's configuration (encrypted at rest with Lambda's KMS key, readable by
   * whoever may call lambda:GetFunctionConfiguration), a rotated secret reaches the function only
   * with the next deployment, and all variables together must fit Lambda's 4 KB limit: with
   * mutual TLS use EC keys (a P-256 certificate and key take under 1 KB each; RSA-2048 ones do
   * not fit beside a CA certificate). Reading the secret at run time (the Parameters and Secrets
   * extension or the SDK) avoids all three, at the cost of a call per cold start and a secret
   * store type mqtt-fn does not have yet.
   */
  lambdaEnvironment(): Record<string, string> {
    return Object.fromEntries(
      // unsafeUnwrap() turns the SecretValue into the dynamic-reference string; it does not
      // read the secret (the value exists only inside CloudFormation at deploy time).
      this.fields.map(({ field, env }) => [env, SecretValue.secretsManager(this.secret.secretArn, { jsonField: field }).unsafeUnwrap()]),
    )
  }

  /**
   * For ECS: `secrets` of the container definition. The ECS agent reads the fields with the
   * task execution role when a task starts (the role gets secretsmanager:GetSecretValue on
   * this secret only) and sets them as environment variables; a restarted task sees a rotated
   * value.
   */
  ecsSecrets(): Record<string, EcsSecret> {
    return Object.fromEntries(this.fields.map(({ field, env }) => [env, EcsSecret.fromSecretsManager(this.secret, field)]))
  }
}
