/**
 * PostgreSQL adapter tests: schema-version fast-fail, concurrent migrations and DDL from
 * several pools, UNAVAILABLE on a closed port, DEADLINE_EXCEEDED on a statement timeout,
 * int64 exactness, physical layout (id-named slice tables, dropped for retention) and
 * batched appends.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { isDgwError, type ErrorCode } from '../../src/kernel/errors.js';
import type { EventWrite, SliceInfo, StoreSet } from '../../src/storage/contracts.js';
import { createPostgresStores, LATEST_SCHEMA_VERSION } from '../../src/storage/postgres/stores.js';
import { BUCKETED_LAYOUT, TIME_ORDERED_LAYOUT } from '../../src/storage/postgres/schema.js';
import { backendTest, dropPostgresSchema, uniqueName } from '../support/backends.js';

const gate = await backendTest('postgres');

const isCode = (code: ErrorCode) => (err: unknown) => isDgwError(err) && err.code === code;
const SEC = 1_000_000;
const T0 = 1_727_913_600 * SEC;
const slice = (n: number): SliceInfo => ({
  sliceId: 1_727_913_600 + n * 3600,
  startMicros: T0 + n * 3600 * SEC,
  endMicros: T0 + (n + 1) * 3600 * SEC,
  status: 'ACTIVE',
  secondsPerTimeBucket: 600,
  eventBuckets: 4,
});
const write = (namespace: string, s: SliceInfo, ts: string, time: number, id: string): EventWrite => ({
  namespace,
  sliceId: s.sliceId,
  partition: { timeSeriesId: ts, timeBucket: 0, eventBucket: 0 },
  event: { timeSeriesId: ts, eventTimeMicros: time, eventId: id, items: [{ key: 'v', value: new TextEncoder().encode(id) }] },
});

describe('postgres store', { skip: gate.skip }, () => {
  const schemas: string[] = [];
  const opened: StoreSet[] = [];
  const open = async (schema: string, extra: Parameters<typeof createPostgresStores>[0] = {}): Promise<StoreSet> => {
    if (!schemas.includes(schema)) schemas.push(schema);
    const s = await createPostgresStores({ url: gate.url, schema, maxConnections: 4, ...extra });
    opened.push(s);
    return s;
  };
  const admin = new pg.Pool({ connectionString: gate.url, max: 2 });
  after(async () => {
    await Promise.all(opened.map((s) => s.close()));
    for (const schema of schemas) await dropPostgresSchema(schema, gate.url);
    await admin.end();
  });

  it('migrates a fresh schema once even when several instances start together', async () => {
    const schema = uniqueName('dgw_t');
    const sets = await Promise.all([open(schema), open(schema), open(schema)]);
    assert.deepEqual(sets[0]?.capabilities, { durable: true, shared: true, ttl: false, atomicIndex: true, indexOutbox: true, parallelCommits: 2 });
    const { rows } = await admin.query(`SELECT version FROM "${schema}".schema_version ORDER BY version`);
    assert.deepEqual(
      rows.map((r: { version: number }) => r.version),
      Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1),
    );
  });

  it('fails fast with FAILED_PRECONDITION on a schema newer than this build', async () => {
    const schema = uniqueName('dgw_t');
    await open(schema);
    await admin.query(`INSERT INTO "${schema}".schema_version (version, description) VALUES ($1, 'from the future')`, [
      LATEST_SCHEMA_VERSION + 1,
    ]);
    await assert.rejects(open(schema), (err: unknown) => {
      assert.ok(isDgwError(err) && err.code === 'FAILED_PRECONDITION', String(err));
      assert.match(err.message, new RegExp(`version ${LATEST_SCHEMA_VERSION + 1}, newer than`));
      return true;
    });
  });

  it('concurrent createSlice from two pools: one table, one row, overlaps refused', async () => {
    const schema = uniqueName('dgw_t');
    const [a, b] = [await open(schema), await open(schema)];
    const ns = 'orders:eu-1';
    const s0 = slice(0);
    await Promise.all([a.events!.createSlice(ns, s0), b.events!.createSlice(ns, s0), a.events!.createSlice(ns, s0)]);
    const overlapping = { ...slice(0), sliceId: s0.sliceId + 1800, startMicros: s0.startMicros + 1800 * SEC, endMicros: s0.endMicros + 1800 * SEC };
    await assert.rejects(b.events!.createSlice(ns, overlapping), isCode('FAILED_PRECONDITION'));
    assert.equal((await b.events!.listSlices(ns)).length, 1);
    const { rows } = await admin.query<{ tablename: string }>(`SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'ev\\_%'`, [schema]);
    assert.equal(rows.length, 1);
    assert.match(rows[0]!.tablename, /^ev_\d+_\d+$/, 'named from ids, never from the namespace string');
    // Written on one instance, read on the other.
    await a.events!.appendEvents([write(ns, s0, 'x', s0.startMicros + 1, 'e1')]);
    assert.equal((await b.events!.scanPartition({ namespace: ns, sliceId: s0.sliceId, partition: { timeSeriesId: 'x', timeBucket: 0, eventBucket: 0 }, fromMicros: s0.startMicros, toMicros: s0.endMicros, limit: 10 })).length, 1);
    // Retention drops the table; the other instance then refuses writes to it.
    await a.events!.setSliceStatus(ns, s0.sliceId, 'DROPPED');
    const after = await admin.query(`SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'ev\\_%'`, [schema]);
    assert.equal(after.rowCount, 0);
    await assert.rejects(b.events!.appendEvents([write(ns, s0, 'x', s0.startMicros + 2, 'e2')]), isCode('FAILED_PRECONDITION'));
  });

  it('appends thousands of events in one commit; a batch touching a missing slice writes nothing', async () => {
    const schema = uniqueName('dgw_t');
    const s = await open(schema);
    const [s0, s1] = [slice(0), slice(1)];
    await s.events!.createSlice('a', s0);
    await s.events!.createSlice('b', s1);
    const batch: EventWrite[] = [];
    for (let i = 0; i < 5000; i++) batch.push(write(i % 2 ? 'a' : 'b', i % 2 ? s0 : s1, `ts${i % 7}`, (i % 2 ? s0 : s1).startMicros + i, `e${i}`));
    await s.events!.appendEvents(batch);
    await s.events!.appendEvents(batch); // a retry: all no-ops
    // One commit, shown by the rows' transaction ids rather than by time (a time bound of
    // 5 s failed at load average 15-30): every row of both slices has the same xmin.
    const counted = await admin.query<{ n: string; xacts: string }>(
      `SELECT count(*) AS n, count(DISTINCT xmin::text) AS xacts FROM (
         SELECT xmin FROM "${schema}".ev_1_${s0.sliceId} UNION ALL SELECT xmin FROM "${schema}".ev_2_${s1.sliceId}) AS rows`,
    );
    assert.equal(Number(counted.rows[0]!.n), 5000);
    assert.equal(Number(counted.rows[0]!.xacts), 1, 'the 5000 events of two slices were written by one transaction');
    const bad = [write('a', s0, 'new', s0.startMicros + 1, 'fresh'), write('b', slice(5), 'new', slice(5).startMicros, 'lost')];
    await assert.rejects(s.events!.appendEvents(bad), isCode('FAILED_PRECONDITION'));
    const fresh = await s.events!.findEvents([{ namespace: 'a', sliceId: s0.sliceId, partition: { timeSeriesId: 'new', timeBucket: 0, eventBucket: 0 }, eventTimeMicros: s0.startMicros + 1, eventId: 'fresh' }]);
    assert.deepEqual(fresh, [false]);
  });

  it('opens a database from before schema 5: its bucketed slice tables keep their key and events, new slices are time-ordered', async () => {
    const schema = uniqueName('dgw_t');
    const ns = 'ns';
    const first = slice(0);
    const next = slice(1);
    // What schema 4 left: slice tables keyed by event bucket, no slices.layout column.
    const old = await open(schema, { sliceLayout: BUCKETED_LAYOUT });
    await old.events!.createSlice(ns, first);
    const at = (s: SliceInfo, ts: string, time: number, id: string, eventBucket: number): EventWrite => {
      const w = write(ns, s, ts, time, id);
      return { ...w, partition: { ...w.partition, eventBucket } };
    };
    await old.events!.appendEvents([at(first, 'dev1', T0 + 5, 'e1', 1), at(first, 'dev1', T0 + 7, 'e2', 2)]);
    await old.close();
    await admin.query(`ALTER TABLE "${schema}".slices DROP COLUMN layout`);
    await admin.query(`DELETE FROM "${schema}".schema_version WHERE version >= 5`);

    const stores = await open(schema);
    const { rows: versions } = await admin.query(`SELECT max(version) AS v FROM "${schema}".schema_version`);
    assert.equal(versions[0].v, LATEST_SCHEMA_VERSION);
    await stores.events!.createSlice(ns, next);
    // The old table takes writes (a duplicate is still ignored) and answers both scans; so does the new one.
    await stores.events!.appendEvents([at(first, 'dev1', T0 + 6, 'e3', 3), at(first, 'dev1', T0 + 5, 'e1', 1), at(next, 'dev1', next.startMicros + 1, 'e4', 2)]);
    await stores.events!.appendEvents([at(next, 'dev1', next.startMicros + 1, 'e4', 2)]);
    const scan = (s: SliceInfo) => ({ namespace: ns, sliceId: s.sliceId, timeSeriesId: 'dev1', timeBucket: 0, eventBuckets: s.eventBuckets, fromMicros: s.startMicros, toMicros: s.endMicros, limit: 10 });
    assert.deepEqual((await stores.events!.scanTimeBucket!(scan(first))).map((e) => e.eventId), ['e2', 'e3', 'e1']);
    assert.deepEqual((await stores.events!.scanTimeBucketPacked!(scan(first))).ids, ['"e2"', '"e3"', '"e1"']);
    assert.deepEqual((await stores.events!.scanTimeBucket!(scan(next))).map((e) => e.eventId), ['e4']);
    assert.deepEqual((await stores.events!.scanTimeBucketPacked!(scan(next))).ids, ['"e4"']);
    const partition = (s: SliceInfo, eventBucket: number) => ({ namespace: ns, sliceId: s.sliceId, partition: { timeSeriesId: 'dev1', timeBucket: 0, eventBucket }, fromMicros: s.startMicros, toMicros: s.endMicros, limit: 10 });
    assert.deepEqual((await stores.events!.scanPartition(partition(first, 3))).map((e) => e.eventId), ['e3']);
    assert.deepEqual((await stores.events!.scanPartition(partition(next, 2))).map((e) => e.eventId), ['e4']);
    assert.deepEqual(await stores.events!.scanPartition(partition(next, 0)), []);
    const locate = (s: SliceInfo, id: string, time: number, eventBucket: number) => ({ namespace: ns, sliceId: s.sliceId, partition: { timeSeriesId: 'dev1', timeBucket: 0, eventBucket }, eventTimeMicros: time, eventId: id });
    assert.deepEqual(await stores.events!.findEvents([locate(first, 'e3', T0 + 6, 3), locate(next, 'e4', next.startMicros + 1, 2), locate(next, 'e4', next.startMicros + 1, 0)]), [true, true, false]);

    const { rows: layouts } = await admin.query(`SELECT slice_id::text AS id, layout FROM "${schema}".slices ORDER BY slice_id`);
    assert.deepEqual(layouts.map((r: { id: string; layout: number }) => [Number(r.id), r.layout]), [[first.sliceId, BUCKETED_LAYOUT], [next.sliceId, TIME_ORDERED_LAYOUT]]);
    const key = async (s: SliceInfo): Promise<string> => {
      const { rows } = await admin.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE $2`, [schema, `ev_%_${s.sliceId}_key`]);
      return rows[0].indexdef as string;
    };
    assert.match(await key(first), /\(time_series_id, time_bucket, event_bucket, event_time DESC, event_id, event_item_key\)/);
    assert.match(await key(next), /\(time_series_id, time_bucket, event_time DESC, event_id, event_item_key\)/);
  });

  it('keeps int64 rollup counts exact; advance never moves back', async () => {
    const s = await open(uniqueName('dgw_t'));
    const r = s.rollups!;
    const max = 2n ** 63n - 1n;
    assert.equal(await r.advance('ns', 'big', { count: max, rollupTsMicros: T0 }), true);
    assert.equal(await r.advance('ns', 'big', { count: 1n, rollupTsMicros: T0 }), false);
    assert.equal((await r.get('ns', 'big'))?.lastRollupCount, max);
    assert.equal(await r.advance('ns', 'big', { count: -(2n ** 63n), rollupTsMicros: T0 + 1 }), true);
    assert.equal((await r.get('ns', 'big'))?.lastRollupCount, -(2n ** 63n));
    await assert.rejects(r.advance('ns', 'big', { count: 2n ** 63n, rollupTsMicros: T0 + 2 }), isCode('OUT_OF_RANGE'));
    // Concurrent advances and write marks from many callers converge on the maxima.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2
          ? r.advance('ns', 'race', { count: BigInt(i), rollupTsMicros: T0 + i })
          : r.recordWrites([{ namespace: 'ns', counter: 'race', eventTimeMicros: T0 + 100 + i }]),
      ),
    );
    const race = await r.get('ns', 'race');
    assert.deepEqual({ ...race, firstWriteTsMicros: undefined }, { lastRollupCount: 39n, lastRollupTsMicros: T0 + 39, lastWriteTsMicros: T0 + 138, firstWriteTsMicros: undefined });
  });

  it('fails fast with UNAVAILABLE when PostgreSQL is unreachable (closed port)', async () => {
    const started = Date.now();
    await assert.rejects(
      createPostgresStores({ url: 'postgres://postgres@127.0.0.1:1/test', schema: 'dgw_unreachable', connectionTimeoutMs: 1000 }),
      (err: unknown) => {
        assert.ok(isDgwError(err) && err.code === 'UNAVAILABLE', String(err));
        assert.match(err.message, /PostgreSQL at 127\.0\.0\.1:1\/test is unavailable/);
        return true;
      },
    );
    // A closed port is refused at once; without the fail-fast path the pool would retry or
    // wait for the OS connect timeout (tens of seconds). 10 s (was 3 s, exceeded at load
    // average 15-30) still tells the two apart.
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  });

  it('a statement blocked past statementTimeoutMs fails with DEADLINE_EXCEEDED', async () => {
    const schema = uniqueName('dgw_t');
    const s = await open(schema, { statementTimeoutMs: 200 });
    const locker = await admin.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".rollups IN ACCESS EXCLUSIVE MODE`);
      const started = Date.now();
      await assert.rejects(s.rollups!.get('ns', 'c'), isCode('DEADLINE_EXCEEDED'));
      // Without the statement timeout the read waits for the lock, which is held until
      // after this check: it would never end. 10 s (was 2 s) for a loaded box.
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    assert.equal(await s.rollups!.get('ns', 'c'), undefined);
  });

  it('a saturated pool fails waiting callers with DEADLINE_EXCEEDED instead of queueing them', async () => {
    const schema = uniqueName('dgw_t');
    const s = await open(schema, { maxConnections: 1, connectionTimeoutMs: 300 });
    const locker = await admin.connect();
    let blocked: Promise<unknown> | undefined;
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${schema}".rollups IN ACCESS EXCLUSIVE MODE`);
      blocked = s.rollups!.get('ns', 'held'); // holds the only connection
      const started = Date.now();
      await assert.rejects(s.rollups!.get('ns', 'waiting'), isCode('DEADLINE_EXCEEDED'));
      // Queued instead, the caller would wait for the only connection, held until after
      // this check: it would never end. 10 s (was 2 s) for a loaded box.
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    assert.equal(await blocked, undefined);
  });

  it('a terminated connection fails with UNAVAILABLE at most once, then the pool recovers', async () => {
    const schema = uniqueName('dgw_t');
    const s = await open(schema, { maxConnections: 1 });
    await s.namespaces!.put('counter', 'n1', { a: 1 }, T0);
    const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dgw' AND pid <> pg_backend_pid() AND query LIKE '%${schema}%'`);
    assert.equal(killed.rowCount, 1, 'the store\'s one pooled connection was terminated');
    const first = await s.namespaces!.get('counter', 'n1').catch((err: unknown) => err);
    if (!(first && typeof first === 'object' && 'config' in first)) assert.ok(isCode('UNAVAILABLE')(first), String(first));
    assert.deepEqual((await s.namespaces!.get('counter', 'n1'))?.config, { a: 1 });
  });
});
