import { randomBytes, randomUUID } from 'node:crypto'
import { hostname } from 'node:os'

/** App id used when neither `LoadOptions.appId` nor env `APP_ID` gives one. */
export const DEFAULT_APP_ID = 'app'

/** What daprd's template tags expand to, here without a sidecar. */
export interface TemplateContext {
  appId: string
  podName: string
  /** Kubernetes namespace: env `NAMESPACE`, else `default`. */
  namespace: string
}

export function templateContext(
  appId: string | undefined,
  env: Record<string, string | undefined>,
): TemplateContext {
  return {
    appId: nonEmpty(appId) ?? nonEmpty(env['APP_ID']) ?? DEFAULT_APP_ID,
    podName: nonEmpty(env['POD_NAME']) ?? nonEmpty(env['HOSTNAME']) ?? hostname(),
    namespace: nonEmpty(env['NAMESPACE']) ?? 'default',
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

/**
 * daprd's `convertItemsToProps` (dapr/pkg/runtime/meta/meta.go), applied to every metadata
 * value: each `{uuid}` gets its own random UUID, `{podName}` the pod name, `{namespace}`
 * becomes `<namespace>.<appID>` (daprd's exact expansion, so a `{namespace}` consumerID is the
 * same client id daprd would use), `{appID}` the app id.
 */
export function expandTemplate(value: string, ctx: TemplateContext): string {
  if (!value.includes('{')) return value
  return value
    .replaceAll('{uuid}', () => randomUUID())
    .replaceAll('{podName}', ctx.podName)
    .replaceAll('{namespace}', `${ctx.namespace}.${ctx.appId}`)
    .replaceAll('{appID}', ctx.appId)
}

/** MQTT 3.1.1 guarantees client ids of 1-23 characters; aedes enforces 23 by default. */
export const MAX_PORTABLE_CLIENT_ID = 23

/**
 * A client id unique to this process, for a component without `consumerID`: daprd would use
 * the app id, but every replica of a function shares that and the broker would keep only one
 * of them connected. `mqttfn-<app id>-<8 hex>`, the app id cut so the whole fits 23 characters.
 */
export function generateConsumerId(appId: string): string {
  const suffix = randomBytes(4).toString('hex')
  const room = MAX_PORTABLE_CLIENT_ID - 'mqttfn-'.length - 1 - suffix.length
  const app = appId.replace(/[^A-Za-z0-9-]/g, '').slice(0, room).replace(/-+$/, '') || DEFAULT_APP_ID
  return `mqttfn-${app}-${suffix}`
}
