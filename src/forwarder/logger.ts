import { pino, type Logger, type LevelWithSilent } from 'pino'

export type { Logger }

/**
 * JSON logs. Payloads are never logged; these paths cover what could still carry a secret
 * (broker URL userinfo, connection strings, auth headers) if a future log call passed it.
 */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'url.password',
  'connectionString',
  '*.connectionString',
  'clientKey',
  '*.clientKey',
  'headers.authorization',
  '*.headers.authorization',
  'headers["dapr-api-token"]',
  '*.headers["dapr-api-token"]',
]

export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  const options = { name: 'mqtt-fn-forward', level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }
  return destination ? pino(options, destination) : pino(options)
}
