/**
 * The SDK's wire types, generated from the operation table and the protos (issue 10,
 * item 1: "one description drives ... the SDK's types"). {@link clientWireSource} prints
 * `src/client/wire.gen.ts`: one TypeScript interface per proto message an operation takes
 * or gives (their proto3 JSON mapping, as the HTTP API speaks it), `WireOperations` (each
 * operation's request and response) and `HTTP_ROUTES` (each operation's method and paths,
 * from the table). The file is checked in, so the browser-safe client imports it without
 * protobufjs or any server module; test/unit/client-wire.test.ts fails when it differs
 * from what the protos and the table give now. The client's codec is typed against these
 * types (src/client/codec.ts), so a changed message breaks the client's typecheck.
 *
 * Same reflection as the OpenAPI document (openapi.ts): lowerCamelCase names; int64 as a
 * decimal string (or a number on input); Timestamp as RFC 3339; Duration as text; bytes as
 * base64; enums by name; Struct as an object; every field optional (proto3 presence).
 */
import protobuf from 'protobufjs';
import { loadDgwProtos, methodTypes } from '../grpc/proto-json.js';
import { OPERATIONS } from './table.js';

const SCALARS: Record<string, string> = {
  double: 'number',
  float: 'number',
  int32: 'number',
  uint32: 'number',
  sint32: 'number',
  fixed32: 'number',
  sfixed32: 'number',
  bool: 'boolean',
  string: 'string',
  bytes: 'BytesJson',
  int64: 'Int64Json',
  uint64: 'Int64Json',
  sint64: 'Int64Json',
  fixed64: 'Int64Json',
  sfixed64: 'Int64Json',
};

const WELL_KNOWN: Record<string, string> = {
  '.google.protobuf.Timestamp': 'TimestampJson',
  '.google.protobuf.Duration': 'DurationJson',
  '.google.protobuf.Struct': 'StructJson',
};

const HEADER = `/**
 * GENERATED from proto/dgw/*.proto and the operation table (src/server/operations/) by
 * src/server/operations/client-wire.ts. Do not edit. Regenerate with
 *   DGW_UPDATE_CLIENT_WIRE=1 node --import tsx --test test/unit/client-wire.test.ts
 * (that test fails while this file differs from what the protos and the table give).
 *
 * The proto3 JSON mapping of every operation's request and response, as the HTTP API
 * takes and gives them; the SDK's codec (codec.ts) is typed against these, and its
 * caller-facing types (types.ts) are derived from them.
 */

/** int64: a decimal string (answers always are), or a JSON number on input. */
export type Int64Json = string | number;
/** google.protobuf.Timestamp: RFC 3339 text. */
export type TimestampJson = string;
/** google.protobuf.Duration: text such as "1.5s", "250ms", "100000us". */
export type DurationJson = string;
/** bytes: base64 text. */
export type BytesJson = string;
/** google.protobuf.Struct: any JSON object. */
export type StructJson = { [key: string]: unknown };
`;

/** The TypeScript source of src/client/wire.gen.ts. */
export function clientWireSource(): string {
  const { root } = loadDgwProtos();
  const messages = new Map<string, protobuf.Type>();
  const collect = (type: protobuf.Type): void => {
    if (WELL_KNOWN[type.fullName] || messages.has(type.name)) return;
    const other = [...messages.values()].find((t) => t.name === type.name);
    if (other) throw new Error(`two proto messages named ${type.name}`);
    messages.set(type.name, type);
    for (const field of type.fieldsArray) {
      field.resolve();
      if (field.resolvedType instanceof protobuf.Type) collect(field.resolvedType);
    }
  };
  const operations: string[] = [];
  const routes: string[] = [];
  for (const op of OPERATIONS) {
    const types = methodTypes(root, op.grpcService, op.name);
    collect(types.request);
    collect(types.response);
    operations.push(`  ${op.name}: { request: ${types.request.name}; response: ${types.response.name} };`);
    const paths = op.http.routes.map((r) => `'${r.url.replace(':ns', '{namespace}')}'`).join(', ');
    routes.push(`  ${op.name}: { method: '${op.http.method}', paths: [${paths}] },`);
  }
  const interfaces = [...messages.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(messageSource);
  return [
    HEADER,
    ...interfaces,
    `/** Every operation of the table: its request and response messages. */`,
    `export interface WireOperations {`,
    ...operations,
    `}`,
    ``,
    `/** Every operation's HTTP method and paths (\`{namespace}\`: the namespace name, URL-encoded). */`,
    `export const HTTP_ROUTES = {`,
    ...routes,
    `} as const;`,
    ``,
  ].join('\n');
}

function messageSource(type: protobuf.Type): string {
  const lines = [`/** proto message ${type.fullName.replace(/^\./, '')}. */`, `export interface ${type.name} {`];
  for (const field of type.fieldsArray) {
    const value = fieldType(field);
    lines.push(`  ${field.name}?: ${field.repeated ? `Array<${value}>` : value};`);
  }
  lines.push('}', '');
  return lines.join('\n');
}

function fieldType(field: protobuf.Field): string {
  field.resolve();
  if (field instanceof protobuf.MapField) return `{ [key: string]: ${valueType(field.type, field.resolvedType)} }`;
  return valueType(field.type, field.resolvedType);
}

function valueType(typeName: string, resolved: protobuf.Type | protobuf.Enum | null): string {
  if (resolved instanceof protobuf.Type) return WELL_KNOWN[resolved.fullName] ?? resolved.name;
  if (resolved instanceof protobuf.Enum) return Object.keys(resolved.values).map((v) => `'${v}'`).join(' | ');
  const scalar = SCALARS[typeName];
  if (scalar === undefined) throw new Error(`no TypeScript type for proto type ${typeName}`);
  return scalar;
}
