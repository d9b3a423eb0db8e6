/**
 * The code table of native driver errors: SQLite (better-sqlite3 `SQLITE_*` codes),
 * PostgreSQL (SQLSTATE codes), the Cassandra driver (by error name and CQL code) and Node
 * socket errors, to DgwError codes and to words a
 * client may read. Each adapter's translator (`<adapter>/errors.ts`, handed to the store
 * wrapper, store-wrapper.ts) adds what only it can say and ends here with
 * {@link toDgwError}; a call's failure is translated exactly once, by that translator.
 */
import { DgwError, isDgwError, type ErrorCode } from '../kernel/errors.js';

const SOCKET_UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'NR_CLOSED',
]);

function sqliteCode(code: string): ErrorCode {
  const primary = code.replace(/^(SQLITE_[A-Z]+).*$/, '$1');
  switch (primary) {
    case 'SQLITE_BUSY':
    case 'SQLITE_LOCKED':
    case 'SQLITE_IOERR':
    case 'SQLITE_FULL':
    case 'SQLITE_CANTOPEN':
    case 'SQLITE_READONLY':
    case 'SQLITE_PROTOCOL':
    case 'SQLITE_NOLFS':
      return 'UNAVAILABLE';
    case 'SQLITE_TOOBIG':
      return 'INVALID_ARGUMENT';
    case 'SQLITE_NOMEM':
      return 'RESOURCE_EXHAUSTED';
    case 'SQLITE_INTERRUPT':
      return 'DEADLINE_EXCEEDED';
    default:
      // CORRUPT, NOTADB, CONSTRAINT, MISUSE, SCHEMA...: a bug or damaged file, not retryable.
      return 'INTERNAL';
  }
}

function postgresCode(sqlstate: string): ErrorCode | undefined {
  if (sqlstate === '57014') return 'DEADLINE_EXCEEDED';
  // The server refusing work: connection failures (08), shutting down, crashed, starting
  // or dropped (57P0x), out of a resource (53: disk, memory, connections), not accepting
  // connections or objects busy (55, e.g. ALLOW_CONNECTIONS false), refused credentials
  // (28) or no such database (3D000). All are the store's state, not the request's fault:
  // 503, retry later.
  if (sqlstate.startsWith('08') || sqlstate.startsWith('57P') || sqlstate.startsWith('53') || sqlstate.startsWith('55')) return 'UNAVAILABLE';
  if (sqlstate.startsWith('28') || sqlstate === '3D000') return 'UNAVAILABLE';
  // A read-only server (a standby, default_transaction_read_only): writes cannot work now.
  if (sqlstate === '25006') return 'UNAVAILABLE';
  if (sqlstate === '40001' || sqlstate === '40P01') return 'UNAVAILABLE';
  if (sqlstate.startsWith('22')) return 'INVALID_ARGUMENT';
  return undefined;
}

const SQLITE_REASON: Record<string, string> = {
  SQLITE_BUSY: 'database busy',
  SQLITE_LOCKED: 'table locked',
  SQLITE_IOERR: 'disk I/O error',
  SQLITE_FULL: 'disk full',
  SQLITE_CANTOPEN: 'cannot open the database file',
  SQLITE_READONLY: 'database is read-only',
  SQLITE_PROTOCOL: 'locking protocol error',
  SQLITE_NOLFS: 'file too large for this system',
  SQLITE_TOOBIG: 'value too big',
  SQLITE_NOMEM: 'out of memory',
  SQLITE_INTERRUPT: 'interrupted',
};

const SOCKET_REASON: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ENOTFOUND: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EAI_AGAIN: 'name lookup failed',
  NR_CLOSED: 'connection closed',
  ETIMEDOUT: 'connection timed out',
};

function postgresReason(sqlstate: string): string {
  const known: Record<string, string> = {
    '57P01': 'connection terminated by the server (shutdown or administrator)',
    '57P02': 'server crashed',
    '57P03': 'server not accepting connections yet (starting or in recovery)',
    '57P04': 'database dropped',
    '55000': 'database not accepting connections or not in the required state',
    '55006': 'object in use',
    '55P03': 'lock not available',
    '53100': 'disk full',
    '53200': 'out of memory',
    '53300': 'too many connections',
    '53400': 'configuration limit exceeded',
    '3D000': 'database does not exist',
    '25006': 'database is read-only',
    '40001': 'serialization failure',
    '40P01': 'deadlock detected',
    '57014': 'statement cancelled (timeout)',
  };
  const words =
    known[sqlstate] ??
    (sqlstate.startsWith('08') ? 'connection failure' : sqlstate.startsWith('28') ? 'authentication refused' : sqlstate.startsWith('22') ? 'invalid value' : 'error');
  return `${words}, SQLSTATE ${sqlstate}`;
}

/**
 * Cassandra driver errors. A replica set without quorum (Unavailable), replicas or a
 * coordinator not answering in time (read/write timeouts, the client's own timeout), no
 * reachable node, an overloaded or bootstrapping node: UNAVAILABLE, retryable, since dgw's
 * Cassandra writes are idempotent. Auth failures keep their meaning; invalid CQL is a bug.
 */
const CASSANDRA_ERRORS: Record<number, { code: ErrorCode; reason: string }> = {
  0x0100: { code: 'UNAUTHENTICATED', reason: 'Cassandra refused the credentials' },
  0x2100: { code: 'PERMISSION_DENIED', reason: 'Cassandra refused the operation (unauthorized)' },
  0x1000: { code: 'UNAVAILABLE', reason: 'Cassandra: not enough live replicas for the consistency level' },
  0x1001: { code: 'UNAVAILABLE', reason: 'Cassandra: coordinator overloaded' },
  0x1002: { code: 'UNAVAILABLE', reason: 'Cassandra: node is bootstrapping' },
  0x1100: { code: 'UNAVAILABLE', reason: 'Cassandra: replicas did not acknowledge the write in time' },
  0x1200: { code: 'UNAVAILABLE', reason: 'Cassandra: replicas did not answer the read in time' },
  0x1300: { code: 'UNAVAILABLE', reason: 'Cassandra: read failed on replicas' },
  0x1500: { code: 'UNAVAILABLE', reason: 'Cassandra: write failed on replicas' },
  0x1700: { code: 'UNAVAILABLE', reason: 'Cassandra: lightweight transaction outcome unknown' },
};
const CASSANDRA_CLIENT_ERRORS: Record<string, { code: ErrorCode; reason: string }> = {
  NoHostAvailableError: { code: 'UNAVAILABLE', reason: 'Cassandra: no node could serve the request' },
  OperationTimedOutError: { code: 'UNAVAILABLE', reason: 'Cassandra: the node did not answer in time' },
  BusyConnectionError: { code: 'UNAVAILABLE', reason: 'Cassandra: every connection is busy' },
  AuthenticationError: { code: 'UNAUTHENTICATED', reason: 'Cassandra refused the credentials' },
};

/** The code and reason of a Cassandra driver error, or undefined for other errors. */
function cassandraError(err: unknown): { code: ErrorCode; reason: string } | undefined {
  if (!(err instanceof Error)) return undefined;
  const known = CASSANDRA_CLIENT_ERRORS[err.name];
  if (known) return known;
  if (err.name !== 'ResponseError') return undefined;
  const code = (err as { code?: unknown }).code;
  return (typeof code === 'number' ? CASSANDRA_ERRORS[code] : undefined) ?? { code: 'INTERNAL', reason: 'Cassandra error' };
}

/**
 * A short reason for a native error built from its code alone: the words a client may
 * read. Driver messages may quote SQL, values or file paths, so they stay in the cause
 * (server logs) and never become a client-visible message.
 */
export function nativeReason(err: unknown): string {
  const cassandra = cassandraError(err);
  if (cassandra) return cassandra.reason;
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code === 'string') {
    if (code.startsWith('SQLITE_')) return SQLITE_REASON[code.replace(/^(SQLITE_[A-Z]+).*$/, '$1')] ?? `database error ${code}`;
    const socket = SOCKET_REASON[code];
    if (socket !== undefined) return socket;
    if (/^[0-9A-Z]{5}$/.test(code)) return postgresReason(code);
  }
  if (err instanceof TypeError && /database connection is not open/i.test(err.message)) return 'database connection is closed';
  if (err instanceof TypeError && /cannot open database/i.test(err.message)) return 'cannot open the database file';
  return 'store error';
}

/** The DgwError code a native error maps to (INTERNAL when unknown). */
export function codeForNativeError(err: unknown): ErrorCode {
  if (isDgwError(err)) return err.code;
  const cassandra = cassandraError(err);
  if (cassandra) return cassandra.code;
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code === 'string') {
    if (code.startsWith('SQLITE_')) return sqliteCode(code);
    if (SOCKET_UNAVAILABLE.has(code)) return 'UNAVAILABLE';
    if (code === 'ETIMEDOUT') return 'DEADLINE_EXCEEDED';
    if (/^[0-9A-Z]{5}$/.test(code)) {
      const mapped = postgresCode(code);
      if (mapped) return mapped;
    }
  }
  // better-sqlite3 reports a closed handle or a missing directory as TypeError.
  if (err instanceof TypeError && /database connection is not open|cannot open database/i.test(err.message)) {
    return 'UNAVAILABLE';
  }
  return 'INTERNAL';
}

/** Turns anything an adapter threw into a DgwError; `where` names the store and call. */
export type ErrorTranslator = (err: unknown, where: string) => DgwError;

/**
 * Translates any error thrown by an adapter into a DgwError; DgwErrors pass through unchanged.
 * `where` names the store and operation (`sqlite.events.appendEvents`) for the message.
 */
export function toDgwError(err: unknown, where: string): DgwError {
  if (isDgwError(err)) return err;
  const code = codeForNativeError(err);
  // INTERNAL messages are never sent (the HTTP and gRPC layers answer a bare "internal
  // error"), so they keep the driver's words for the log; every other code reaches the
  // client and says only what the native code means.
  const message = code === 'INTERNAL' ? (err instanceof Error ? err.message : String(err)) : nativeReason(err);
  const nativeCode = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return new DgwError(code, `${where}: ${message}`, {
    details: typeof nativeCode === 'string' ? [{ reason: nativeCode }] : [],
    cause: err,
  });
}
