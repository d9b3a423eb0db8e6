/**
 * The plain-CQL baseline of `dgw bench` (issue 8): the shapes dgw's Cassandra deployment
 * sends, written directly with `cassandra-driver` on the same node, so the dgw ÷ CQL ratio
 * is the cost of dgw itself. Tables (keyspace `dgwbench_cql`, SimpleStrategy factor 1,
 * consistency LOCAL_QUORUM like dgw's default):
 * - `bench_counter (id int PRIMARY KEY, v counter)`: `UPDATE v = v + 1` on one of 100 rows;
 * - `bench_events ((series), ts DESC, id, k) → v blob`: prepared INSERTs of 1 row, or of 100
 *   rows over random series sent concurrently, at most 32 in flight as dgw's adapter sends
 *   them (a multi-partition batch is an anti-pattern);
 *   the range read is one partition `WHERE series = ? AND ts >= ? LIMIT 100`, preloaded to
 *   the same series count and events per series as dgw's read namespace;
 * - `bench_search`, the same rows with the device type as text under a storage-attached
 *   index (SAI): `WHERE dt = ? LIMIT 100`, the shape of dgw's search row (whose index is
 *   on PostgreSQL, docs/cassandra.md), to measure what SAI answers it in.
 * Also: the reachability check that makes the Cassandra rows skip, and the processes of the
 * local node (server CPU of the baseline).
 */
import cassandra from 'cassandra-driver';
import { DEVICE_TYPES } from './ops.js';
import { pidsWhere } from './procs.js';

/** Keyspace of the baseline tables (dropped and re-created by each run). */
export const CQL_KEYSPACE = 'dgwbench_cql';

/** Where the bench finds Cassandra. */
export interface CqlTarget {
  /** `host:port` of one node. */
  contactPoint: string;
  localDataCenter: string;
}

/** A driver client for `t` (LOCAL_QUORUM, token-aware: the driver's defaults). */
export function cqlClient(t: CqlTarget, keyspace?: string): cassandra.Client {
  return new cassandra.Client({
    contactPoints: [t.contactPoint],
    localDataCenter: t.localDataCenter,
    ...(keyspace ? { keyspace } : {}),
    queryOptions: { consistency: cassandra.types.consistencies.localQuorum, prepare: true },
    socketOptions: { connectTimeout: 3000, readTimeout: 20_000 },
  });
}

/** Why Cassandra cannot be used, or undefined when it answers CQL. */
export async function cassandraUnreachable(t: CqlTarget): Promise<string | undefined> {
  const c = cqlClient(t);
  try {
    await c.connect();
    await c.execute('SELECT release_version FROM system.local');
    return undefined;
  } catch (err) {
    // The driver's message embeds each host's error with its stack: one line of it is enough
    // for a table cell.
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
    return `Cassandra at ${t.contactPoint} unreachable (start it: scripts/cassandra.sh start; or --cassandra HOST:PORT): ${why}`;
  } finally {
    await c.shutdown().catch(() => undefined);
  }
}

/** Drops a keyspace (bench cleanup); errors are ignored. */
export async function dropKeyspace(t: CqlTarget, keyspace: string): Promise<void> {
  if (!/^[a-z][a-z0-9_]*$/.test(keyspace)) throw new Error(`refusing to drop keyspace "${keyspace}"`);
  const c = cqlClient(t);
  try {
    await c.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`, [], { readTimeout: 60_000 });
  } catch {
    // best effort
  } finally {
    await c.shutdown().catch(() => undefined);
  }
}

/**
 * Creates the baseline tables afresh and preloads `events` rows (1000 per series over the
 * last hour, the read namespace's shape): unlogged batches of one partition, 8 in flight.
 */
export async function setupCqlBaseline(t: CqlTarget, events: number, series: number, progress?: (done: number) => void): Promise<{ seconds: number }> {
  const t0 = performance.now();
  await dropKeyspace(t, CQL_KEYSPACE);
  const c = cqlClient(t);
  try {
    const ddl = { readTimeout: 60_000 };
    await c.execute(`CREATE KEYSPACE ${CQL_KEYSPACE} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`, [], ddl);
    await c.execute(`CREATE TABLE ${CQL_KEYSPACE}.bench_counter (id int PRIMARY KEY, v counter)`, [], ddl);
    await c.execute(
      `CREATE TABLE ${CQL_KEYSPACE}.bench_events (series text, ts timestamp, id text, k text, v blob,
       PRIMARY KEY ((series), ts, id, k)) WITH CLUSTERING ORDER BY (ts DESC, id ASC, k ASC)`,
      [],
      ddl,
    );
    // The search shape on Cassandra's own index (SAI), apart so the insert rows pay no index upkeep.
    await c.execute(`CREATE TABLE ${CQL_KEYSPACE}.bench_search (series text, ts timestamp, id text, dt text, PRIMARY KEY ((series), ts, id)) WITH CLUSTERING ORDER BY (ts DESC, id ASC)`, [], ddl);
    await c.execute(`CREATE INDEX bench_search_dt ON ${CQL_KEYSPACE}.bench_search (dt) USING 'sai'`, [], ddl);
    const insert = `INSERT INTO ${CQL_KEYSPACE}.bench_events (series, ts, id, k, v) VALUES (?, ?, ?, 'deviceType', ?)`;
    const insertSearch = `INSERT INTO ${CQL_KEYSPACE}.bench_search (series, ts, id, dt) VALUES (?, ?, ?, ?)`;
    const now = Date.now();
    const span = 3600_000;
    const perSeries = Math.ceil(events / series);
    const chunk = 100;
    const jobs: Array<{ s: number; from: number }> = [];
    for (let s = 0; s < series; s++) for (let from = 0; from < perSeries; from += chunk) jobs.push({ s, from });
    let next = 0;
    let done = 0;
    const worker = async () => {
      for (;;) {
        const job = jobs[next++];
        if (!job) return;
        const queries = [];
        const search = [];
        for (let j = job.from; j < Math.min(perSeries, job.from + chunk); j++) {
          const i = j * series + job.s; // event i belongs to series i mod S, as in dgw's preload
          const ts = new Date(now - span + Math.floor((i / events) * span));
          queries.push({ query: insert, params: [`s${job.s}`, ts, `p${i}`, Buffer.from(DEVICE_TYPES[i % 4]!)] });
          search.push({ query: insertSearch, params: [`s${job.s}`, ts, `p${i}`, DEVICE_TYPES[i % 4]!] });
        }
        await c.batch(queries, { prepare: true, logged: false, readTimeout: 30_000 });
        await c.batch(search, { prepare: true, logged: false, readTimeout: 30_000 });
        done += queries.length;
        progress?.(done);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return { seconds: (performance.now() - t0) / 1000 };
  } finally {
    await c.shutdown();
  }
}

/** Pids of the local Cassandra node(s): java processes running CassandraDaemon. */
export function cassandraPids(): number[] {
  return pidsWhere('cmdline', (text) => text.includes('org.apache.cassandra.service.CassandraDaemon'));
}
