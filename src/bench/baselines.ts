/**
 * The baseline servers: reachability checks and the PostgreSQL schema the baselines
 * run on (one counter row; a plain events table with a primary-key index, preloaded
 * server-side to the same size and shape as dgw's read namespace).
 */
import { Redis } from 'ioredis';
import pg from 'pg';

/** Why a baseline server cannot be used, or undefined when it answers. */
export async function redisUnreachable(url: string): Promise<string | undefined> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    await r.ping();
    // Start from nothing so GET reads what INCRBY wrote in this run.
    const keys = await r.keys('dgwbench:*');
    if (keys.length > 0) await r.del(...keys);
    return undefined;
  } catch (err) {
    return `Redis at ${url} unreachable: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    r.disconnect();
  }
}

/** Why PostgreSQL cannot be used, or undefined when it answers. */
export async function postgresUnreachable(url: string): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL at ${url} unreachable: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * `VACUUM (ANALYZE)` of the database: the namespaces a run drops leave their rows dead in
 * dgw's shared tables (index_docs, index_fields, rollups), and a PostgreSQL with autovacuum
 * off (this project's CI machine) keeps them: seen 15,000,015 dead rows and searches at
 * ~100/s after a few runs. The dgw-on-PostgreSQL scenarios start from a vacuumed database.
 */
export async function vacuumPostgres(url: string): Promise<void> {
  await runStatement(url, 'VACUUM (ANALYZE)');
}

/** Runs one statement on its own connection. */
async function runStatement(url: string, statement: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(statement);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * ANALYZE of the database (the bench's dgw tables among them), run during dgw's preload on
 * PostgreSQL. Without it, on a database whose autovacuum is off (this project's machines),
 * the preload stalls: the VACUUM above leaves `index_docs` counted as empty, each pooled
 * connection plans its foreign-key check of `index_fields` rows once as a sequential scan
 * and keeps that plan while the table grows (200 checked inserts: 1.4 s, 2 ms after an
 * ANALYZE invalidated the plan). An ANALYZE is what autovacuum would run during a bulk load.
 */
export async function analyzePostgres(url: string): Promise<void> {
  await runStatement(url, 'ANALYZE');
}

/** Creates the baseline tables afresh and preloads `events` rows (1000 per series over the last hour). */
export async function setupPostgresBaseline(url: string, events: number, series: number): Promise<{ seconds: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const t0 = performance.now();
  try {
    await c.query('DROP TABLE IF EXISTS bench_counter, bench_events');
    await c.query('CREATE TABLE bench_counter (id int PRIMARY KEY, v bigint NOT NULL)');
    await c.query('INSERT INTO bench_counter VALUES (1, 0)');
    // The same logical layout as a dgw slice row: key, time, id, item key, item bytes.
    await c.query(`CREATE TABLE bench_events (
      series text NOT NULL, ts timestamptz NOT NULL, id text NOT NULL, k text NOT NULL, v bytea NOT NULL,
      PRIMARY KEY (series, ts, id, k))`);
    await c.query(
      `INSERT INTO bench_events
       SELECT 's' || (i % $2), now() - interval '1 hour' + (i::float8 / $1) * interval '1 hour', 'p' || i, 'deviceType',
              convert_to((ARRAY['ios','android','web','tv'])[i % 4 + 1], 'UTF8')
       FROM generate_series(0, $1 - 1) AS i`,
      [events, series],
    );
    await c.query('ANALYZE bench_events');
    return { seconds: (performance.now() - t0) / 1000 };
  } finally {
    await c.end();
  }
}
