/**
 * The bridge between grpc-js messages and the proto3 JSON objects the shared wire decoders
 * take (DESIGN 2: the HTTP JSON is the proto3 JSON mapping of proto/dgw/*.proto).
 *
 * grpc-js (through @grpc/proto-loader) hands a handler a plain object with lowerCamelCase
 * keys, int64 as decimal strings, bytes as base64 and enums as names: already the proto3
 * JSON form except for the well-known types and presence. {@link messageToJson} closes
 * that gap, walking the message with protobufjs reflection: Timestamps become RFC 3339
 * strings, Durations "Nus" strings, unset message fields and zero enums are dropped.
 * {@link jsonToMessage} does the reverse for responses (RFC 3339 strings back to
 * Timestamps); int64 strings and base64 bytes are taken as they are by the serializer.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { formatTimestampMicros, parseTimestampMicros } from '../../kernel/time.js';

/** A proto3 JSON object. */
export type JsonObject = Record<string, unknown>;

/** Where the .proto files live: `proto/` at the package root (same depth from src/ and dist/). */
export const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'proto');

/** The dgw .proto files, relative to {@link PROTO_DIR}. */
export const PROTO_FILES: readonly string[] = ['dgw/timeseries.proto', 'dgw/counter.proto', 'dgw/namespace.proto'];

/**
 * proto-loader options the server uses. `defaults: true` makes implicit-presence scalars
 * arrive as their zero value (so `""` for a missing string, as the proto3 JSON parser
 * would read it); explicit-presence fields (`optional`, oneof members, messages) stay
 * absent when unset, which {@link messageToJson} relies on.
 */
export const SERVER_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  bytes: String,
  defaults: true,
  arrays: true,
  oneofs: false,
  includeDirs: [PROTO_DIR],
};

/** The loaded protos: the grpc-js service definitions and the protobufjs reflection root. */
export interface DgwProtos {
  readonly definition: protoLoader.PackageDefinition;
  readonly root: protobuf.Root;
}

/** Loads proto/dgw/*.proto for serving (synchronously; once per server). */
export function loadDgwProtos(options: protoLoader.Options = SERVER_LOADER_OPTIONS): DgwProtos {
  const definition = protoLoader.loadSync([...PROTO_FILES], options);
  const root = new protobuf.Root();
  // google/protobuf/*.proto are bundled with protobufjs; everything else is under PROTO_DIR.
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') ? target : join(PROTO_DIR, target));
  root.loadSync([...PROTO_FILES], { keepCase: false });
  root.resolveAll();
  return { definition, root };
}

/** The request and response types of a service method, by reflection. */
export function methodTypes(root: protobuf.Root, service: string, method: string): { request: protobuf.Type; response: protobuf.Type } {
  const m = root.lookupService(service).methods[method];
  if (!m) throw new Error(`no method ${service}.${method} in the protos`);
  m.resolve();
  if (!m.resolvedRequestType || !m.resolvedResponseType) throw new Error(`unresolved types of ${service}.${method}`);
  return { request: m.resolvedRequestType, response: m.resolvedResponseType };
}

const TIMESTAMP = '.google.protobuf.Timestamp';
const DURATION = '.google.protobuf.Duration';
const STRUCT = '.google.protobuf.Struct';

/** Converts a message object as grpc-js delivers it to its proto3 JSON object. */
export function messageToJson(type: protobuf.Type, message: unknown): JsonObject {
  const out: JsonObject = {};
  if (typeof message !== 'object' || message === null) return out;
  const source = message as JsonObject;
  for (const field of type.fieldsArray) {
    const value = source[field.name];
    if (value === undefined || value === null) continue;
    if (field.repeated && Array.isArray(value)) {
      out[field.name] = value.map((v) => valueToJson(field, v)).filter((v) => v !== undefined);
      continue;
    }
    const converted = valueToJson(field, value);
    if (converted !== undefined) out[field.name] = converted;
  }
  return out;
}

function valueToJson(field: protobuf.Field, value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) {
    if (rt.fullName === TIMESTAMP) return timestampToJson(value);
    if (rt.fullName === DURATION) return durationToJson(value);
    if (rt.fullName === STRUCT) return structToJson(value);
    return messageToJson(rt, value);
  }
  // The zero enum value is "unspecified": absent, so the decoder applies its default.
  if (rt instanceof protobuf.Enum && (value === 0 || rt.values[String(value)] === 0)) return undefined;
  return value;
}

function secondsAndNanos(value: unknown): { seconds: number; nanos: number } {
  const o = (typeof value === 'object' && value !== null ? value : {}) as { seconds?: unknown; nanos?: unknown };
  return { seconds: Number(o.seconds ?? 0), nanos: Number(o.nanos ?? 0) };
}

/**
 * Timestamp → RFC 3339 with microseconds (digits below the microsecond are truncated, as
 * the JSON API does). Out-of-range values become text the timestamp decoder refuses, so
 * the error still names the field.
 */
function timestampToJson(value: unknown): string {
  const { seconds, nanos } = secondsAndNanos(value);
  const invalid = `Timestamp{seconds:${String(seconds)},nanos:${String(nanos)}}`;
  if (!Number.isSafeInteger(seconds) || !Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) return invalid;
  const micros = seconds * 1_000_000 + Math.floor(nanos / 1000);
  if (!Number.isSafeInteger(micros)) return invalid;
  try {
    return formatTimestampMicros(micros);
  } catch {
    return invalid; // beyond what Date can represent
  }
}

/** Duration → "Nus" (a negative one stays negative, which the duration decoder refuses). */
function durationToJson(value: unknown): string {
  const { seconds, nanos } = secondsAndNanos(value);
  const micros = seconds * 1_000_000 + Math.trunc(nanos / 1000);
  return Number.isFinite(micros) ? `${micros}us` : `${String(seconds)}s`;
}

/** A google.protobuf.Struct message object → the JSON object it stands for (its proto3 JSON form). */
function structToJson(value: unknown): JsonObject {
  const fields = (value as { fields?: Record<string, unknown> } | null)?.fields ?? {};
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(fields)) out[key] = protoValueToJson(v);
  return out;
}

function protoValueToJson(value: unknown): unknown {
  const v = (value ?? {}) as Record<string, unknown>;
  if (v['structValue'] !== undefined && v['structValue'] !== null) return structToJson(v['structValue']);
  if (v['listValue'] !== undefined && v['listValue'] !== null) {
    const values = (v['listValue'] as { values?: unknown[] }).values ?? [];
    return values.map(protoValueToJson);
  }
  if (v['stringValue'] !== undefined && v['stringValue'] !== null) return v['stringValue'];
  if (v['numberValue'] !== undefined && v['numberValue'] !== null) return v['numberValue'];
  if (v['boolValue'] !== undefined && v['boolValue'] !== null) return v['boolValue'];
  return null;
}

/** A JSON value → a google.protobuf.Value message object. */
function jsonToProtoValue(value: unknown): Record<string, unknown> {
  if (value === null || value === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'number') return { numberValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (Array.isArray(value)) return { listValue: { values: value.map(jsonToProtoValue) } };
  return { structValue: jsonToStruct(value) };
}

function jsonToStruct(value: unknown): { fields: Record<string, unknown> } {
  const fields: Record<string, unknown> = {};
  if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) fields[k] = jsonToProtoValue(v);
  return { fields };
}

/** Converts a proto3 JSON object (as the wire encoders produce) to a message object for grpc-js. */
export function jsonToMessage(type: protobuf.Type, json: unknown): JsonObject {
  const out: JsonObject = {};
  if (typeof json !== 'object' || json === null) return out;
  for (const [key, value] of Object.entries(json as JsonObject)) {
    const field = type.fields[key];
    if (!field || value === undefined || value === null) continue;
    out[key] = field.repeated && Array.isArray(value) ? value.map((v) => valueToMessage(field, v)) : valueToMessage(field, value);
  }
  return out;
}

function valueToMessage(field: protobuf.Field, value: unknown): unknown {
  const rt = field.resolvedType;
  if (!(rt instanceof protobuf.Type)) return value;
  if (rt.fullName === STRUCT) return jsonToStruct(value);
  if (rt.fullName === TIMESTAMP && typeof value === 'string') {
    const micros = parseTimestampMicros(value);
    if (micros === undefined) throw new Error(`cannot encode timestamp "${value}"`);
    const seconds = Math.floor(micros / 1_000_000);
    return { seconds: String(seconds), nanos: (micros - seconds * 1_000_000) * 1000 };
  }
  return jsonToMessage(rt, value);
}
