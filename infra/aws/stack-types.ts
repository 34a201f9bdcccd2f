import type { Code } from 'aws-cdk-lib/aws-lambda'

/** What every mqtt-fn function of the stack shares. */
export interface FunctionBase {
  /** Settings and secret references (see BrokerSecret.lambdaEnvironment). */
  environment: Record<string, string>
  /** The function's bundle with the stack's resources compiled in (function-code.ts). */
  code: Code
}
