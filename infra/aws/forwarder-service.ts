import { Aws, CfnOutput, Duration, IgnoreMode, RemovalPolicy, Stack } from 'aws-cdk-lib'
import { FlowLogDestination, FlowLogTrafficType, SecurityGroup, SubnetType, Vpc, type IVpc } from 'aws-cdk-lib/aws-ec2'
import { Platform } from 'aws-cdk-lib/aws-ecr-assets'
import {
  Cluster,
  ContainerImage,
  ContainerInsights,
  CpuArchitecture,
  FargateService,
  FargateTaskDefinition,
  LogDrivers,
  OperatingSystemFamily,
  Protocol,
  type Secret as EcsSecret,
} from 'aws-cdk-lib/aws-ecs'
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam'
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs'
import { Construct } from 'constructs'
import { acknowledge } from './nag.js'

/** The forwarder's defaults (src/cli/forward.ts): health and metrics port and paths. */
export const FORWARDER_PORT = 9464
export const READY_PATH = '/readyz'

/** The Dockerfile, relative to the build context (the repository root). */
export const FORWARDER_DOCKERFILE = 'infra/forwarder/Dockerfile'

export interface ForwarderServiceProps {
  /** Repository root: the image's build context. */
  root: string
  /** Resources folder baked into the image (build arg RESOURCES), relative to `root`. */
  resourcesPath: string
  replicas: number
  architecture: 'arm64' | 'x86_64'
  /** ARNs of the Lambda functions the forwarder may invoke (`lambda:` routes). */
  targetFunctionArns: string[]
  environment: Record<string, string>
  secrets: Record<string, EcsSecret>
  /** An existing VPC; default: one of its own. */
  vpc?: IVpc
}

/**
 * `mqtt-fn forward` on ECS Fargate: N tasks of the image infra/forwarder/Dockerfile builds,
 * sharing the `$share/...` subscriptions of their resources so that the broker spreads the
 * messages over them. No load balancer and no inbound traffic: the tasks only connect out (to
 * the broker, Lambda, ECR, Secrets Manager, CloudWatch Logs), so their security group has no
 * ingress rule; ECS checks each task through the container health check on /readyz.
 */
export class ForwarderService extends Construct {
  readonly vpc: IVpc
  readonly cluster: Cluster
  readonly taskDefinition: FargateTaskDefinition
  readonly service: FargateService
  readonly logGroup: LogGroup

  constructor(scope: Construct, id: string, props: ForwarderServiceProps) {
    super(scope, id)
    this.vpc = props.vpc ?? this.ownVpc()

    this.cluster = new Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ContainerInsights.ENABLED })

    const arm = props.architecture === 'arm64'
    this.taskDefinition = new FargateTaskDefinition(this, 'Task', {
      cpu: 256,
      memoryLimitMiB: 512,
      runtimePlatform: {
        cpuArchitecture: arm ? CpuArchitecture.ARM64 : CpuArchitecture.X86_64,
        operatingSystemFamily: OperatingSystemFamily.LINUX,
      },
    })
    // The task role (what the forwarder's code may do): invoke the target functions, nothing else.
    if (props.targetFunctionArns.length > 0) {
      this.taskDefinition.addToTaskRolePolicy(
        new PolicyStatement({ effect: Effect.ALLOW, actions: ['lambda:InvokeFunction'], resources: props.targetFunctionArns }),
      )
    }

    this.logGroup = new LogGroup(this, 'Logs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY })
    this.taskDefinition.addContainer('forwarder', {
      // `cdk deploy` builds and pushes the image; at synth CDK only copies the build context
      // (what .dockerignore lets through) into cdk.out and fingerprints it, without Docker.
      image: ContainerImage.fromAsset(props.root, {
        file: FORWARDER_DOCKERFILE,
        ignoreMode: IgnoreMode.DOCKER,
        platform: arm ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
        buildArgs: { RESOURCES: props.resourcesPath },
      }),
      // ENTRYPOINT node bin/mqtt-fn.mjs forward, CMD --resources-path /resources (the image's).
      environment: {
        // For `lambda:NAME` routes: the SDK's region (ECS sets it too; explicit is certain).
        AWS_REGION: Aws.REGION,
        MQTTFN_FORWARD_PORT: String(FORWARDER_PORT),
        ...props.environment,
      },
      secrets: props.secrets,
      portMappings: [{ containerPort: FORWARDER_PORT, protocol: Protocol.TCP, name: 'metrics' }],
      healthCheck: {
        // Ready = every broker connection up and every subscription granted. A task that stays
        // unready is replaced; while the broker itself is down that means restarts, which also
        // show in the service's events.
        command: ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${FORWARDER_PORT}${READY_PATH}').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`],
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(60),
      },
      logging: LogDrivers.awsLogs({ streamPrefix: 'forwarder', logGroup: this.logGroup }),
      readonlyRootFilesystem: true,
      // The forwarder drains in-flight deliveries for 10 s (--drain-timeout) after SIGTERM.
      stopTimeout: Duration.seconds(30),
    })

    acknowledge(
      this.taskDefinition,
      'AwsSolutions-ECS2',
      Object.keys(props.secrets).length > 0
        ? 'The plain environment holds settings only (APP_ID, AWS_REGION, the port, APP_URL); every secret reaches the container through `secrets` (Secrets Manager).'
        : 'The plain environment holds settings only (APP_ID, AWS_REGION, the port, APP_URL, and MQTT_URL: the IoT Core data endpoint, an address); there is no secret: the task signs its IoT Core connection with its task role.',
    )
    const executionRole = this.taskDefinition.executionRole
    if (executionRole) {
      acknowledge(
        executionRole,
        'AwsSolutions-IAM5[Resource::*]',
        'ecr:GetAuthorizationToken, which ECS needs to pull the image from the asset repository, has no resource-level permissions: AWS only accepts Resource "*" for it.',
      )
    }

    const securityGroup = new SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      description: 'mqtt-fn forwarder: outbound only (broker, AWS APIs)',
      allowAllOutbound: true,
    })
    this.service = new FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: props.replicas,
      // Replace one task at a time, never below the requested count; roll back a deployment
      // whose tasks never become healthy.
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { enable: true, rollback: true },
      securityGroups: [securityGroup],
      vpcSubnets: { subnetType: SubnetType.PRIVATE_WITH_EGRESS },
      assignPublicIp: false,
    })

    new CfnOutput(Stack.of(this), 'ForwarderService', { value: this.service.serviceName, description: 'ECS service of the forwarder' })
    new CfnOutput(Stack.of(this), 'ForwarderLogGroup', { value: this.logGroup.logGroupName, description: 'CloudWatch log group of the forwarder' })
  }

  /** Two AZs, public subnets for one NAT gateway, private subnets for the tasks; flow logs on. */
  private ownVpc(): Vpc {
    const flowLogs = new LogGroup(this, 'FlowLogs', { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY })
    return new Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 1,
      subnetConfiguration: [
        { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'tasks', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      flowLogs: {
        all: { destination: FlowLogDestination.toCloudWatchLogs(flowLogs), trafficType: FlowLogTrafficType.ALL },
      },
    })
  }
}
