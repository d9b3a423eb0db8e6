/**
 * The keyspace and the tables every dgw instance creates at start-up, plus the DDL of the
 * tables made at run time (one per time slice, one per counter namespace). Start-up tables
 * carry ids derived from their names (names.ts), so instances starting together create
 * identical schema without holding the lease (which itself lives in one of them).
 */
import { DgwError } from '../../kernel/errors.js';
import type { CassandraDb } from './database.js';
import { LEASE_TABLE } from './ddl-lease.js';
import { stableTableId } from './names.js';

/** Slice metadata: one partition per namespace, slices by start ascending. */
export const SLICES_TABLE = 'dgw_slices';
/** Namespace registry: one partition per kind. */
export const NAMESPACES_TABLE = 'dgw_namespaces';

/** Replication of a keyspace, as CQL's `replication` map. */
export type Replication =
  | { class: 'SimpleStrategy'; replication_factor: number }
  | ({ class: 'NetworkTopologyStrategy' } & Record<string, number | string>);

/** CQL text of a replication map: `{'class': 'SimpleStrategy', 'replication_factor': 3}`. */
export function replicationCql(replication: Replication): string {
  const entries = Object.entries(replication).map(([k, v]) => {
    if (!/^[A-Za-z0-9_.-]+$/.test(k) || !/^[A-Za-z0-9_.-]+$/.test(String(v))) {
      throw new DgwError('INVALID_ARGUMENT', `cassandra replication: bad entry ${k}=${String(v)}`);
    }
    return `'${k}': '${String(v)}'`;
  });
  return `{${entries.join(', ')}}`;
}

// Compaction of run-time tables: a slice table is written while its slice is current and
// then only read until DROP TABLE retires it, so size-tiered compaction's few rewrites suit
// it; time-window compaction would misplace data because event cells carry inverted write
// timestamps (event-store.ts).
// speculative_retry: a coordinator waiting on a stalled replica (GC pause, SIGSTOP, a dying
// disk) asks another one after 50 ms instead of waiting for the read timeout.
const SPECULATIVE = `speculative_retry = '50ms' AND additional_write_policy = '50ms'`;
const SLICE_TABLE_OPTIONS = `WITH CLUSTERING ORDER BY (event_time DESC, event_id ASC, item_key ASC)
  AND compaction = {'class': 'SizeTieredCompactionStrategy'}
  AND gc_grace_seconds = 3600 AND ${SPECULATIVE}`;

/** CREATE TABLE of one slice: partition (series, time bucket, event bucket), newest first. */
export function sliceTableDdl(qualified: string): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified} (
  time_series_id text, time_bucket bigint, event_bucket int,
  event_time bigint, event_id text, item_key text, value blob,
  PRIMARY KEY ((time_series_id, time_bucket, event_bucket), event_time, event_id, item_key)
) ${SLICE_TABLE_OPTIONS}`;
}

/** CREATE TABLE of one counter namespace's rollup rows (one partition per counter). */
export function rollupTableDdl(qualified: string): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified} (
  counter text PRIMARY KEY,
  rollup_count bigint, rollup_ts bigint, last_write_ts bigint, first_write_ts bigint,
  hold_ts bigint, hold_until bigint
) WITH compaction = {'class': 'LeveledCompactionStrategy'} AND ${SPECULATIVE}`;
}

const BASE_TABLES = [LEASE_TABLE, SLICES_TABLE, NAMESPACES_TABLE];

/** Whether the keyspace and every start-up table exist (one read of the schema tables). */
export async function baseSchemaPresent(db: CassandraDb): Promise<boolean> {
  const rs = await db.client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [db.keyspace], { prepare: true, isIdempotent: true });
  const have = new Set(rs.rows.map((r) => String(r.get('table_name'))));
  return BASE_TABLES.every((t) => have.has(t));
}

/**
 * Creates the keyspace (when missing) with `replication`, and the start-up tables. When
 * the keyspace exists its replication is left alone: changing it is an operator's
 * decision (followed by a repair), not something a starting instance should do.
 */
export async function ensureBaseSchema(db: CassandraDb, replication: Replication): Promise<void> {
  const ks = db.keyspace;
  await db.schemaChange(`CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = ${replicationCql(replication)}`);
  const tables: Array<[string, string]> = [
    [
      LEASE_TABLE,
      `(name text PRIMARY KEY, owner text, what text) WITH gc_grace_seconds = 300`,
    ],
    [
      SLICES_TABLE,
      `(namespace text, start_micros bigint, slice_id bigint, end_micros bigint, status text,
        seconds_per_time_bucket int, event_buckets int,
        PRIMARY KEY (namespace, start_micros)) WITH gc_grace_seconds = 3600`,
    ],
    [
      NAMESPACES_TABLE,
      `(kind text, name text, config text, version bigint, updated_at_micros bigint, deleted boolean,
        PRIMARY KEY (kind, name))`,
    ],
  ];
  for (const [name, body] of tables) {
    if (await db.tableExists(name)) continue;
    const withId = body.includes(' WITH ') ? body.replace(' WITH ', ` WITH id = ${stableTableId(ks, name)} AND `) : `${body} WITH id = ${stableTableId(ks, name)}`;
    await db.schemaChange(`CREATE TABLE IF NOT EXISTS ${db.table(name)} ${withId}`);
  }
}
