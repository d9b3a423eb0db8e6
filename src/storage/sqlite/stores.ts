/**
 * The SQLite adapter, the embedded default (DESIGN 1): every storage contract in one
 * database file `<dataDir>/dgw.sqlite`, WAL with synchronous=FULL so a resolved write is
 * durable. Caches are in process (embedded mode has no Redis).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../kernel/clock.js';
import type { StoreSet } from '../contracts.js';
import { wrapStoreSet } from '../store-wrapper.js';
import { LruRollupCache } from '../in-process/lru-rollup-cache.js';
import { TtlCounterCache } from '../in-process/ttl-counter-cache.js';
import { translateSqliteError } from './errors.js';
import { SqliteAppendWriter } from './append-writer.js';
import { SqliteDatabase } from './database.js';
import { SqliteEventStore } from './event-store.js';
import { SqliteIndexStore } from './index-store.js';
import { SqliteNamespaceRegistry } from './namespace-registry.js';
import { SqliteReaderPool } from './reader-pool.js';
import { SqliteRollupStore } from './rollup-store.js';
import type { SliceLayout } from './schema.js';

export { SCHEMA_VERSION } from './schema.js';

/** The readiness probe's write: 16 KiB, so it needs fresh WAL frames like a real batch does. */
const READY_PROBE =
  'INSERT INTO ready_probe (id, at, pad) VALUES (1, ?, zeroblob(16384)) ON CONFLICT (id) DO UPDATE SET at = excluded.at, pad = excluded.pad';

/** Options of {@link createSqliteStores}. */
export interface SqliteStoresOptions {
  /** Directory of the database file; created when missing. Default `./data`. */
  dataDir?: string;
  /** File name inside dataDir (default `dgw.sqlite`), or `:memory:` for a throwaway database. */
  filename?: string;
  /** Time source of counter-cache expiry; SystemClock by default. */
  clock?: Clock;
  /** Read-only mode is not supported yet; only `false` is accepted. */
  readonly?: false;
  /** Bound of the in-process rollup cache LRU; default 100,000 entries. */
  rollupCacheEntries?: number;
  /**
   * Commit event appends on a second connection in a writer thread (docs/storage.md,
   * "Writes in a writer thread"). Default false: measured on the 2-core bench machine it
   * costs more CPU per event than it saves there. A `:memory:` database cannot be shared
   * with a thread and always commits inline.
   */
  writerThread?: boolean;
  /**
   * Run the packed time-bucket scans and searches (ReadEventRecords, SearchEventRecords) on
   * this many reader threads, each with its own read-only connection (docs/storage.md,
   * "Reads in reader threads"). Default 0: inline on the main connection. A `:memory:`
   * database cannot be shared with a thread and always reads inline.
   */
  readerThreads?: number;
  /**
   * The key of the slice tables created from now on (schema.ts `SliceLayout`): time-ordered
   * by default; `BUCKETED_LAYOUT` creates them as dgw did before schema version 7, which
   * tests use to check that such databases keep working.
   */
  sliceLayout?: SliceLayout;
}

/**
 * Opens (creating and migrating when needed) the SQLite database and returns a StoreSet
 * with every part: `{ durable: true, shared: false, ttl: true, atomicIndex: true }`. Throws DgwError
 * FAILED_PRECONDITION when the file has a newer schema than this build, UNAVAILABLE when
 * it cannot be opened. One process may open a given file at a time.
 */
export function createSqliteStores(options: SqliteStoresOptions = {}): StoreSet {
  const filename = options.filename ?? 'dgw.sqlite';
  let file = filename;
  let sql: SqliteDatabase;
  try {
    if (filename !== ':memory:') {
      const dir = options.dataDir ?? './data';
      mkdirSync(dir, { recursive: true });
      file = join(dir, filename);
    }
    sql = new SqliteDatabase(file);
  } catch (err) {
    throw translateSqliteError(err, `sqlite.open ${file}`);
  }
  const shared = filename !== ':memory:';
  const readerThreads = Math.floor(options.readerThreads ?? 0);
  const readers = shared && readerThreads > 0 ? new SqliteReaderPool(file, readerThreads) : undefined;
  const index = new SqliteIndexStore(sql, readers);
  const writer = shared && options.writerThread === true ? new SqliteAppendWriter(file) : undefined;
  return wrapStoreSet({
    name: 'sqlite',
    capabilities: { durable: filename !== ':memory:', shared: false, ttl: true, atomicIndex: true, indexOutbox: true },
    translate: translateSqliteError,
    parts: {
      events: new SqliteEventStore(sql, index, writer, readers, options.sliceLayout),
      index,
      rollups: new SqliteRollupStore(sql, options.clock),
      rollupCache: new LruRollupCache(
        options.rollupCacheEntries === undefined ? {} : { maxEntries: options.rollupCacheEntries },
      ),
      counterCache: new TtlCounterCache(options.clock ? { clock: options.clock } : {}),
      namespaces: new SqliteNamespaceRegistry(sql),
    },
    async ping() {
      // Ready means writes work: SELECT 1 still answers on a full disk or a read-only
      // file, so the probe is a small durable write that needs new pages (issue 14).
      sql.db.exec('CREATE TABLE IF NOT EXISTS ready_probe (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, pad BLOB)');
      sql.stmt(READY_PROBE).run(Date.now());
    },
    async close() {
      try {
        await Promise.all([writer?.close(), readers?.close()]);
      } finally {
        sql.close();
      }
    },
  });
}
