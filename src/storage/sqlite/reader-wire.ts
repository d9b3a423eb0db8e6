/**
 * The messages between the SQLite stores and their reader threads (reader-pool.ts,
 * reader-thread.ts). Only resolved, plain data crosses: the slice table name or the
 * compiled search statement, and the bound values; answers come back as what the inline
 * code returns (packed arrays of a packed scan, the events' JSON texts joined of a JSON
 * scan or a search), errors as {@link WireError} (append-wire.ts).
 */
import type { TimeBucketScan } from '../contracts.js';
import type { PackedEvents } from '../../domain/packed-events.js';
import type { JoinedEventJson } from '../../domain/event-json.js';
import type { CompiledSql } from './search-sql.js';
import type { WireError } from './append-wire.js';
import type { SliceTable } from './schema.js';

/** What a reader thread is started with. */
export interface ReaderThreadData {
  /** The database file, already migrated by the main connection. */
  file: string;
}

/** Main → reader: the packed time-bucket scan of a live slice table. */
export interface ScanRequest {
  type: 'scan';
  id: number;
  table: SliceTable;
  scan: TimeBucketScan;
}

/** Main → reader: the JSON time-bucket scan of a live slice table. */
export interface JsonScanRequest {
  type: 'scanJson';
  id: number;
  table: SliceTable;
  scan: TimeBucketScan;
}

/** Main → reader: a compiled packed search statement. */
export interface SearchRequest {
  type: 'search';
  id: number;
  statement: CompiledSql;
}

/** Main → reader: nothing is pending any more; close the connection and end the thread. */
export interface ReaderCloseRequest {
  type: 'close';
}

/** What the main thread posts to a reader. */
export type ReaderRequest = ScanRequest | JsonScanRequest | SearchRequest | ReaderCloseRequest;

/**
 * Reader → main: one request's answer. `gone`: the slice table was dropped after the main
 * thread resolved it (the answer of a scan of a table that is gone: no events).
 */
export type ReaderReply =
  | { id: number; ok: PackedEvents | JoinedEventJson }
  | { id: number; gone: true }
  | { id: number; error: WireError };
