import { cpSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { DockerImage } from 'aws-cdk-lib'
import { Architecture, Code, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda'
import { Construct } from 'constructs'

/** Where the layer's files appear in a function: layers are extracted under /opt. */
export const FUNCTION_RESOURCES_PATH = '/opt/mqtt-fn/resources'

/**
 * The Dapr resources of the functions as a Lambda layer, so the folder can be chosen per
 * deployment (context `functionResourcesPath`) without rebuilding the bundles: the functions
 * read MQTTFN_RESOURCES_PATH=/opt/mqtt-fn/resources instead of the resources/ folder that
 * `npm run build` put beside the handler (the development resources).
 */
export class FunctionResources extends Construct {
  readonly layer: LayerVersion

  constructor(scope: Construct, id: string, props: { path: string; runtime: Runtime; architecture: Architecture }) {
    super(scope, id)
    const files = readdirSync(props.path).filter((f) => /\.ya?ml$/i.test(f))
    if (files.length === 0) throw new Error(`functionResourcesPath ${props.path}: no .yaml files`)
    this.layer = new LayerVersion(this, 'Layer', {
      description: 'mqtt-fn Dapr resources (Component, Subscription YAML)',
      compatibleRuntimes: [props.runtime],
      compatibleArchitectures: [props.architecture],
      code: Code.fromAsset(props.path, {
        // Local bundling only copies the YAML files one folder down (mqtt-fn/resources/); it runs
        // at synth in this process, so no Docker. The image is required by the API and never pulled.
        bundling: {
          image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-slim'),
          local: {
            tryBundle(outputDir: string): boolean {
              for (const file of files) cpSync(join(props.path, file), join(outputDir, 'mqtt-fn', 'resources', file))
              return true
            },
          },
        },
      }),
    })
  }
}
