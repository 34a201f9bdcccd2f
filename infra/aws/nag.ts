import { Validations } from 'aws-cdk-lib'
import type { IConstruct } from 'constructs'

/**
 * Accepts one cdk-nag finding (`AwsSolutions-L1`, `AwsSolutions-IAM5[Resource::*]`) or one
 * CloudFormation validation finding (`W2509`) on `scope` and everything under it, with the
 * reason; it is recorded in the validation report. Every acknowledgement of the stack goes
 * through here, next to the construct it is about, so that `grep acknowledge infra/aws` lists
 * them all. Any finding not acknowledged fails `npm run synth` and the infra tests.
 */
export function acknowledge(scope: IConstruct, finding: string, reason: string): void {
  // cdk-nag matches its rule ids as they are (and skips the finding); the findings of CDK's own
  // CloudFormation validation plugin carry its name as a prefix.
  const id = /^[A-Z]\d{4}$/.test(finding) ? `CloudFormation-Validate::${finding}` : finding
  Validations.of(scope).acknowledge({ id, reason })
}
