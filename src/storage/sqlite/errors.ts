/**
 * SQLite error translation, the one translator of the SQLite adapter (handed to the store
 * wrapper): better-sqlite3's `SQLITE_*` codes by primary code (BUSY, LOCKED, IOERR, FULL,
 * CANTOPEN → UNAVAILABLE; INTERRUPT → DEADLINE_EXCEEDED; NOMEM → RESOURCE_EXHAUSTED;
 * corruption and misuse → INTERNAL) and the TypeError of a closed handle.
 */
import { errorTranslator, nativeCodeOf, type ErrorTranslator, type NativeErrorMeaning, type NativeErrorTable } from '../native-errors.js';

/** Meanings by primary code; any other `SQLITE_*` code (CORRUPT, NOTADB, CONSTRAINT, MISUSE, SCHEMA...) is a bug or a damaged file: INTERNAL. */
const SQLITE_ERRORS: Record<string, NativeErrorMeaning> = {
  SQLITE_BUSY: { code: 'UNAVAILABLE', reason: 'database busy' },
  SQLITE_LOCKED: { code: 'UNAVAILABLE', reason: 'table locked' },
  SQLITE_IOERR: { code: 'UNAVAILABLE', reason: 'disk I/O error' },
  SQLITE_FULL: { code: 'UNAVAILABLE', reason: 'disk full' },
  SQLITE_CANTOPEN: { code: 'UNAVAILABLE', reason: 'cannot open the database file' },
  SQLITE_READONLY: { code: 'UNAVAILABLE', reason: 'database is read-only' },
  SQLITE_PROTOCOL: { code: 'UNAVAILABLE', reason: 'locking protocol error' },
  SQLITE_NOLFS: { code: 'UNAVAILABLE', reason: 'file too large for this system' },
  SQLITE_TOOBIG: { code: 'INVALID_ARGUMENT', reason: 'value too big' },
  SQLITE_NOMEM: { code: 'RESOURCE_EXHAUSTED', reason: 'out of memory' },
  SQLITE_INTERRUPT: { code: 'DEADLINE_EXCEEDED', reason: 'interrupted' },
};

/** better-sqlite3's errors: `SQLITE_*` codes, and a closed handle or missing directory (a TypeError). */
export const sqliteErrors: NativeErrorTable = (err) => {
  const code = nativeCodeOf(err);
  if (code?.startsWith('SQLITE_')) return SQLITE_ERRORS[code.replace(/^(SQLITE_[A-Z]+).*$/, '$1')];
  if (err instanceof TypeError && /database connection is not open/i.test(err.message)) return { code: 'UNAVAILABLE', reason: 'database connection is closed' };
  if (err instanceof TypeError && /cannot open database/i.test(err.message)) return { code: 'UNAVAILABLE', reason: 'cannot open the database file' };
  return undefined;
};

/** Translates anything the SQLite adapter threw into a DgwError (DgwErrors unchanged). */
export const translateSqliteError: ErrorTranslator = errorTranslator(sqliteErrors);
