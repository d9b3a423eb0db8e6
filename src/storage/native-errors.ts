/**
 * The one place where native driver errors become DgwError (STYLE: adapters translate
 * native errors in exactly one place). Covers SQLite (better-sqlite3 `SQLITE_*` codes),
 * PostgreSQL (SQLSTATE codes) and Node socket errors, so every adapter shares it through
 * the guarded store wrapper.
 */
import { DgwError, isDgwError, type ErrorCode } from '../core/errors.js';

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
  if (sqlstate.startsWith('08') || sqlstate === '57P01' || sqlstate === '57P02' || sqlstate === '57P03') {
    return 'UNAVAILABLE';
  }
  if (sqlstate === '40001' || sqlstate === '40P01') return 'UNAVAILABLE';
  if (sqlstate === '57014') return 'DEADLINE_EXCEEDED';
  if (sqlstate.startsWith('53')) return 'RESOURCE_EXHAUSTED';
  if (sqlstate.startsWith('22')) return 'INVALID_ARGUMENT';
  return undefined;
}

/** The DgwError code a native error maps to (INTERNAL when unknown). */
export function codeForNativeError(err: unknown): ErrorCode {
  if (isDgwError(err)) return err.code;
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

/**
 * Translates any error thrown by an adapter into a DgwError; DgwErrors pass through unchanged.
 * `where` names the store and operation (`sqlite.events.appendEvents`) for the message.
 */
export function toDgwError(err: unknown, where: string): DgwError {
  if (isDgwError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  const nativeCode = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return new DgwError(codeForNativeError(err), `${where}: ${message}`, {
    details: typeof nativeCode === 'string' ? [{ reason: nativeCode }] : [],
    cause: err,
  });
}
