/**
 * Strict decoding of gRPC request messages (issue 14): grpc-js answers INTERNAL when a
 * deserializer throws, and protobufjs turns a string field's invalid UTF-8 into U+FFFD
 * silently (two distinct ids would collapse into one) and reads a known field sent with
 * the wrong wire type as garbage. So before protobufjs decodes, the raw bytes are walked
 * with the message's reflection: every string field (at any depth, map keys and
 * google.protobuf.Struct values included) must be valid UTF-8, and every known field must
 * come with its wire type. A refused message is not thrown at grpc-js: the deserializer
 * returns a placeholder object remembered with its INVALID_ARGUMENT (naming the field, in
 * the proto3 JSON path form, e.g. `events[2].eventId`), which the handler answers with.
 * The decoded message's byte length is remembered too (the memory budget reserves for it).
 */
import { isUtf8 } from 'node:buffer';
import protobuf from 'protobufjs';
import { invalidArgument, type DgwError } from '../../kernel/errors.js';

/** Walks nested messages at most this deep (DESIGN: bounded nesting; Struct values nest). */
const MAX_DEPTH = 64;

/** What the deserializer learned about a request object. */
export interface RequestFacts {
  /** Bytes of the encoded message. */
  bytes: number;
  /** Set when the message is refused; the request object is then an empty placeholder. */
  refusal?: DgwError;
}

const facts = new WeakMap<object, RequestFacts>();

/** What {@link strictDeserializer} recorded for `request` (undefined for objects it did not make). */
export function requestFacts(request: unknown): RequestFacts | undefined {
  return typeof request === 'object' && request !== null ? facts.get(request) : undefined;
}

/** Wraps a method's request deserializer: checks the raw bytes first, and never throws. */
export function strictDeserializer(type: protobuf.Type, decode: (buf: Buffer) => unknown): (buf: Buffer) => unknown {
  return (buf: Buffer) => {
    let refusal: DgwError | undefined;
    try {
      refusal = checkMessage(type, protobuf.Reader.create(buf), buf.length, '', 0);
    } catch {
      refusal = malformed(type);
    }
    if (refusal === undefined) {
      try {
        const message = decode(buf);
        if (typeof message === 'object' && message !== null) {
          facts.set(message, { bytes: buf.length });
          return message;
        }
      } catch {
        // fall through: refused below
      }
      refusal = malformed(type);
    }
    const placeholder = {};
    facts.set(placeholder, { bytes: buf.length, refusal });
    return placeholder;
  };
}

function malformed(type: protobuf.Type): DgwError {
  return invalidArgument('message', `not a valid ${type.fullName.replace(/^\./, '')} message (truncated or malformed protobuf encoding)`);
}

/** Wire type of a scalar proto type (strings, bytes and messages are length-delimited: 2). */
function wireTypeOf(field: protobuf.Field, protoType: string): number {
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  const basic = (protobuf.types.basic as Record<string, number | undefined>)[protoType];
  return basic ?? 2;
}

/**
 * Checks one message's bytes from the reader's position to `end`; returns the refusal, or
 * undefined when every string is UTF-8 and every known field has its wire type. Throws
 * (protobufjs range errors) on a truncated encoding.
 */
function checkMessage(type: protobuf.Type, r: protobuf.Reader, end: number, path: string, depth: number): DgwError | undefined {
  if (depth > MAX_DEPTH) return invalidArgument(path || 'message', `nested deeper than ${MAX_DEPTH} messages`);
  const seen = new Map<number, number>();
  while (r.pos < end) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    if (id === 0) throw new Error('field number 0');
    const field = type.fieldsById[id];
    if (!field) {
      r.skipType(wire);
      continue;
    }
    field.resolve();
    const index = seen.get(id) ?? 0;
    seen.set(id, index + 1);
    const { name, here } = fieldPath(type, field, path, index);
    if (field instanceof protobuf.MapField) {
      if (wire !== 2) return invalidArgument(name, 'wrong wire type for a map entry');
      const len = r.uint32();
      const stop = r.pos + len;
      if (stop > end) throw new Error('truncated');
      const problem = checkMapEntry(field, r, stop, name, depth);
      if (problem) return problem;
      r.pos = stop;
      continue;
    }
    const expected = wireTypeOf(field, field.type);
    const packed = field.repeated && wire === 2 && expected !== 2;
    if (wire !== expected && !packed) return invalidArgument(here, `wrong wire type ${wire} for a ${field.type} field`);
    if (expected !== 2 || packed) {
      r.skipType(wire);
      continue;
    }
    const len = r.uint32();
    const start = r.pos;
    const stop = start + len;
    if (stop > end) throw new Error('truncated');
    if (field.type === 'string') {
      if (!isUtf8(r.buf.subarray(start, stop))) return invalidArgument(here, 'not valid UTF-8');
    } else if (field.resolvedType instanceof protobuf.Type) {
      const problem = checkMessage(field.resolvedType, r, stop, here, depth + 1);
      if (problem) return problem;
    }
    r.pos = stop;
  }
  if (r.pos !== end) throw new Error('field overran its message');
  return undefined;
}

/**
 * The proto3 JSON path of a field: `path.field`, `path.field[i]` when repeated. The
 * well-known JSON types are transparent, as in their JSON form: a Struct's `fields` and a
 * Value's members add nothing, a ListValue's `values` adds `[i]`.
 */
function fieldPath(type: protobuf.Type, field: protobuf.Field, path: string, index: number): { name: string; here: string } {
  const wkt = type.fullName;
  if (wkt === '.google.protobuf.Struct' || wkt === '.google.protobuf.Value') return { name: path, here: path };
  if (wkt === '.google.protobuf.ListValue') return { name: path, here: `${path}[${index}]` };
  const name = `${path ? `${path}.` : ''}${field.name}`;
  return { name, here: field.repeated ? `${name}[${index}]` : name };
}

/** A map entry: field 1 the key, field 2 the value. */
function checkMapEntry(field: protobuf.MapField, r: protobuf.Reader, end: number, name: string, depth: number): DgwError | undefined {
  let key = '';
  while (r.pos < end) {
    const tag = r.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    if (id === 1 && field.keyType === 'string') {
      if (wire !== 2) return invalidArgument(`${name} key`, 'wrong wire type for a string key');
      const len = r.uint32();
      const start = r.pos;
      if (start + len > end) throw new Error('truncated');
      const bytes = r.buf.subarray(start, start + len);
      if (!isUtf8(bytes)) return invalidArgument(name || 'message', 'a map key is not valid UTF-8');
      key = Buffer.from(bytes).toString('utf8');
      r.pos = start + len;
    } else if (id === 2 && field.resolvedType instanceof protobuf.Type) {
      if (wire !== 2) return invalidArgument(`${name}.${key}`, 'wrong wire type for a message value');
      const len = r.uint32();
      const start = r.pos;
      if (start + len > end) throw new Error('truncated');
      const problem = checkMessage(field.resolvedType, r, start + len, `${name}.${key}`, depth + 1);
      if (problem) return problem;
      r.pos = start + len;
    } else if (id === 2 && field.type === 'string') {
      if (wire !== 2) return invalidArgument(`${name}.${key}`, 'wrong wire type for a string value');
      const len = r.uint32();
      const start = r.pos;
      if (start + len > end) throw new Error('truncated');
      if (!isUtf8(r.buf.subarray(start, start + len))) return invalidArgument(`${name}.${key}`, 'not valid UTF-8');
      r.pos = start + len;
    } else {
      r.skipType(wire);
    }
  }
  return undefined;
}
