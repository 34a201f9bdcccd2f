// The parts of an ARM template (infra/azure/azuredeploy.json) the infra tests read, typed once.
export interface ArmResource {
  type: string
  name: string
  condition?: string
  apiVersion: string
  kind?: string
  scope?: string
  dependsOn?: string[]
  sku?: Record<string, unknown>
  identity?: { type: string; userAssignedIdentities?: Record<string, unknown> }
  properties?: Record<string, unknown>
}
export interface ArmParameter {
  type: string
  defaultValue?: unknown
  allowedValues?: unknown[]
  minLength?: number
  maxLength?: number
  minValue?: number
  maxValue?: number
}
export interface ArmTemplate {
  $schema: string
  parameters: Record<string, ArmParameter>
  variables: Record<string, unknown>
  resources: ArmResource[]
  outputs: Record<string, { type: string; value: string }>
}
/** An app setting or a container's environment variable. */
export interface Setting {
  name: string
  value?: string
  secretRef?: string
}
