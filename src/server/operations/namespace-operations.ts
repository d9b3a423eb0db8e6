/**
 * The control-plane operations (proto/dgw/namespace.proto, DESIGN 2, 3.1, 4.1): put, get,
 * list and delete TimeSeries and Counter namespaces. Over HTTP the kind is in the path
 * (`/v1/{kind}/namespaces/{namespace}`) and the document is the body; over gRPC both are
 * fields of the request.
 */
import { invalidArgument, notFound } from '../../kernel/errors.js';
import { formatTimestampMicros } from '../../kernel/time.js';
import type { NamespaceKind, NamespaceRecord } from '../../domain/namespaces.js';
import type { JsonObject, Operation } from './operation.js';

/** Full name of the namespace gRPC service. */
export const NAMESPACE_SERVICE = 'dgw.v1.NamespaceService';

const KINDS: readonly NamespaceKind[] = ['timeseries', 'counter'];

function kindOf(input: JsonObject): NamespaceKind {
  const kind = input['kind'];
  if (kind === 'timeseries' || kind === 'counter') return kind;
  throw invalidArgument('kind', `must be "timeseries" or "counter"${kind === undefined || kind === '' ? ' (is required)' : ''}`);
}

function nameOf(input: JsonObject): string {
  const ns = input['namespace'];
  if (typeof ns !== 'string' || ns.length === 0) throw invalidArgument('namespace', 'is required (a non-empty string)');
  return ns;
}

/** A stored namespace as answered (HTTP body, and the proto3 JSON of dgw.v1.Namespace). */
export function namespaceView(record: NamespaceRecord): JsonObject {
  return {
    namespace: record.name,
    kind: record.kind,
    version: record.version,
    updatedAt: formatTimestampMicros(record.updatedAtMicros),
    config: record.config,
  };
}

/** One route per kind, the kind fixed by the route. */
const perKind = (suffix: string) => KINDS.map((kind) => ({ url: `/v1/${kind}/namespaces${suffix}`, fixed: { kind } }));

/** PutNamespace, GetNamespace, ListNamespaces, DeleteNamespace. */
export const NAMESPACE_OPERATIONS: readonly Operation[] = [
  {
    name: 'PutNamespace',
    grpcService: NAMESPACE_SERVICE,
    http: { method: 'PUT', routes: perKind('/:ns'), status: 200, input: 'document' },
    plane: 'control',
    summary: 'Creates (201) or replaces (200) a namespace from its document; notices say what was mapped or ignored.',
    async run(deps, input) {
      const kind = kindOf(input);
      const name = nameOf(input);
      const document = input['document'] ?? {};
      const r = kind === 'timeseries' ? await deps.namespaces.putTimeSeries(name, document) : await deps.namespaces.putCounter(name, document);
      return { body: { ...namespaceView(r.record), notices: r.notices }, created: r.created };
    },
  },
  {
    name: 'GetNamespace',
    grpcService: NAMESPACE_SERVICE,
    http: { method: 'GET', routes: perKind('/:ns'), status: 200, input: 'none' },
    plane: 'control',
    summary: 'The stored canonical configuration of a namespace.',
    async run(deps, input) {
      const kind = kindOf(input);
      const name = nameOf(input);
      // Through the manager first: NOT_FOUND, or FAILED_PRECONDITION when it is of the other kind.
      if (kind === 'timeseries') await deps.namespaces.getTimeSeries(name);
      else await deps.namespaces.getCounter(name);
      const record = await deps.registry.get(kind, name);
      if (!record) throw notFound(`namespace "${name}" not found`);
      return { body: namespaceView(record) };
    },
  },
  {
    name: 'ListNamespaces',
    grpcService: NAMESPACE_SERVICE,
    http: { method: 'GET', routes: perKind(''), status: 200, input: 'none' },
    plane: 'control',
    summary: 'Every namespace of a kind, by name.',
    async run(deps, input) {
      return { body: { namespaces: (await deps.namespaces.list(kindOf(input))).map(namespaceView) } };
    },
  },
  {
    name: 'DeleteNamespace',
    grpcService: NAMESPACE_SERVICE,
    http: { method: 'DELETE', routes: perKind('/:ns'), status: 200, input: 'none' },
    plane: 'control',
    summary: 'Deletes a namespace and everything it holds.',
    async run(deps, input) {
      await deps.namespaces.delete(kindOf(input), nameOf(input));
      return { body: {} };
    },
  },
];
