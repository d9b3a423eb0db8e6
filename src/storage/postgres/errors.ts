/**
 * PostgreSQL error translation, the one translator of the PostgreSQL adapter
 * ({@link pgErrorTranslator}, handed to the store wrapper). It says what only this adapter
 * can say well: lost or refused connections (with the server address), a pool that cannot
 * hand out a connection in time, and statement timeouts; everything the shared code table
 * (`../native-errors.ts`) knows by SQLSTATE or socket code is left to it. The adapter's own
 * code sees native errors untouched, so it can test their SQLSTATE (`hasSqlState`).
 */
import { DgwError } from '../../kernel/errors.js';
import type pg from 'pg';
import { codeForNativeError, nativeReason, toDgwError, type ErrorTranslator } from '../native-errors.js';

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
  const mapped = codeForNativeError(err);
  if ((mapped === 'UNAVAILABLE' && code !== '40001' && code !== '40P01') || (code === undefined && LOST_CONNECTION.test(message))) {
    return new DgwError(
      'UNAVAILABLE',
      `PostgreSQL at ${address} is unavailable (${code === undefined ? lostReason(message) : nativeReason(err)}); the request was not completed, retry later`,
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
    return translated instanceof DgwError ? translated : toDgwError(translated, where);
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
