/**
 * PostgreSQL error translation, the one translator of the PostgreSQL adapter
 * ({@link pgErrorTranslator}, handed to the store wrapper). It says what only this adapter
 * can say well: lost or refused connections (with the server address), a pool that cannot
 * hand out a connection in time, and statement timeouts; everything else by its SQLSTATE
 * ({@link postgresErrors}) or socket code. The adapter's own code sees native errors
 * untouched, so it can test their SQLSTATE (`hasSqlState`).
 */
import { DgwError, type ErrorCode } from '../../kernel/errors.js';
import type pg from 'pg';
import { errorTranslator, socketErrors, type ErrorTranslator, type NativeErrorMeaning, type NativeErrorTable } from '../native-errors.js';

/** SQLSTATE of "relation does not exist": a slice table that was never created or was dropped. */
export const UNDEFINED_TABLE = '42P01';

function nativeCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Whether a native error carries this SQLSTATE. */
export function hasSqlState(err: unknown, sqlstate: string): boolean {
  return nativeCode(err) === sqlstate;
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

const SQLSTATE_REASON: Record<string, string> = {
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

function postgresReason(sqlstate: string): string {
  const words =
    SQLSTATE_REASON[sqlstate] ??
    (sqlstate.startsWith('08') ? 'connection failure' : sqlstate.startsWith('28') ? 'authentication refused' : sqlstate.startsWith('22') ? 'invalid value' : 'error');
  return `${words}, SQLSTATE ${sqlstate}`;
}

/** PostgreSQL errors by SQLSTATE (a five-character code); an unknown SQLSTATE is left undefined (INTERNAL). */
export const postgresErrors: NativeErrorTable = (err) => {
  const sqlstate = nativeCode(err);
  if (sqlstate === undefined || !/^[0-9A-Z]{5}$/.test(sqlstate)) return undefined;
  const code = postgresCode(sqlstate);
  return code === undefined ? undefined : { code, reason: postgresReason(sqlstate) };
};

/** The SQLSTATE and socket tables alone (socket codes first: `EPIPE` is five letters too). */
export const translatePostgresNativeError: ErrorTranslator = errorTranslator(socketErrors, postgresErrors);

/** The meaning of a native error by its code (socket or SQLSTATE), as the tables say. */
function meaningOf(err: unknown): NativeErrorMeaning | undefined {
  return socketErrors(err) ?? postgresErrors(err);
}

// pg reports these without a code: a socket closed under a query, a pool wait that timed out.
const LOST_CONNECTION =
  /connection terminated|connection refused|timeout exceeded when trying to connect|client has encountered a connection error|not queryable|Client was closed|server closed the connection/i;

/**
 * Returns a DgwError for failures of the connection or of time (UNAVAILABLE with the server
 * address, DEADLINE_EXCEEDED for statement timeouts); returns the error unchanged otherwise,
 * for the shared code table to translate with the operation name.
 */
export function translatePgError(err: unknown, address: string, statementTimeoutMs: number | undefined): unknown {
  if (err instanceof DgwError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = nativeCode(err);
  if (code === '57014') {
    const limit = statementTimeoutMs === undefined ? '' : ` (statement timeout ${statementTimeoutMs} ms)`;
    return new DgwError('DEADLINE_EXCEEDED', `PostgreSQL at ${address} did not answer in time${limit}`, {
      cause: err,
      details: [{ reason: code }],
    });
  }
  const meaning = meaningOf(err);
  if ((meaning?.code === 'UNAVAILABLE' && code !== '40001' && code !== '40P01') || (code === undefined && LOST_CONNECTION.test(message))) {
    return new DgwError(
      'UNAVAILABLE',
      `PostgreSQL at ${address} is unavailable (${code === undefined || meaning === undefined ? lostReason(message) : meaning.reason}); the request was not completed, retry later`,
      { cause: err, details: code === undefined ? [] : [{ reason: code }] },
    );
  }
  return err;
}

/** pg's own words for a connection it lost or could not make (no code), shortened. */
function lostReason(message: string): string {
  if (/timeout exceeded when trying to connect/i.test(message)) return 'no connection within the connect timeout';
  if (/connection refused/i.test(message)) return 'connection refused';
  return 'connection lost';
}

/** What the translator says about the server it failed to use. */
export interface PgErrorContext {
  /** "host:port/database", without credentials. */
  address: string;
  statementTimeoutMs: number | undefined;
  /** The adapter's pool: a connection wait that timed out with every connection busy is a slow store. */
  pool: pg.Pool;
}

/** The PostgreSQL adapter's translator. */
export function pgErrorTranslator(ctx: PgErrorContext): ErrorTranslator {
  return (err, where) => {
    if (err instanceof DgwError) return err;
    // A pool wait that timed out while every connection was busy means a slow store, not a
    // down one: DEADLINE_EXCEEDED rather than UNAVAILABLE (callers do not queue unboundedly).
    const max = ctx.pool.options.max ?? 10;
    if (err instanceof Error && /timeout exceeded when trying to connect/i.test(err.message) && ctx.pool.totalCount >= max) {
      return new DgwError(
        'DEADLINE_EXCEEDED',
        `PostgreSQL at ${ctx.address}: all ${max} pooled connections stayed busy past the connection timeout; the store is too slow for the load`,
        { cause: err },
      );
    }
    const translated = translatePgError(err, ctx.address, ctx.statementTimeoutMs);
    return translated instanceof DgwError ? translated : translatePostgresNativeError(translated, where);
  };
}

/** "host:port/database" of a connection string, without credentials, for messages. */
export function describeAddress(url: string | undefined): string {
  if (url === undefined) return 'the configured pool';
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the configured server';
  }
}
