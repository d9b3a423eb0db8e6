/**
 * The pragmas of dgw's SQLite database for the bench's own SQLite files (the raw SQLite
 * baseline, the hand-written floors). Imports nothing of dgw, so the floor server stays
 * free of it; the values are copied from storage/sqlite/database.ts.
 */
import Database from 'better-sqlite3';

/**
 * Opens `file` with the pragmas of dgw's SQLite database (storage/sqlite/database.ts: WAL,
 * synchronous=FULL, the same busy timeout, cache and checkpoint sizes): the baselines'
 * and floors' databases, so they pay what dgw's does per commit.
 */
export function openWithDgwPragmas(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -65536');
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('journal_size_limit = 67108864');
  return db;
}
