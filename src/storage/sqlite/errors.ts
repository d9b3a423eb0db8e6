/**
 * SQLite error translation, the one translator of the SQLite adapter (handed to the store
 * wrapper): better-sqlite3's `SQLITE_*` codes by primary code (BUSY, LOCKED, IOERR, FULL,
 * CANTOPEN → UNAVAILABLE; INTERRUPT → DEADLINE_EXCEEDED; NOMEM → RESOURCE_EXHAUSTED;
 * corruption and misuse → INTERNAL) and the TypeError of a closed handle, from the shared
 * code table (../native-errors.ts).
 */
import type { DgwError } from '../../kernel/errors.js';
import { toDgwError } from '../native-errors.js';

/** Translates anything the SQLite adapter threw into a DgwError (DgwErrors unchanged). */
export function translateSqliteError(err: unknown, where: string): DgwError {
  return toDgwError(err, where);
}
