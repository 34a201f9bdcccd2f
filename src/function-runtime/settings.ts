import { join } from 'node:path'

/**
 * How every mqtt-fn function is configured: the same environment variables on Lambda and on
 * Azure Functions. Read once per process (cold start).
 */
export interface FunctionSettings {
  /**
   * Folder of Dapr resource YAML. `MQTTFN_RESOURCES_PATH` when set, else `resources/` beside
   * the handler. A bundle of scripts/build.mjs carries its resources compiled in and names them
   * as files of this folder (which it copies there only when a resource reads a file from it at
   * run time, a `secretstores.local.file`).
   */
  resourcesPath: string
  /** True when `MQTTFN_RESOURCES_PATH` chose the folder: its YAML is read, and resources compiled into the bundle are ignored. */
  resourcesPathFromEnv: boolean
  /** `MQTTFN_PUBSUB`: the component a queue relay publishes through when there are several. */
  pubsubName?: string
  /** `MQTTFN_TOPIC`: topic of a queue message that names none. */
  defaultTopic?: string
  /** `APP_ID`: the Dapr app id (CloudEvent `source`, scopes, `{appID}` in consumerID). */
  appId?: string
  /**
   * Token the HTTP publish function requires in the `dapr-api-token` header, as daprd does:
   * `DAPR_API_TOKEN`, else `APP_API_TOKEN`. Unset: no check.
   */
  apiToken?: string
  /** The environment secrets (`secretstores.local.env`) and template tags are read from. */
  env: Record<string, string | undefined>
}

export interface SettingsDefaults {
  /** Folder that holds the handler; `resources/` in it is the default resources folder. */
  bundleDir: string
}

export function settingsFromEnv(
  env: Record<string, string | undefined>,
  defaults: SettingsDefaults,
): FunctionSettings {
  const fromEnv = nonEmpty(env['MQTTFN_RESOURCES_PATH'])
  const settings: FunctionSettings = {
    resourcesPath: fromEnv ?? join(defaults.bundleDir, 'resources'),
    resourcesPathFromEnv: fromEnv !== undefined,
    env,
  }
  const pubsubName = nonEmpty(env['MQTTFN_PUBSUB'])
  if (pubsubName !== undefined) settings.pubsubName = pubsubName
  const defaultTopic = nonEmpty(env['MQTTFN_TOPIC'])
  if (defaultTopic !== undefined) settings.defaultTopic = defaultTopic
  const appId = nonEmpty(env['APP_ID'])
  if (appId !== undefined) settings.appId = appId
  const apiToken = nonEmpty(env['DAPR_API_TOKEN']) ?? nonEmpty(env['APP_API_TOKEN'])
  if (apiToken !== undefined) settings.apiToken = apiToken
  return settings
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}
