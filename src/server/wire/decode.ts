/**
 * Wire decoding shared by HTTP and gRPC: zod schemas for proto3-JSON shapes, and the
 * translation of validation failures into one INVALID_ARGUMENT naming the field.
 */
import { z } from 'zod';
import { DgwError } from '../../core/errors.js';
import { parseDurationMicros, parseTimestampMicros } from '../../core/time.js';

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

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}|[A-Za-z0-9+/]{3})?$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** proto3 `bytes`: standard or URL-safe base64, decoded; refuses anything else. */
export const bytesField = z.string().transform((v, ctx) => {
  const s = v.replace(/\s+/g, '');
  if (!BASE64.test(s) && !BASE64URL.test(s)) {
    ctx.addIssue({ code: 'custom', message: 'invalid base64' });
    return z.NEVER;
  }
  return new Uint8Array(Buffer.from(s, BASE64.test(s) ? 'base64' : 'base64url'));
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
