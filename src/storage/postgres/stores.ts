/**
 * The PostgreSQL adapter: a durable, shared store for events, the index, rollups and the
 * namespace registry (the caches come from Redis or the process). Several dgw instances
 * may share one database; DDL is serialised by advisory locks.
 */
import pg from 'pg';
import type { Clock } from '../../kernel/clock.js';
import { DgwError } from '../../kernel/errors.js';
import type { StoreSet } from '../contracts.js';
import { wrapStoreSet } from '../store-wrapper.js';
import { ONE_TRIP_TIMEOUT_MS, PgDb, SCHEMA_NAME } from './database.js';
import { describeAddress, hasSqlState, pgErrorTranslator } from './errors.js';
import { PgEventStore } from './event-store.js';
import { PgIndexStore } from './index-store.js';
import { migrate, type SliceLayout } from './schema.js';
import { PgNamespaceRegistry } from './namespace-registry.js';
import { PgStoreClock } from './clock.js';
import { PgRollupStore } from './rollup-store.js';

export { LATEST_SCHEMA_VERSION } from './schema.js';
export { sliceTableName } from './event-store.js';

/** Default pool size per dgw instance: instances × this must stay below `max_connections`. */
export const DEFAULT_MAX_CONNECTIONS = 10;

/**
 * Event group commits that may run at once by default (StoreCapabilities.parallelCommits;
 * never more than the pool's size less 2, at least 1). Each holds a pool connection for its
 * round trips, so the default stays well below the pool's default size and leaves
 * connections for reads, rollups and write marks.
 */
export const DEFAULT_PARALLEL_COMMITS = 4;
/** Default wait for a connection (new or from a busy pool) before failing with UNAVAILABLE. */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 3000;

/** Options of {@link createPostgresStores}. */
export interface PostgresStoresOptions {
  /**
   * Connection string, e.g. `postgres://postgres@127.0.0.1:5432/test`. Ignored when `pool` is
   * given. Without either, the libpq environment variables (PGHOST, PGPORT, ...) apply.
   */
  url?: string;
  /**
   * A pool the caller owns (not closed by `close()`); its own settings apply, and no
   * connection is opened beside it, so bounded appends keep the transaction path (no
   * one-trip append pool, docs/backends.md).
   */
  pool?: pg.Pool;
  /** Schema holding every dgw table (created when missing); default `dgw`. */
  schema?: string;
  /** Pool size bound (default {@link DEFAULT_MAX_CONNECTIONS}); callers beyond it queue. */
  maxConnections?: number;
  /** Server-side `statement_timeout`; a statement running longer fails with DEADLINE_EXCEEDED. */
  statementTimeoutMs?: number;
  /**
   * Event group commits this instance runs at once (default {@link DEFAULT_PARALLEL_COMMITS},
   * at most `maxConnections − 2`, at least 1; never more than `maxConnections`). 1 gives
   * the single-writer behaviour: a batch waits for the previous commit. The one-trip append
   * pool holds up to this many connections beside the main pool.
   */
  parallelCommits?: number;
  /**
   * How long to wait for a connection, including a wait for a free pooled one, before
   * failing with UNAVAILABLE (default {@link DEFAULT_CONNECTION_TIMEOUT_MS}).
   */
  connectionTimeoutMs?: number;
  /** Injected time; reserved for adapter-side timestamps (none today). */
  clock?: Clock;
  /**
   * The clock rollup holds run on (issue 15). Unset in production: every instance then
   * uses PostgreSQL's own clock, the one clock they share. Tests on a ManualClock pass it.
   */
  holdClock?: Clock;
  /**
   * The key of the slice tables created from now on (schema.ts `SliceLayout`): time-ordered
   * by default; `BUCKETED_LAYOUT` creates them as dgw did before schema version 5, which
   * tests use to check that such databases keep working.
   */
  sliceLayout?: SliceLayout;
}

/**
 * Connects, brings the schema up to date (or fails fast with FAILED_PRECONDITION when the
 * database is newer than this build; UNAVAILABLE when the server cannot be reached) and
 * returns the store set. Capabilities: durable, shared, no native TTL.
 */
export async function createPostgresStores(options: PostgresStoresOptions = {}): Promise<StoreSet> {
  const schema = options.schema ?? 'dgw';
  if (!SCHEMA_NAME.test(schema)) {
    throw new DgwError('INVALID_ARGUMENT', `postgres schema: "${schema}" must match ${SCHEMA_NAME.source}`);
  }
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw new DgwError('INVALID_ARGUMENT', `postgres maxConnections: ${maxConnections} must be a positive integer`);
  }
  // By default 2 connections stay for the rest of the work (marks, rollups, reads, probes).
  const parallelCommits = options.parallelCommits ?? Math.max(1, Math.min(DEFAULT_PARALLEL_COMMITS, maxConnections - 2));
  if (!Number.isInteger(parallelCommits) || parallelCommits < 1 || parallelCommits > maxConnections) {
    throw new DgwError('INVALID_ARGUMENT', `postgres parallelCommits: ${parallelCommits} must be an integer from 1 to maxConnections (${maxConnections})`);
  }
  const ownsPool = options.pool === undefined;
  /** A pool of dgw's own to `options.url`; `statementTimeoutMs` undefined: the server's default. */
  const newPool = (max: number, applicationName: string, statementTimeoutMs: number | undefined): pg.Pool =>
    new pg.Pool({
      connectionString: options.url,
      max,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: applicationName,
      ...(statementTimeoutMs === undefined ? {} : { statement_timeout: statementTimeoutMs }),
    });
  const pool = options.pool ?? newPool(maxConnections, 'dgw', options.statementTimeoutMs);
  // Bounded one-statement appends (issue 9, database.ts boundedStatement): their own
  // connections, one per parallel commit, each with the fixed session statement timeout T
  // so PostgreSQL cancels a stalled append; nothing else runs there, so reads, DDL and
  // rollups keep the main pool's timeout.
  const appendPool = ownsPool ? newPool(parallelCommits, 'dgw-append', Math.min(ONE_TRIP_TIMEOUT_MS, options.statementTimeoutMs ?? Infinity)) : undefined;
  // An idle client losing its connection emits 'error' on the pool; without a listener it
  // would crash the process. The pool discards that client and the next call reconnects.
  const onIdleError = (): void => {};
  pool.on('error', onIdleError);
  appendPool?.on('error', onIdleError);

  const address = describeAddress(options.url);
  const db = new PgDb(pool, schema, address, options.statementTimeoutMs, appendPool);
  let probeTable = false;
  const index = new PgIndexStore(db);
  const set = wrapStoreSet({
    name: 'postgres',
    capabilities: { durable: true, shared: true, ttl: false, atomicIndex: true, indexOutbox: true, parallelCommits },
    translate: pgErrorTranslator({ address, statementTimeoutMs: options.statementTimeoutMs, pool }),
    parts: {
      events: new PgEventStore(db, index, options.sliceLayout),
      index,
      rollups: new PgRollupStore(db, options.holdClock),
      namespaces: new PgNamespaceRegistry(db),
      clock: new PgStoreClock(db, options.holdClock),
    },
    init: () => migrate(db),
    ping: async () => {
      // Ready means writes work: SELECT 1 still answers on a read-only or full server.
      if (!probeTable) {
        await db.query(`CREATE TABLE IF NOT EXISTS ${db.table('ready_probe')} (id int PRIMARY KEY, at timestamptz NOT NULL)`).catch((err: unknown) => {
          // Two instances creating it at once: one wins, the other's race error is harmless
          // (unique_violation on pg_type, duplicate_table, or duplicate_object: "type
          // "ready_probe" already exists", seen in a test starting several instances at once).
          if (!hasSqlState(err, '23505') && !hasSqlState(err, '42P07') && !hasSqlState(err, '42710')) throw err;
        });
        probeTable = true;
      }
      await db.query(`INSERT INTO ${db.table('ready_probe')} (id, at) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET at = excluded.at`);
    },
    close: async () => {
      // An owned pool keeps its listener: pg's end() resolves before its connections have
      // closed, and one that hears FATAL (57P01: a restart, a failover) meanwhile reports it
      // on the pool, which without a listener crashed the process.
      if (!ownsPool) pool.off('error', onIdleError);
      await appendPool?.end();
      if (ownsPool) await pool.end();
    },
  });
  try {
    await set.ping(); // runs the migrations once, now: a bad schema fails at startup
  } catch (err) {
    await set.close().catch(() => undefined);
    throw err;
  }
  return set;
}
