/**
 * A SQLite reader thread (docs/storage.md, "Reads in reader threads"): its own read-only
 * connection on the database file (WAL: readers do not block the writer nor each other),
 * answering the packed scans and searches the main thread resolved (reader-pool.ts) with
 * the same functions the inline path runs (packed-reads.ts). Requests are answered one at
 * a time, in arrival order.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { toWire } from './append-wire.js';
import { SqliteDatabase } from './database.js';
import { isMissingSliceTable, jsonTimeBucketScan, packedSearch, packedTimeBucketScan, ScanTexts } from './packed-reads.js';
import type { ReaderReply, ReaderRequest, ReaderThreadData } from './reader-wire.js';

/** The reader's connection, or why it could not be opened (then every request fails with it). */
type Connection = { sql: SqliteDatabase } | { error: unknown };

function open(file: string): Connection {
  try {
    return { sql: new SqliteDatabase(file, { migrate: false, readonly: true }) };
  } catch (error) {
    return { error };
  }
}

class Reader {
  private readonly texts = new ScanTexts();

  constructor(
    private readonly port: MessagePort,
    private readonly conn: Connection,
  ) {
    port.on('message', (m: ReaderRequest) => this.accept(m));
  }

  private accept(m: ReaderRequest): void {
    if (m.type === 'close') {
      if ('sql' in this.conn) this.conn.sql.close();
      this.port.close();
      return;
    }
    this.port.postMessage(this.answer(m));
  }

  private answer(m: Exclude<ReaderRequest, { type: 'close' }>): ReaderReply {
    if ('error' in this.conn) return { id: m.id, error: toWire(this.conn.error) };
    const sql = this.conn.sql;
    try {
      if (m.type === 'scan') return { id: m.id, ok: packedTimeBucketScan(sql, this.texts, m.table, m.scan) };
      if (m.type === 'scanJson') return { id: m.id, ok: jsonTimeBucketScan(sql, this.texts, m.table, m.scan) };
      return { id: m.id, ok: packedSearch(sql, m.statement) };
    } catch (err) {
      if (m.type !== 'search' && isMissingSliceTable(err)) {
        // Dropped after the main thread found it live: its statements here are stale too.
        sql.forgetTable(m.table.name);
        return { id: m.id, gone: true };
      }
      return { id: m.id, error: toWire(err) };
    }
  }
}

if (parentPort) new Reader(parentPort, open((workerData as ReaderThreadData).file));
