/**
 * int64 values on the wire (DESIGN 2): the proto3 JSON mapping accepts an int64 as a JSON
 * number or a decimal string and emits it as a decimal string. Inside dgw every int64 is a
 * bigint, so no digit is ever lost.
 */
import { invalidArgument } from '../../kernel/errors.js';

/** Smallest int64: -2^63. */
export const INT64_MIN = -(2n ** 63n);
/** Largest int64: 2^63 - 1. */
export const INT64_MAX = 2n ** 63n - 1n;

const DECIMAL = /^-?\d+$/;

/** Whether `value` fits in a signed 64-bit integer. */
export function isInt64(value: bigint): boolean {
  return value >= INT64_MIN && value <= INT64_MAX;
}

/**
 * Decodes a wire int64. Accepts a JSON number that is a safe integer (larger numbers have
 * already lost digits in JSON.parse, so they are refused: send a string), a decimal string
 * (optional leading `-`, digits only, within int64) or a bigint within int64. Refuses
 * fractions, exponents, signs other than a leading `-`, whitespace, empty strings,
 * out-of-range values and non-numbers with INVALID_ARGUMENT naming `field`.
 */
export function parseInt64(value: unknown, field: string): bigint {
  let parsed: bigint;
  if (typeof value === 'bigint') {
    parsed = value;
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalidArgument(field, 'must be a finite integer');
    if (!Number.isInteger(value)) throw invalidArgument(field, `must be an integer, got ${value}`);
    if (!Number.isSafeInteger(value)) {
      throw invalidArgument(field, 'integer beyond ±2^53 as a JSON number loses precision; send it as a decimal string');
    }
    parsed = BigInt(value);
  } else if (typeof value === 'string') {
    if (!DECIMAL.test(value)) {
      throw invalidArgument(field, `must be a decimal integer string, got ${JSON.stringify(truncate(value))}`);
    }
    parsed = BigInt(value);
  } else {
    throw invalidArgument(field, `must be an integer (JSON number or decimal string), got ${describe(value)}`);
  }
  if (!isInt64(parsed)) throw invalidArgument(field, 'out of the int64 range [-9223372036854775808, 9223372036854775807]');
  return parsed;
}

/** Encodes an int64 for the wire: its decimal text. */
export function formatInt64(value: bigint): string {
  return value.toString(10);
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
