/**
 * The scenarios of `dgw bench` (issue 5): what each one sends, with what namespace
 * settings, and which baseline it is compared with. Namespaces are created fresh in
 * each run by the harness (`setupDgw` in dgw-setup.ts).
 */
import { join } from 'node:path';
import type { OpSpec } from './ops.js';

/** Where a scenario's load goes. */
export type TargetKind = 'dgw' | 'redis' | 'postgres' | 'cql' | 'sqlite_raw' | 'floor';

/** One measured scenario. */
export interface Scenario {
  /** Stable key, also used in the JSON results and for `--only`. */
  id: string;
  /** What the table prints. */
  title: string;
  /** The stores this runs on: "sqlite", "postgres+redis", "cassandra", or the baseline server. */
  backend: string;
  target: TargetKind;
  op: OpSpec;
  /** Events per request, when a request carries several (events/s is reported). */
  eventsPerOp?: number;
  /** Baseline scenario keys (without backend prefix) to print dgw ÷ baseline against. */
  compareWith?: string[];
  /** Which DESIGN 5 target applies, if any. */
  target5?: DesignTarget;
  /** Requests in flight for this scenario, instead of the run's `--concurrency`. */
  concurrency?: number;
}

/** The quality bars of DESIGN 5. */
export type DesignTarget =
  | { metric: 'opsPerSec'; min: number; p99MaxMs?: number; label: string }
  | { metric: 'eventsPerSec'; min: number; label: string }
  | { metric: 'p99'; maxMs: number; label: string };

/** Namespace names used by the dgw scenarios. */
export const NS = {
  eventual: 'bench_ctr_eventual',
  accurate: 'bench_ctr_accurate',
  bestEffort: 'bench_ctr_best_effort',
  convergence: 'bench_ctr_convergence',
  scale: 'bench_ctr_scale',
  wide: 'bench_ctr_wide',
  writes: 'bench_ts_writes',
  buffered: 'bench_ts_buffered',
  reads: 'bench_ts_reads',
} as const;

/** Counters per counter namespace that the add/get scenarios spread over. */
export const COUNTERS = 100;
/** Series the write scenarios spread over. */
export const WRITE_SERIES = 1000;
/** Events per series in the read namespace (so a page of 100 is always full). */
export const EVENTS_PER_SERIES = 1000;

/** Settings of the read namespace preload, fixed when the harness preloads it. */
export interface ReadWindow {
  series: number;
  startIso: string;
  endIso: string;
}

/** Distinct counters of the `--scale` AddCount scenarios ("how cost grows", issue 9). */
export const SCALE_COUNTERS = [100, 10_000, 1_000_000] as const;

/** The `--scale` scenarios: AddCount EVENTUAL with tokens over 100, 10,000 and 1,000,000 distinct counters. */
export function scaleScenarios(backend: string, origin: string): Scenario[] {
  return SCALE_COUNTERS.map((n) => ({
    id: `${backend}.addcount.scale.${n}`,
    title: `AddCount EVENTUAL, tokens, ${n.toLocaleString('en-US')} counters`,
    backend,
    target: 'dgw' as const,
    op: { kind: 'http' as const, origin, path: '/v1/counter/AddCount', body: { gen: 'addCount' as const, namespace: NS.scale, counters: n, token: true } },
  }));
}

/**
 * The dgw scenarios of the Cassandra backend (issue 8: the shapes of the plain-CQL
 * baseline) and the CQL row each is compared with.
 */
const CASSANDRA_PAIRS: Readonly<Record<string, string>> = {
  'addcount.eventual': 'cql.counter_update',
  'write_sync.b1': 'cql.insert.b1',
  'write_sync.b100': 'cql.insert.b100',
  'read.page100': 'cql.range',
  'search.page100': 'cql.sai_equals',
};

/** The dgw scenarios for one backend, in run order (GetCount reads what AddCount wrote). */
export function dgwScenarios(backend: string, origin: string, reads: ReadWindow): Scenario[] {
  const all = allDgwScenarios(backend, origin, reads);
  if (backend !== 'cassandra') return all;
  return all
    .filter((sc) => CASSANDRA_PAIRS[sc.id.slice(backend.length + 1)] !== undefined)
    .map((sc) => ({ ...sc, compareWith: [CASSANDRA_PAIRS[sc.id.slice(backend.length + 1)]!] }));
}

function allDgwScenarios(backend: string, origin: string, reads: ReadWindow): Scenario[] {
  const http = (path: string, body: Extract<OpSpec, { kind: 'http' }>['body']): OpSpec => ({ kind: 'http', origin, path, body });
  const s = (id: string, rest: Omit<Scenario, 'id' | 'backend' | 'target'>): Scenario => ({ id: `${backend}.${id}`, backend, target: 'dgw', ...rest });
  const readOp = http('/v1/timeseries/ReadEventRecords', { gen: 'readEvents', namespace: NS.reads, series: reads.series, startIso: reads.startIso, endIso: reads.endIso, pageSize: 100 });
  const write = (batch: number, ns: string, path: string) => http(path, { gen: 'writeEvents', namespace: ns, batch, series: WRITE_SERIES });
  // The hand-written floors (floor-server.ts) of this backend's stores.
  const floors = (sqlite: string[], postgres: string[]) => (backend === 'sqlite' ? sqlite : backend === 'postgres+redis' ? postgres : []);
  return [
    s('addcount.eventual', {
      title: 'AddCount EVENTUAL, idempotency tokens',
      op: http('/v1/counter/AddCount', { gen: 'addCount', namespace: NS.eventual, counters: COUNTERS, token: true }),
      compareWith: ['redis.incrby', 'postgres.update', 'floor.node_http', ...floors(['floor.sqlite_add', 'floor.sqlite_add.ordered'], [])],
      target5: { metric: 'opsPerSec', min: 20_000, p99MaxMs: 10, label: 'AddCount ≥ 20,000/s at p99 ≤ 10 ms' },
    }),
    s('getcount.eventual', {
      title: 'GetCount EVENTUAL',
      op: http('/v1/counter/GetCount', { gen: 'getCount', namespace: NS.eventual, counters: COUNTERS }),
      compareWith: ['redis.get', 'floor.node_http'],
      target5: { metric: 'opsPerSec', min: 25_000, label: 'GetCount ≥ 25,000/s' },
    }),
    s('addandget.accurate', {
      title: 'AddAndGetCount ACCURATE, tokens',
      op: http('/v1/counter/AddAndGetCount', { gen: 'addCount', namespace: NS.accurate, counters: COUNTERS, token: true }),
      compareWith: ['postgres.update'],
    }),
    s('addcount.best_effort', {
      title: 'AddCount BEST_EFFORT',
      op: http('/v1/counter/AddCount', { gen: 'addCount', namespace: NS.bestEffort, counters: COUNTERS, token: false }),
      compareWith: ['redis.incrby'],
    }),
    s('write_sync.b1', {
      title: 'WriteEventRecordsSync, batch 1',
      op: write(1, NS.writes, '/v1/timeseries/WriteEventRecordsSync'),
      eventsPerOp: 1,
      compareWith: ['postgres.insert.b1'],
    }),
    s('write_sync.b10', { title: 'WriteEventRecordsSync, batch 10', op: write(10, NS.writes, '/v1/timeseries/WriteEventRecordsSync'), eventsPerOp: 10 }),
    s('write_sync.b100', {
      title: 'WriteEventRecordsSync, batch 100',
      op: write(100, NS.writes, '/v1/timeseries/WriteEventRecordsSync'),
      eventsPerOp: 100,
      compareWith: ['postgres.insert.b100', 'sqlite_raw.insert.b100'],
      target5: { metric: 'eventsPerSec', min: 100_000, label: 'WriteEventRecordsSync ≥ 100,000 events/s (batch 100)' },
    }),
    s('write_buffered.b10', {
      title: 'WriteEventRecords (buffered), batch 10',
      op: write(10, NS.buffered, '/v1/timeseries/WriteEventRecords'),
      eventsPerOp: 10,
    }),
    s('read.page100', {
      title: 'ReadEventRecords, page of 100',
      op: readOp,
      compareWith: ['postgres.range', ...floors(['floor.sqlite_read'], ['floor.pg_read'])],
    }),
    // The latency bar is judged at light load: with 50 closed loops, p99 is mostly
    // queueing (50 requests in flight × the service time).
    s('read.page100.c4', {
      title: 'ReadEventRecords, page of 100, 4 in flight',
      op: readOp,
      concurrency: 4,
      compareWith: floors(['floor.sqlite_read.c4'], []),
      target5: { metric: 'p99', maxMs: 10, label: 'ReadEventRecords p99 ≤ 10 ms over 1,000,000 events' },
    }),
    s('search.page100', {
      title: 'SearchEventRecords equals, page of 100',
      op: http('/v1/timeseries/SearchEventRecords', { gen: 'searchEvents', namespace: NS.reads, startIso: reads.startIso, endIso: reads.endIso, pageSize: 100 }),
    }),
  ];
}

/**
 * The baseline scenarios: Redis, a plain PostgreSQL schema, raw SQLite (a database file
 * in `sqliteDir`) and the floors (node:http servers at `floorOrigin`, src/bench/floor-server.ts:
 * bare, and hand-written over SQLite and PostgreSQL, read over `floorReads`), same harness.
 */
export function baselineScenarios(redisUrl: string, postgresUrl: string, series: number, sqliteDir: string, floorOrigin: string, floorReads: ReadWindow): Scenario[] {
  const b = (id: string, target: TargetKind, title: string, op: OpSpec, eventsPerOp?: number): Scenario => ({
    id,
    backend: target,
    target,
    title,
    op,
    ...(eventsPerOp ? { eventsPerOp } : {}),
  });
  const floorRead = (path: string): OpSpec => ({
    kind: 'http',
    origin: floorOrigin,
    path,
    body: { gen: 'readEvents', namespace: NS.reads, series: floorReads.series, startIso: floorReads.startIso, endIso: floorReads.endIso, pageSize: 100 },
  });
  const pgq = (query: 'update' | 'insert' | 'range', batch = 1): OpSpec => ({ kind: 'pg', url: postgresUrl, query, batch, series });
  return [
    b('redis.incrby', 'redis', 'Redis INCRBY', { kind: 'redis', url: redisUrl, command: 'incrby', keys: COUNTERS }),
    b('redis.get', 'redis', 'Redis GET', { kind: 'redis', url: redisUrl, command: 'get', keys: COUNTERS }),
    b('postgres.update', 'postgres', 'PostgreSQL UPDATE v = v + $1, one row', pgq('update')),
    b('postgres.insert.b1', 'postgres', 'PostgreSQL INSERT events, batch 1', pgq('insert', 1), 1),
    b('postgres.insert.b100', 'postgres', 'PostgreSQL INSERT events, batch 100', pgq('insert', 100), 100),
    b('postgres.range', 'postgres', 'PostgreSQL range read by key, LIMIT 100', pgq('range')),
    // One writer, one transaction per batch: what an application using better-sqlite3 directly does.
    {
      ...b('sqlite_raw.insert.b100', 'sqlite_raw', 'raw SQLite INSERT events, batch 100, one transaction', { kind: 'sqlite', file: join(sqliteDir, 'baseline.db'), batch: 100, series: WRITE_SERIES }, 100),
      concurrency: 1,
    },
    // The same AddCount body dgw gets, answered by a bare node:http server: the per-request
    // cost of any Node HTTP service here, and how it compares with Redis.
    {
      ...b('floor.node_http', 'floor', 'bare node:http server, AddCount-shaped POST (no dgw)', {
        kind: 'http',
        origin: floorOrigin,
        path: '/v1/counter/AddCount',
        body: { gen: 'addCount', namespace: NS.eventual, counters: COUNTERS, token: true },
      }),
      compareWith: ['redis.incrby', 'redis.get'],
    },
    // What a team writing the service by hand with node:http + better-sqlite3 does
    // (floor-sqlite.ts): the floors of dgw's embedded-SQLite reads and durable adds.
    b('floor.sqlite_read', 'floor', 'node:http + better-sqlite3, page of 100 (hand-written)', floorRead('/sqlite/ReadEventRecords')),
    { ...b('floor.sqlite_read.c4', 'floor', 'node:http + better-sqlite3, page of 100, 4 in flight', floorRead('/sqlite/ReadEventRecords')), concurrency: 4 },
    b('floor.sqlite_add', 'floor', 'node:http + better-sqlite3, AddCount appended, group commit (hand-written)', {
      kind: 'http',
      origin: floorOrigin,
      path: '/sqlite/AddCount',
      body: { gen: 'addCount', namespace: NS.eventual, counters: COUNTERS, token: true },
    }),
    // The same add keyed as dgw keys a counter's events, a retry stored once: dgw's AddCount
    // minus dgw's own work (guard, request log, metrics, write marks, rollups).
    b('floor.sqlite_add.ordered', 'floor', 'node:http + better-sqlite3, AddCount keyed by (counter, time, token), first write wins (hand-written)', {
      kind: 'http',
      origin: floorOrigin,
      path: '/sqlite/AddCountOrdered',
      body: { gen: 'addCount', namespace: NS.eventual, counters: COUNTERS, token: true },
    }),
    b('floor.pg_read', 'floor', 'node:http + pg Pool, page of 100 from bench_events (hand-written)', floorRead('/pg/ReadEventRecords')),
  ];
}

/** Where the CQL baseline runs. */
export interface CqlBaselineTarget {
  contactPoint: string;
  localDataCenter: string;
  keyspace: string;
}

/** The plain-CQL baseline scenarios (src/bench/cql-baseline.ts), same harness. */
export function cqlScenarios(t: CqlBaselineTarget, series: number): Scenario[] {
  const op = (query: 'counter' | 'insert' | 'range' | 'sai', batch = 1): OpSpec => ({ kind: 'cql', ...t, query, batch, series, counters: COUNTERS });
  const b = (id: string, title: string, spec: OpSpec, eventsPerOp?: number): Scenario => ({ id, backend: 'cql', target: 'cql', title, op: spec, ...(eventsPerOp ? { eventsPerOp } : {}) });
  return [
    b('cql.counter_update', 'CQL UPDATE counter v = v + 1, 100 rows', op('counter')),
    b('cql.insert.b1', 'CQL INSERT events, 1 row', op('insert', 1), 1),
    b('cql.insert.b100', 'CQL INSERT events, 100 rows concurrently', op('insert', 100), 100),
    b('cql.range', 'CQL range read of one partition, LIMIT 100', op('range')),
    b('cql.sai_equals', 'CQL SAI equals on the device type, LIMIT 100', op('sai')),
  ];
}
