/**
 * The operations a client worker drives, described by plain JSON specs so the harness
 * can send them over IPC. `createOp` turns a spec into a function doing one request;
 * every target (dgw over HTTP, Redis, PostgreSQL, Cassandra, raw SQLite) goes through the same loop in
 * worker.ts, so latency and throughput are measured the same way for dgw and for the
 * baselines.
 */
import { Pool } from 'undici';
import { Redis } from 'ioredis';
import pg from 'pg';
import cassandra from 'cassandra-driver';
import { sqliteOp, type SqliteOpSpec } from './sqlite-baseline.js';

/** How one request ended: 2xx, refused for load (429 RESOURCE_EXHAUSTED), or failed. */
export type Outcome = 'ok' | 'rejected' | 'error';

/** A dgw HTTP request body generator, by name. */
export type BodySpec =
  | { gen: 'addCount'; namespace: string; counters: number; token: boolean }
  | { gen: 'getCount'; namespace: string; counters: number }
  | { gen: 'writeEvents'; namespace: string; batch: number; series: number }
  | { gen: 'readEvents'; namespace: string; series: number; startIso: string; endIso: string; pageSize: number }
  | { gen: 'searchEvents'; namespace: string; startIso: string; endIso: string; pageSize: number };

/** One operation of a scenario. */
export type OpSpec =
  | { kind: 'http'; origin: string; path: string; body: BodySpec; headers?: Record<string, string> }
  | { kind: 'redis'; url: string; command: 'incrby' | 'get'; keys: number }
  | { kind: 'pg'; url: string; query: 'update' | 'insert' | 'range'; batch: number; series: number }
  | { kind: 'cql'; contactPoint: string; localDataCenter: string; keyspace: string; query: 'counter' | 'insert' | 'range' | 'sai'; batch: number; series: number; counters: number }
  | SqliteOpSpec;

/** A ready operation: call `run` repeatedly from `concurrency` loops, then `close`. */
export interface Op {
  run(loop: number): Promise<Outcome>;
  /** The message of a failed request, for the report (first one kept by the caller). */
  lastError: string | undefined;
  close(): Promise<void>;
}

/** Values the generated events carry in their one indexed item (search matches one of four). */
export const DEVICE_TYPES = ['ios', 'android', 'web', 'tv'] as const;

const b64 = (s: string) => Buffer.from(s).toString('base64');
const DEVICE_B64 = DEVICE_TYPES.map(b64);
const rand = (n: number) => Math.floor(Math.random() * n);

/** Builds the body generator of a dgw request; `tag` keeps tokens unique across workers. */
export function makeBody(spec: BodySpec, tag: string): () => string {
  let seq = 0;
  switch (spec.gen) {
    case 'addCount':
      return () => {
        const base = `{"namespace":"${spec.namespace}","counter_name":"c${rand(spec.counters)}","delta":1`;
        if (!spec.token) return `${base}}`;
        return `${base},"idempotency_token":{"token":"${tag}-${seq++}","generation_time":"${new Date().toISOString()}"}}`;
      };
    case 'getCount':
      return () => `{"namespace":"${spec.namespace}","counter_name":"c${rand(spec.counters)}"}`;
    case 'writeEvents':
      return () => {
        const now = new Date().toISOString();
        const events: string[] = [];
        for (let i = 0; i < spec.batch; i++) {
          const id = `${tag}-${seq++}`;
          events.push(
            `{"timeSeriesId":"s${rand(spec.series)}","eventTime":"${now}","eventId":"${id}","eventItems":[{"eventItemKey":"deviceType","eventItemValue":"${DEVICE_B64[seq % 4]}"}]}`,
          );
        }
        return `{"namespace":"${spec.namespace}","events":[${events.join(',')}]}`;
      };
    case 'readEvents':
      return () =>
        `{"namespace":"${spec.namespace}","timeSeriesId":"s${rand(spec.series)}","timeInterval":{"start":"${spec.startIso}","end":"${spec.endIso}"},"pageSize":${spec.pageSize}}`;
    case 'searchEvents':
      return () =>
        `{"namespace":"${spec.namespace}","timeInterval":{"start":"${spec.startIso}","end":"${spec.endIso}"},"searchQuery":{"equals":{"eventItemKey":"deviceType","eventItemValue":"${DEVICE_B64[rand(4)]}"}},"pageSize":${spec.pageSize}}`;
  }
}

/** Creates the operation of a spec with `concurrency` connections. */
export async function createOp(spec: OpSpec, concurrency: number, tag: string): Promise<Op> {
  switch (spec.kind) {
    case 'http':
      return httpOp(spec, concurrency, tag);
    case 'redis':
      return redisOp(spec, concurrency);
    case 'pg':
      return pgOp(spec, concurrency, tag);
    case 'cql':
      return cqlOp(spec, tag);
    case 'sqlite':
      return sqliteOp(spec, tag);
  }
}

function httpOp(spec: Extract<OpSpec, { kind: 'http' }>, concurrency: number, tag: string): Op {
  const pool = new Pool(spec.origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const body = makeBody(spec.body, tag);
  const headers = { 'content-type': 'application/json', ...spec.headers };
  const op: Op = {
    lastError: undefined,
    async run() {
      try {
        const r = await pool.request({ method: 'POST', path: spec.path, headers, body: body() });
        if (r.statusCode < 300) {
          await r.body.dump();
          return 'ok';
        }
        const text = await r.body.text();
        if (r.statusCode === 429) return 'rejected';
        op.lastError = `HTTP ${r.statusCode}: ${text.slice(0, 300)}`;
        return 'error';
      } catch (err) {
        op.lastError = err instanceof Error ? err.message : String(err);
        return 'error';
      }
    },
    // destroy, not close: requests abandoned at the end of the window are aborted.
    close: () => pool.destroy(),
  };
  return op;
}

async function redisOp(spec: Extract<OpSpec, { kind: 'redis' }>, concurrency: number): Promise<Op> {
  // One connection per loop, one request in flight on each: the same shape as the HTTP
  // pool, so the ratio compares servers, not pipelining.
  const clients = Array.from({ length: concurrency }, () => new Redis(spec.url, { lazyConnect: true, maxRetriesPerRequest: 0 }));
  await Promise.all(clients.map((c) => c.connect()));
  const op: Op = {
    lastError: undefined,
    async run(loop) {
      const c = clients[loop % clients.length]!;
      try {
        const key = `dgwbench:c${rand(spec.keys)}`;
        if (spec.command === 'incrby') await c.incrby(key, 1);
        else await c.get(key);
        return 'ok';
      } catch (err) {
        op.lastError = err instanceof Error ? err.message : String(err);
        return 'error';
      }
    },
    close: async () => {
      for (const c of clients) c.disconnect();
    },
  };
  return op;
}

async function pgOp(spec: Extract<OpSpec, { kind: 'pg' }>, concurrency: number, tag: string): Promise<Op> {
  const clients = Array.from({ length: concurrency }, () => new pg.Client({ connectionString: spec.url }));
  await Promise.all(clients.map((c) => c.connect()));
  let seq = 0;
  const since = new Date(Date.now() - 3 * 3600_000).toISOString();
  const op: Op = {
    lastError: undefined,
    async run(loop) {
      const c = clients[loop % clients.length]!;
      try {
        if (spec.query === 'update') {
          await c.query({ name: 'upd', text: 'UPDATE bench_counter SET v = v + $1 WHERE id = 1', values: [1] });
        } else if (spec.query === 'range') {
          await c.query({
            name: 'range',
            text: 'SELECT series, ts, id, k, v FROM bench_events WHERE series = $1 AND ts >= $2 AND ts < now() + interval \'1 minute\' ORDER BY ts DESC, id DESC LIMIT 100',
            values: [`s${rand(spec.series)}`, since],
          });
        } else {
          const series: string[] = [];
          const ids: string[] = [];
          const vals: string[] = [];
          for (let i = 0; i < spec.batch; i++) {
            series.push(`s${rand(spec.series)}`);
            ids.push(`${tag}-${seq++}`);
            vals.push(DEVICE_TYPES[seq % 4]!);
          }
          await c.query({
            name: 'ins',
            text: `INSERT INTO bench_events (series, ts, id, k, v)
                   SELECT s, now(), i, 'deviceType', convert_to(v, 'UTF8') FROM unnest($1::text[], $2::text[], $3::text[]) AS t(s, i, v)
                   ON CONFLICT DO NOTHING`,
            values: [series, ids, vals],
          });
        }
        return 'ok';
      } catch (err) {
        op.lastError = err instanceof Error ? err.message : String(err);
        return 'error';
      }
    },
    close: async () => {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    },
  };
  return op;
}

async function cqlOp(spec: Extract<OpSpec, { kind: 'cql' }>, tag: string): Promise<Op> {
  // One driver client per worker, as dgw has one per server: it multiplexes the loops'
  // requests over its connections (the driver's normal use), prepared, token-aware.
  const client = new cassandra.Client({
    contactPoints: [spec.contactPoint],
    localDataCenter: spec.localDataCenter,
    keyspace: spec.keyspace,
    queryOptions: { consistency: cassandra.types.consistencies.localQuorum, prepare: true },
    socketOptions: { readTimeout: 12_000 },
  });
  await client.connect();
  const counter = 'UPDATE bench_counter SET v = v + 1 WHERE id = ?';
  const insert = "INSERT INTO bench_events (series, ts, id, k, v) VALUES (?, ?, ?, 'deviceType', ?)";
  const range = 'SELECT series, ts, id, k, v FROM bench_events WHERE series = ? AND ts >= ? LIMIT 100';
  const sai = 'SELECT series, ts, id, dt FROM bench_search WHERE dt = ? LIMIT 100';
  const values = DEVICE_TYPES.map((d) => Buffer.from(d));
  const since = new Date(Date.now() - 3 * 3600_000);
  let seq = 0;
  const op: Op = {
    lastError: undefined,
    async run() {
      try {
        if (spec.query === 'counter') {
          await client.execute(counter, [rand(spec.counters)]);
        } else if (spec.query === 'sai') {
          await client.execute(sai, [DEVICE_TYPES[rand(4)]], { isIdempotent: true });
        } else if (spec.query === 'range') {
          await client.execute(range, [`s${rand(spec.series)}`, since], { isIdempotent: true });
        } else {
          const now = new Date();
          const one = () => client.execute(insert, [`s${rand(spec.series)}`, now, `${tag}-${seq++}`, values[seq % 4]], { isIdempotent: true });
          // At most 32 in flight per request, as dgw's Cassandra adapter sends a call's batches.
          for (let left = spec.batch; left > 0; left -= 32) await Promise.all(Array.from({ length: Math.min(32, left) }, one));
        }
        return 'ok';
      } catch (err) {
        op.lastError = err instanceof Error ? err.message : String(err);
        return 'error';
      }
    },
    close: () => client.shutdown(),
  };
  return op;
}
