/**
 * Wire decoding shared by HTTP and gRPC: zod schemas for proto3-JSON shapes, and the
 * translation of validation failures into one INVALID_ARGUMENT naming the field.
 */
import { z } from 'zod';
import { DgwError } from '../../kernel/errors.js';
import { parseDurationMicros, parseTimestampMicros } from '../../kernel/time.js';
import { textProblem } from '../../core/text.js';

/** Formats a zod issue path as `events[3].eventTime`. */
export function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out || 'body';
}

/** Parses `input` with `schema`, or throws INVALID_ARGUMENT naming the first bad field. */
export function decode<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues;
  const first = issues[0]!;
  const field = pathText(first.path);
  const message = first.code === 'invalid_type' && first.message.includes('received undefined') ? 'is required' : first.message;
  throw new DgwError('INVALID_ARGUMENT', `${field}: ${message}`, {
    details: issues.slice(0, 10).map((i) => ({ field: pathText(i.path), reason: i.message })),
  });
}

/** The first key of `o` not in `allowed` (unknown fields are refused, naming the key). */
export function unknownKey(o: object, allowed: ReadonlySet<string>): string | undefined {
  for (const key in o) if (!allowed.has(key)) return key;
  return undefined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}|[A-Za-z0-9+/]{3})?$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** The slow path of {@link decodeBase64}: whitespace stripped, then the two regexes. */
function decodeBase64Slow(v: string): Uint8Array | undefined {
  const s = v.replace(/\s+/g, '');
  const std = BASE64.test(s);
  if (!std && !BASE64URL.test(s)) return undefined;
  return new Uint8Array(Buffer.from(s, std ? 'base64' : 'base64url'));
}

/**
 * proto3 `bytes` text: standard base64 (padded or not) or URL-safe base64, whitespace
 * ignored; undefined when it is neither. One charCode pass decides what the two regexes
 * of the slow path would (which still handles whitespace and anything unusual).
 */
export function decodeBase64(v: string): Uint8Array | undefined {
  const n = v.length;
  let end = n;
  while (end > 0 && v.charCodeAt(end - 1) === 61 /* = */) end--;
  const pad = n - end;
  if (pad > 2) return undefined;
  let hasStd = false;
  let hasUrl = false;
  for (let i = 0; i < end; i++) {
    const c = v.charCodeAt(i);
    if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57)) continue;
    if (c === 43 || c === 47) hasStd = true; // + /
    else if (c === 45 || c === 95) hasUrl = true; // - _
    else return decodeBase64Slow(v); // whitespace, '=' before the end, or a stray character
  }
  // Standard: groups of 4, then 2 or 3 characters, padded to 4 or not.
  const rem = end & 3;
  const std = !hasUrl && (pad === 0 ? rem !== 1 : pad === 1 ? rem === 3 : rem === 2);
  // URL-safe: its alphabet, then up to two '='.
  if (!std && hasStd) return undefined;
  return new Uint8Array(Buffer.from(v, std ? 'base64' : 'base64url'));
}

/** zod's wording of a type mismatch ("Invalid input: expected string, received number"). */
export function typeMessage(expected: string, input: unknown): string {
  return `Invalid input: expected ${expected}, received ${receivedType(input)}`;
}

function receivedType(input: unknown): string {
  switch (typeof input) {
    case 'number':
      return Number.isNaN(input) ? 'NaN' : Number.isFinite(input) ? 'number' : String(input);
    case 'object': {
      if (input === null) return 'null';
      if (Array.isArray(input)) return 'array';
      const proto: unknown = Object.getPrototypeOf(input);
      const ctor = (input as { constructor?: { name?: string } }).constructor;
      if (proto !== Object.prototype && 'constructor' in input && ctor) return String(ctor.name);
      return 'object';
    }
    default:
      return typeof input;
  }
}

/** One field failure collected by a hand-written decoder. */
export interface Issue {
  field: string;
  reason: string;
  /** A type mismatch on an absent value (shown as "is required" when it comes first). */
  missing?: boolean;
}

/** Throws the INVALID_ARGUMENT of {@link decode} for hand-collected issues (at least one). */
export function throwIssues(issues: readonly Issue[]): never {
  const first = issues[0]!;
  throw new DgwError('INVALID_ARGUMENT', `${first.field}: ${first.missing ? 'is required' : first.reason}`, {
    details: issues.slice(0, 10).map((i) => ({ field: i.field, reason: i.reason })),
  });
}

/** proto3 `bytes`: standard or URL-safe base64, decoded; refuses anything else. */
export const bytesField = z.string().transform((v, ctx) => {
  const bytes = decodeBase64(v);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: 'invalid base64' });
    return z.NEVER;
  }
  return bytes;
});

/** A non-empty id, name or key a store can hold: no NUL, no lone surrogate (core/text.ts). */
export const idField = z
  .string()
  .min(1, 'is required')
  .superRefine((v, ctx) => {
    const problem = textProblem(v);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

/** RFC 3339 timestamp → epoch microseconds. */
export const timestampField = z.string().transform((v, ctx) => {
  const micros = parseTimestampMicros(v);
  if (micros === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid RFC 3339 timestamp "${v.slice(0, 64)}"` });
    return z.NEVER;
  }
  return micros;
});

/** A duration string ("250ms", "2s") → microseconds. */
export const durationField = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const micros = parseDurationMicros(v);
  if (micros === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid duration "${String(v).slice(0, 32)}" (e.g. "250ms", "2s")` });
    return z.NEVER;
  }
  return micros;
});

/** A proto3 int32 accepted as a JSON number or a decimal string. */
export function int32Field(min: number, max: number) {
  return z.union([z.number(), z.string()]).transform((v, ctx) => {
    const n = typeof v === 'number' ? v : /^[+-]?\d+$/.test(v.trim()) ? Number(v) : Number.NaN;
    if (!Number.isInteger(n)) {
      ctx.addIssue({ code: 'custom', message: 'must be an integer' });
      return z.NEVER;
    }
    if (n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be between ${min} and ${max}` });
      return z.NEVER;
    }
    return n;
  });
}
