import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { App, Validations, type AppProps } from 'aws-cdk-lib'
import { AwsSolutionsChecks } from 'cdk-nag'
import { configFromContext, type MqttFnConfig } from './config.js'
import { loadIotPermissions, type IotPermissions } from './iot-permissions.js'
import { MqttFnStack } from './stack.js'

/** The repository root (two folders up from this file). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

export const STACK_NAME = 'MqttFn'

export interface BuiltApp {
  app: App
  stack: MqttFnStack
}

/**
 * The CDK app: one stack, checked by cdk-nag's AwsSolutions pack when it synthesizes (a finding
 * that is not acknowledged in nag.ts fails the synthesis). Environment-agnostic unless the
 * `vpcId` context asks for a VPC lookup, which needs the account and region of the credentials.
 * Broker iot-core needs the resources' IoT permissions: `iot`, or createApp below.
 */
export function buildApp(props: AppProps = {}, root = REPO_ROOT, iot?: IotPermissions): BuiltApp {
  const app = new App(props)
  return construct(app, configFromContext(app.node, root), iot)
}

/**
 * buildApp for every broker mode: with context broker=iot-core it first reads the resources'
 * IoT permissions (loadIotPermissions is async; constructs are made synchronously), so app.ts
 * uses this one.
 */
export async function createApp(props: AppProps = {}, root = REPO_ROOT): Promise<BuiltApp> {
  const app = new App(props)
  const config = configFromContext(app.node, root)
  const iot = config.broker === 'iot-core' ? await loadIotPermissions(config) : undefined
  return construct(app, config, iot)
}

function construct(app: App, config: MqttFnConfig, iot: IotPermissions | undefined): BuiltApp {
  const env =
    config.vpcId !== undefined
      ? { account: process.env['CDK_DEFAULT_ACCOUNT'], region: process.env['CDK_DEFAULT_REGION'] }
      : undefined
  const stack = new MqttFnStack(app, STACK_NAME, { config, ...(iot ? { iot } : {}), ...(env ? { env } : {}) })
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app))
  return { app, stack }
}
