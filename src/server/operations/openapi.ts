/**
 * The OpenAPI 3.1 document of the HTTP API, built from the operation table and the protos
 * (issue 10, item 1). Decision: the .proto files are the source of truth for messages;
 * the HTTP API takes and gives their proto3 JSON mapping, so every request and response
 * schema here is derived from the proto message by reflection (lowerCamelCase names; int64
 * as a decimal string, or a number on input; Timestamp as RFC 3339; Duration as text;
 * bytes as base64; enums by name; Struct as an object). Paths, methods, statuses and
 * summaries come from the table. Served at /openapi.json and checked in as openapi.json
 * (test/e2e/openapi.http.test.ts fails when they differ, and validates both).
 */
import protobuf from 'protobufjs';
import { loadDgwProtos, methodTypes } from '../grpc/proto-json.js';
import type { Operation } from './operation.js';
import { OPERATIONS } from './table.js';

type Schema = Record<string, unknown>;

const SCALARS: Record<string, Schema> = {
  double: { type: 'number' },
  float: { type: 'number' },
  int32: { type: 'integer', format: 'int32' },
  uint32: { type: 'integer', format: 'int32', minimum: 0 },
  sint32: { type: 'integer', format: 'int32' },
  fixed32: { type: 'integer', format: 'int32', minimum: 0 },
  sfixed32: { type: 'integer', format: 'int32' },
  bool: { type: 'boolean' },
  string: { type: 'string' },
  bytes: { type: 'string', contentEncoding: 'base64' },
};
const INT64 = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT64_SCHEMA: Schema = {
  type: ['string', 'integer'],
  pattern: '^-?[0-9]+$',
  description: 'int64: a decimal string (answers always are), or a JSON number on input',
};
const WELL_KNOWN: Record<string, Schema> = {
  '.google.protobuf.Timestamp': { type: 'string', format: 'date-time', description: 'RFC 3339' },
  '.google.protobuf.Duration': { type: 'string', description: 'a duration, e.g. "1.5s", "250ms", "100000us"' },
  '.google.protobuf.Struct': { type: 'object' },
};

const ERROR_SCHEMA: Schema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'string', description: 'the gRPC status name, e.g. INVALID_ARGUMENT' },
        message: { type: 'string', description: 'what went wrong and where (the field)' },
        details: { type: 'array', items: { type: 'object' } },
      },
    },
  },
};

/** JSON Schemas of proto messages, collected into `components.schemas` by name. */
class SchemaBuilder {
  readonly schemas: Record<string, Schema> = {};

  /** A reference to the schema of `type` (built on first use). */
  ref(type: protobuf.Type): Schema {
    const known = WELL_KNOWN[type.fullName];
    if (known) return known;
    if (!(type.name in this.schemas)) {
      this.schemas[type.name] = {}; // placeholder: recursive messages (SearchQuery) refer to themselves
      this.schemas[type.name] = this.message(type);
    }
    return { $ref: `#/components/schemas/${type.name}` };
  }

  private message(type: protobuf.Type): Schema {
    const properties: Record<string, Schema> = {};
    for (const field of type.fieldsArray) {
      field.resolve();
      const value = this.field(field);
      const comment = field.comment ?? undefined;
      const withDoc = comment ? { ...value, description: comment } : value;
      properties[field.name] = field.repeated ? { type: 'array', items: value, ...(comment ? { description: comment } : {}) } : withDoc;
    }
    const comment = type.comment ?? undefined;
    return { type: 'object', ...(comment ? { description: comment } : {}), properties };
  }

  private field(field: protobuf.Field): Schema {
    if (field instanceof protobuf.MapField) {
      return { type: 'object', additionalProperties: this.valueOf(field.type, field.resolvedType) };
    }
    return this.valueOf(field.type, field.resolvedType);
  }

  private valueOf(typeName: string, resolved: protobuf.Type | protobuf.Enum | null): Schema {
    if (resolved instanceof protobuf.Type) return this.ref(resolved);
    if (resolved instanceof protobuf.Enum) return { type: 'string', enum: Object.keys(resolved.values) };
    if (INT64.has(typeName)) return INT64_SCHEMA;
    return SCALARS[typeName] ?? {};
  }
}

/** `/v1/timeseries/namespaces/:ns` → `/v1/timeseries/namespaces/{namespace}`. */
function openApiPath(url: string): string {
  return url.replace(':ns', '{namespace}');
}

function operationObject(op: Operation, url: string, fixed: Record<string, unknown> | undefined, schemas: SchemaBuilder, root: protobuf.Root): Schema {
  const types = methodTypes(root, op.grpcService, op.name);
  const suffix = typeof fixed?.['kind'] === 'string' ? `_${fixed['kind']}` : '';
  const ok: Schema = { description: 'Success', content: { 'application/json': { schema: schemas.ref(types.response) } } };
  const responses: Record<string, Schema> = { [String(op.http.status)]: ok };
  if (op.name === 'PutNamespace') responses['201'] = { ...ok, description: 'Created' };
  responses['default'] = { description: 'Error (status from the gRPC code, docs/grpc.md)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const out: Schema = {
    operationId: `${op.name}${suffix}`,
    summary: op.summary,
    tags: [op.grpcService.replace(/^dgw\.v1\./, '')],
    responses,
  };
  if (url.includes(':ns')) out['parameters'] = [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string' } }];
  if (op.http.input === 'body') {
    out['requestBody'] = { required: true, content: { 'application/json': { schema: schemas.ref(types.request) } } };
  } else if (op.http.input === 'document') {
    out['requestBody'] = {
      required: false,
      description: 'The namespace document (DESIGN 3.1, 4.1); JSON with comments and trailing commas accepted',
      content: { 'application/json': { schema: { type: 'object' } } },
    };
  }
  return out;
}

/** The OpenAPI 3.1 document of every HTTP operation of the table. */
export function openApiDocument(): Schema {
  const { root } = loadDgwProtos();
  const schemas = new SchemaBuilder();
  const paths: Record<string, Record<string, Schema>> = {};
  for (const op of OPERATIONS) {
    for (const route of op.http.routes) {
      const path = openApiPath(route.url);
      paths[path] ??= {};
      paths[path][op.http.method.toLowerCase()] = operationObject(op, route.url, route.fixed, schemas, root);
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'dgw',
      version: '1',
      description:
        'dgw data gateway: TimeSeries and Counter abstractions. Bodies are the proto3 JSON mapping of proto/dgw/*.proto; ' +
        'the same operations are served over gRPC (dgw.v1.TimeSeriesService, CounterService, NamespaceService).',
    },
    paths,
    components: { schemas: { ...sortKeys(schemas.schemas), Error: ERROR_SCHEMA } },
  };
}

function sortKeys(o: Record<string, Schema>): Record<string, Schema> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
