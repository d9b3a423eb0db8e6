/**
 * What the cross-cutting checks (authentication, authorization, load shedding) see of a
 * call, whichever transport carried it (DESIGN 7, 8): the operation, the access it needs,
 * the namespace once known, and its headers (HTTP) or metadata (gRPC). Keeping this
 * transport-agnostic lets HTTP hooks and the gRPC wrapper share one chain.
 */

/** The access an operation needs: a scope kind, or `open` (no token needed). */
export type Access = 'read' | 'write' | 'admin' | 'metrics' | 'open';

/** One call as seen by the guards. */
export interface CallContext {
  /** Operation name, e.g. `WriteEventRecords`, `PutNamespace`, `Metrics`. */
  readonly operation: string;
  /** The access the operation needs. */
  readonly access: Access;
  /** The namespace the call targets; undefined before the body is read or for namespace-less calls. */
  readonly namespace?: string | undefined;
  /** A header (HTTP) or metadata value (gRPC) by lower-case name; the first one when repeated. */
  header(name: string): string | undefined;
}

/**
 * Access per operation. Data-plane names are the gRPC method names (= the HTTP path's last
 * segment). Control-plane calls need `admin`; probes are open (see docs/security.md).
 */
export const OPERATION_ACCESS: Readonly<Record<string, Access>> = {
  WriteEventRecordsSync: 'write',
  WriteEventRecords: 'write',
  ReadEventRecords: 'read',
  SearchEventRecords: 'read',
  AggregateEventRecords: 'read',
  AddCount: 'write',
  AddAndGetCount: 'write',
  ClearCount: 'write',
  GetCount: 'read',
  ReadCounterLog: 'read',
  CompareCounts: 'read',
  // A recount may repair (write) the rollup.
  RecountCount: 'write',
  PutNamespace: 'admin',
  GetNamespace: 'admin',
  ListNamespaces: 'admin',
  DeleteNamespace: 'admin',
  Metrics: 'metrics',
  // GET /v1/status (dgw status, the status page): monitoring, like /metrics.
  Status: 'metrics',
  Healthz: 'open',
  Readyz: 'open',
};

/** The access of an operation; unknown operations need `admin` (fail closed). */
export function accessOf(operation: string): Access {
  return OPERATION_ACCESS[operation] ?? 'admin';
}
