/**
 * The rows of one `appendEvents` call, checked and flattened, and the one function that
 * writes them: used inline by the event store (`:memory:` databases) and by the writer
 * thread (append-writer-thread.ts) on its own connection, so both paths run the same SQL.
 * The caller owns the transaction: events, index documents and outbox rows of a call
 * always commit together (events and index agree after a crash).
 */
import type { IndexDoc } from '../contracts.js';
import { encodeOutboxDoc } from '../index-outbox.js';
import type { SqliteDatabase } from './database.js';
import type { SqliteIndexStore } from './index-store.js';

/** Bound parameters per stored row (value_metadata is NULL). */
export const COLUMNS = 7;
/** Rows per multi-row INSERT (COLUMNS * CHUNK = 448 parameters, far below SQLite's limit). */
const CHUNK = 64;

/**
 * What one append writes, plain data (it crosses to the writer thread by structured clone):
 * per slice table the flattened bind parameters of its rows, COLUMNS per row in table
 * order; the index documents for this database's index; the outbox documents.
 */
export interface AppendRows {
  tables: [table: string, params: unknown[]][];
  docs: readonly IndexDoc[];
  outbox: readonly IndexDoc[];
}

/** `INSERT OR IGNORE` of `rows` rows into a slice table. */
function insertSql(table: string, rows: number): string {
  return `INSERT OR IGNORE INTO "${table}" VALUES ${'(?, ?, ?, ?, ?, ?, ?, NULL), '.repeat(rows - 1)}(?, ?, ?, ?, ?, ?, ?, NULL)`;
}

/** Tables whose statement texts are kept; past it the memo starts over (slices roll over). */
const MEMO_TABLES = 64;
/** Per table, its INSERT texts by log2 of the row count. */
const insertTexts = new Map<string, string[]>();

/**
 * The statement text for `size` (a power of two up to CHUNK) rows, the same string object
 * each time: the statement cache then finds it without building and hashing a text of up
 * to ~2 KB per commit (issue 9).
 */
function insertText(table: string, size: number): string {
  let texts = insertTexts.get(table);
  if (texts === undefined) {
    if (insertTexts.size >= MEMO_TABLES) insertTexts.clear();
    insertTexts.set(table, (texts = []));
  }
  const i = Math.log2(size);
  return (texts[i] ??= insertSql(table, size));
}

/**
 * INSERT OR IGNOREs flattened rows into `table`: CHUNK rows per statement, then the tail
 * in power-of-two pieces, so each table needs at most log2(CHUNK) + 1 cached statements.
 * Returns how many rows were inserted (ignored ones, already there, are not).
 */
function insertRows(sql: SqliteDatabase, table: string, params: unknown[]): number {
  const rows = params.length / COLUMNS;
  let row = 0;
  let inserted = 0;
  for (let size = CHUNK; size >= 1; size >>= 1) {
    if (rows - row < size) continue;
    const insert = sql.stmt(insertText(table, size));
    for (; row + size <= rows; row += size) {
      inserted += insert.run(row === 0 && size === rows ? params : params.slice(row * COLUMNS, (row + size) * COLUMNS)).changes;
    }
  }
  return inserted;
}

/**
 * Writes `rows` on `sql` inside the caller's transaction (first write of an item wins;
 * an outbox entry already there is kept). `index` must be the index store of the same
 * connection when `rows.docs` is not empty. Returns whether every event row was newly
 * inserted (none was an idempotent no-op): `changes()` of each INSERT OR IGNORE counts
 * only the rows it inserted (contracts.ts AppendResult.allNew).
 */
export function writeAppendRows(sql: SqliteDatabase, index: SqliteIndexStore | undefined, rows: AppendRows): boolean {
  let allNew = true;
  for (const [table, params] of rows.tables) if (insertRows(sql, table, params) !== params.length / COLUMNS) allNew = false;
  if (rows.docs.length > 0) index?.indexNow(rows.docs);
  if (rows.outbox.length > 0) {
    const insert = sql.stmt('INSERT OR IGNORE INTO index_outbox (namespace, event_time, time_series_id, event_id, doc) VALUES (?, ?, ?, ?, ?)');
    for (const d of rows.outbox) insert.run(d.namespace, d.event.eventTimeMicros, d.event.timeSeriesId, d.event.eventId, encodeOutboxDoc(d));
  }
  return allNew;
}
