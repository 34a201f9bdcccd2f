/** dapr/kit `strings.IsTruthy`: only these words (any case) are true; everything else is false. */
const TRUTHY = new Set(['y', 'yes', 'true', 't', 'on', '1'])

/** Words that are false on purpose; any other text is false too, but probably a typo. */
const FALSY = new Set(['', 'n', 'no', 'false', 'f', 'off', '0'])

export function isTruthy(value: string): boolean {
  return TRUTHY.has(value.trim().toLowerCase())
}

/** True when the value is neither a truthy nor a usual falsy word (`ture`, `enabled`...). */
export function isUnusualBool(value: string): boolean {
  const v = value.trim().toLowerCase()
  return !TRUTHY.has(v) && !FALSY.has(v)
}
