import { MqttFnError } from '../errors.js'
import { ErrorCode } from './constants.js'

/**
 * A JSON number kept as the literal it was written with, like Go's `json.Number` under
 * `Decoder.UseNumber()`. Dapr parses JSON bodies that way, so `12345678901234567890` and
 * `1.0` reach the wire unchanged; a JS number would turn them into `12345678901234567000` and `1`.
 */
export class JsonNumber {
  readonly literal: string

  constructor(literal: string) {
    if (!isValidNumber(literal)) {
      throw new MqttFnError(ErrorCode.JsonMarshal, `json: invalid number literal ${JSON.stringify(literal)}`)
    }
    this.literal = literal
  }

  toString(): string {
    return this.literal
  }

  /** The nearest float64, as Go's `Number.Float64` gives it. */
  valueOf(): number {
    return Number(this.literal)
  }

  /** Lossy (a float64); `goMarshal` writes the literal itself. */
  toJSON(): number {
    return Number(this.literal)
  }
}

/** The JSON number grammar (RFC 8259 section 6), as Go's `isValidNumber` checks it. */
export function isValidNumber(s: string): boolean {
  return NUMBER.test(s)
}

const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/
