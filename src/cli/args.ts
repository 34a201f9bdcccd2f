import { parseArgs, type ParseArgsConfig } from 'node:util'
import { MqttFnError } from '../core/errors.js'

type Options = NonNullable<ParseArgsConfig['options']>

export const commonOptions = {
  'resources-path': { type: 'string', default: process.env.MQTTFN_RESOURCES_PATH ?? './resources' },
  'app-id': { type: 'string', default: process.env.APP_ID },
  // daprd's --config: the Configuration resource (tracing) that applies; the loader falls back to MQTTFN_CONFIG, then the only one.
  config: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies Options

/** parseArgs with a usage error the CLI prints as one line instead of a stack. */
export function parse<T extends Options>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true })
  } catch (error) {
    throw new MqttFnError('ERR_USAGE', (error as Error).message)
  }
}

export function parsePort(value: string | undefined, flag: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new MqttFnError('ERR_USAGE', `--${flag}: not a port number: ${JSON.stringify(value)}`)
  }
  return port
}

export function helpText(command: string, synopsis: string, options: Options): string {
  const lines = Object.entries(options).map(([name, o]) => {
    const value = o.type === 'string' ? ' VALUE' : ''
    const def = 'default' in o && o.default !== undefined && o.default !== false ? ` (default ${String(o.default)})` : ''
    return `  --${name}${value}${def}`
  })
  return `usage: mqtt-fn ${command} ${synopsis}\n\noptions:\n${lines.join('\n')}`
}

/** A positive integer flag; `env` names the variable its default comes from, so the error points at both. */
export function parsePositiveInt(value: string | undefined, flag: string, env?: string): number {
  const n = Number(value)
  if (value === undefined || value.trim() === '' || !Number.isSafeInteger(n) || n <= 0) {
    throw new MqttFnError('ERR_USAGE', `--${flag}${env ? ` (or ${env})` : ''}: expected a positive integer, got ${JSON.stringify(value)}`)
  }
  return n
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1000, ki: 1024, m: 1000 ** 2, mi: 1024 ** 2, g: 1000 ** 3, gi: 1024 ** 3 }

/** A byte count as daprd's `--max-body-size` takes it: `1048576`, `512Ki`, `4Mi` (a Kubernetes quantity without fractions). */
export function parseByteSize(value: string | undefined, flag: string, env?: string): number {
  const m = /^\s*(\d+)\s*([kKmMgG]i?)?\s*$/.exec(value ?? '')
  const n = m ? Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? Number.NaN) : Number.NaN
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new MqttFnError('ERR_USAGE', `--${flag}${env ? ` (or ${env})` : ''}: expected a size in bytes such as 1048576, 512Ki or 4Mi, got ${JSON.stringify(value)}`)
  }
  return n
}
