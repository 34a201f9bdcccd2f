/**
 * Context `broker=iot-core`: the stack's broker is the account's AWS IoT Core. There is no broker
 * secret: the data endpoint (`iot:Data-ATS`) is looked up while the stack deploys, the code gets
 * `MQTT_URL=wss://<endpoint>/mqtt` as a plain environment variable (an address, not a secret)
 * and signs each connection with its own role (`authMethod: aws-sigv4`), whose iot: permissions
 * are exactly what loadIotPermissions derived from the resources (iot-permissions.ts).
 */
import { ArnFormat, CfnOutput, RemovalPolicy, Stack } from 'aws-cdk-lib'
import { Effect, PolicyStatement, Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam'
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs'
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources'
import { Construct, type IConstruct } from 'constructs'
import type { IotGrant } from './iot-permissions.js'
import { acknowledge } from './nag.js'

/** The endpoint type the code connects to: the ATS-signed data endpoint (the legacy VeriSign one is deprecated). */
export const IOT_ENDPOINT_TYPE = 'iot:Data-ATS'

/**
 * The account's IoT Core data endpoint, looked up at deploy time by a custom resource calling
 * `iot:DescribeEndpoint` (the endpoint differs per account and region, and is not a secret).
 */
export class IotCoreEndpoint extends Construct {
  /** The endpoint's host name (a token resolved at deploy time). */
  readonly address: string
  /** `wss://<endpoint>/mqtt`: MQTT over WebSocket, which the SigV4-presigned connection uses. */
  readonly url: string
  readonly lookup: AwsCustomResource

  constructor(scope: Construct, id: string) {
    super(scope, id)
    // The provider function's own role and log group (instead of the AWS managed
    // AWSLambdaBasicExecutionRole and a log group that never expires).
    const logGroup = new LogGroup(this, 'LookupLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY })
    const role = new Role(this, 'LookupRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'mqtt-fn: looks up the IoT Core data endpoint at deploy time (iot:DescribeEndpoint); writes its own log group only',
    })
    logGroup.grantWrite(role)
    const call = {
      service: 'Iot',
      action: 'describeEndpoint',
      parameters: { endpointType: IOT_ENDPOINT_TYPE },
      physicalResourceId: PhysicalResourceId.of(IOT_ENDPOINT_TYPE),
      outputPaths: ['endpointAddress'],
    }
    this.lookup = new AwsCustomResource(this, 'Lookup', {
      onCreate: call,
      onUpdate: call,
      policy: AwsCustomResourcePolicy.fromStatements([
        new PolicyStatement({ effect: Effect.ALLOW, actions: ['iot:DescribeEndpoint'], resources: ['*'] }),
      ]),
      role,
      logGroup,
      // The SDK of the Lambda runtime has DescribeEndpoint; installing the latest one would need
      // npmjs.com at deploy time.
      installLatestAwsSdk: false,
    })
    // The statement is the custom resource's own policy (Lookup/CustomResourcePolicy), attached to `role`.
    acknowledge(
      this.lookup,
      'AwsSolutions-IAM5[Resource::*]',
      'iot:DescribeEndpoint has no resource-level permissions: AWS only accepts Resource "*" for it. It is the only action of this role besides writing its own log group, and it reveals the account\'s endpoint address only.',
    )
    this.address = this.lookup.getResponseField('endpointAddress')
    this.url = `wss://${this.address}/mqtt`
    new CfnOutput(Stack.of(this), 'IotDataEndpoint', { value: this.address, description: `AWS IoT Core data endpoint (${IOT_ENDPOINT_TYPE}) the code connects to` })
  }
}

/**
 * Gives `role` exactly `grant` on IoT Core, one statement per action, each resource an ARN in the
 * stack's account and region. A name with a wildcard (a client id or topic with a variable part,
 * a filter's delivered topics) is acknowledged for cdk-nag IAM5 on its own, naming the resource.
 */
export function grantIot(scope: IConstruct, role: IRole, grant: IotGrant, who: string): void {
  const stack = Stack.of(scope)
  const arn = (resource: 'client' | 'topic' | 'topicfilter', name: string): string =>
    stack.formatArn({ service: 'iot', resource, resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME })
  const statements: { action: string; resource: 'client' | 'topic' | 'topicfilter'; names: string[]; why: string }[] = [
    { action: 'iot:Connect', resource: 'client', names: grant.connect, why: 'a client id with a per-instance part (generated suffix or {podName}) behind a fixed prefix' },
    { action: 'iot:Publish', resource: 'topic', names: grant.publish, why: 'a topic with a per-instance part behind a fixed prefix (the session ledger of a client id)' },
    { action: 'iot:RetainPublish', resource: 'topic', names: grant.retainPublish, why: 'a topic with a per-instance part behind a fixed prefix (the session ledger of a client id)' },
    { action: 'iot:Subscribe', resource: 'topicfilter', names: grant.subscribe, why: 'a filter with a per-instance part behind a fixed prefix (the session ledger of a client id)' },
    { action: 'iot:Receive', resource: 'topic', names: grant.receive, why: 'the topics a wildcard filter of the resources delivers (+ and # become *), or a per-instance ledger topic, behind a fixed prefix' },
  ]
  // One acknowledgement per wildcard resource, naming every action granted on it.
  const wildcards = new Map<string, { actions: string[]; why: Set<string> }>()
  for (const { action, resource, names, why } of statements) {
    if (names.length === 0) continue
    role.addToPrincipalPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: [action], resources: names.map((name) => arn(resource, name)) }))
    for (const name of names) {
      if (!unescapedWildcard(name)) continue
      const key = `${resource}/${name}`
      const entry = wildcards.get(key) ?? { actions: [], why: new Set<string>() }
      entry.actions.push(action)
      entry.why.add(why)
      wildcards.set(key, entry)
    }
  }
  for (const [key, { actions, why }] of wildcards) {
    acknowledge(
      role,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:${key}]`,
      `${who}: ${actions.join(', ')} on ${key}, derived from the Dapr resources (infra/aws/iot-permissions.ts): ${[...why].join('; ')}; never a bare "*".`,
    )
  }
}

/** A `*` or `?` that is an IAM wildcard (not one of IAM's escapes `${*}`, `${?}`). */
function unescapedWildcard(name: string): boolean {
  return /[*?]/.test(name.replace(/\$\{[*?$]\}/g, ''))
}
