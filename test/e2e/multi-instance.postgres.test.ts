/**
 * Several dgw instances side by side (issue 4, "What it must show"): three `dgw serve`
 * processes on different ports sharing one PostgreSQL and one Redis (their own schema and
 * key prefix, from a --config file, so parallel tests are not disturbed).
 *
 * - Control plane: counter namespaces created on one instance are usable on every other
 *   within the documented 2 s namespace-cache delay.
 * - Counters: a seeded load of AddCount with idempotency tokens spread over the three
 *   instances, with retries (the same token re-sent to a DIFFERENT instance, also after
 *   accept_limit), hedges (the same token sent concurrently to two instances) and clears;
 *   GetCount on all three meanwhile (concurrent rollups on three instances). ACCURATE
 *   counters equal the exact oracle at once on every instance; EVENTUAL ones converge to it
 *   on every instance within a bounded time.
 * - TimeSeries: events written through one instance read identically through all three,
 *   page tokens from one instance usable on the others.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backendTest, deleteRedisPrefix, dropCassandraKeyspace, dropPostgresSchema, uniqueName } from '../support/backends.js';
import { parseDurationMicros } from '../../src/kernel/time.js';
import { call, CounterOracle, errorCode, isoMicros, latencySummary, nowMicros, pollUntil, prng, type CallResult } from '../support/dgw-load.js';
import { spawnServer, type ServerProcess } from '../support/server-process.js';

const pgGate = await backendTest('postgres');
const redisGate = await backendTest('redis');
const skip = pgGate.skip || redisGate.skip;

const SEED = Number(process.env.DGW_MULTI_SEED ?? 4242);
/**
 * Run the counters on Cassandra instead (issue 8): a contact point, e.g. 127.0.0.1:9042.
 * The instances then get a CASSANDRA cluster (a keyspace of this run) and the counter
 * namespaces, having no physical_storage, land on it.
 */
const CASSANDRA = process.env.DGW_MULTI_CASSANDRA;
/**
 * accept_limit of the counter namespaces (DGW_MULTI_ACCEPT; 10s). A mutation is stamped by
 * the client before its call and refused once a rollup may have passed that time, i.e.
 * when it reaches the server later than accept_limit + skew_margin after its stamp. It
 * was 1 s: at load average 15-30 single calls took over 1 s (the slow-call list below)
 * and plain adds were refused. 10 s is a tenfold margin and still below the 15 s call
 * timeout, so a call slow enough is still refused and fails the test; retries of old
 * mutations still go past it (the load lasts longer than 10 s).
 */
const ACCEPT = process.env.DGW_MULTI_ACCEPT ?? '10s';
const ACCEPT_MS = (parseDurationMicros(ACCEPT) ?? 10_000_000) / 1000;
/**
 * Client timeout of one call. Generous: the first reads of a counter never rolled up scan
 * every time bucket of its slice (hundreds of partition queries), slow on a loaded 2-core box.
 */
const CALL_TIMEOUT_MS = 15_000;
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Counter namespace document: small accept_limit, skew and coalesce keep convergence fast. */
const counterDoc = (type: 'EVENTUAL' | 'ACCURATE') => ({
  persistence_configuration: [
    {
      id: 'COUNTER_ROLLUP',
      config: {
        counter_type: type,
        skew_margin: '500ms',
        [type === 'EVENTUAL' ? 'eventual_counter_config' : 'accurate_counter_config']: {
          internal_config: { queue_config: { num_queues: 4, coalesce_ms: 100 }, rollup_batch_count: 16 },
        },
      },
    },
    { id: 'EVENT_STORAGE', config: { accept_limit: ACCEPT } },
  ],
});

describe('three dgw instances on one PostgreSQL + Redis', { skip }, () => {
  const schema = uniqueName('dgw_multi');
  const keyPrefix = `${schema}:`;
  const keyspace = schema;
  let dir: string;
  let servers: ServerProcess[] = [];
  let urls: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dgw-multi-'));
    const config = join(dir, 'dgw.json');
    writeFileSync(
      config,
      JSON.stringify({
        clusters: [
          { name: 'pg', type: 'POSTGRES', url: pgGate.url, schema, maxConnections: 8 },
          { name: 'cache', type: 'REDIS', url: redisGate.url, keyPrefix },
          ...(CASSANDRA ? [{ name: 'cass', type: 'CASSANDRA', contactPoints: [CASSANDRA], keyspace }] : []),
        ],
      }),
    );
    // The first instance runs the migrations; the other two start concurrently after it.
    servers.push(await spawnServer(join(dir, 'd0'), ['--config', config]));
    servers.push(...(await Promise.all([1, 2].map((i) => spawnServer(join(dir, `d${i}`), ['--config', config])))));
    urls = servers.map((s) => s.url);
  });

  after(async () => {
    const stopping = performance.now();
    const codes = await Promise.all(servers.map((s) => s.stop()));
    console.log(`multi-instance: graceful stop of 3 instances took ${Math.round(performance.now() - stopping)} ms (exit codes ${codes.join(',')})`);
    if (process.env.DGW_TEST_VERBOSE) for (const s of servers) console.log(s.output());
    servers = [];
    if (dir) rmSync(dir, { recursive: true, force: true });
    await dropPostgresSchema(schema, pgGate.url);
    await deleteRedisPrefix(keyPrefix, redisGate.url);
    if (CASSANDRA) await dropCassandraKeyspace(keyspace, CASSANDRA);
  });

  it('counters: AddCount with retries and hedges across instances is exact on every instance', async () => {
    assert.equal(new Set(urls).size, 3, 'three distinct ports');
    const rand = prng(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const ns = { EVENTUAL: uniqueName('mi_ev'), ACCURATE: uniqueName('mi_acc') };

    // Not yet created: the other instances answer NOT_FOUND (and cache nothing).
    for (const u of urls.slice(1)) assert.equal((await call(u, 'GET', `/v1/counter/namespaces/${ns.EVENTUAL}`, undefined)).status, 404);
    const created = performance.now();
    for (const type of ['EVENTUAL', 'ACCURATE'] as const) {
      const r = await call(urls[0]!, 'PUT', `/v1/counter/namespaces/${ns[type]}`, counterDoc(type));
      assert.equal(r.status, 201, JSON.stringify(r.json));
    }
    // The documented control-plane delay is 2 s (docs/namespaces.md "Several instances");
    // it is printed below. The bound asserted adds 13 s for the polling itself: one round is
    // 6 calls, and at load average 15-30 single calls took over 1 s (was 6 s, which a round
    // or two of slow calls used up). A namespace never seen still fails it.
    const visibleMs = await pollUntil(
      async () => {
        for (const u of urls) {
          for (const name of Object.values(ns)) {
            const r = await call(u, 'POST', '/v1/counter/GetCount', { namespace: name, counter_name: 'probe' });
            if (r.status !== 200) return false;
          }
        }
        return true;
      },
      2000 + 13_000,
      () => 'namespaces not usable on every instance',
      50,
    );
    console.log(`multi-instance: namespaces created on instance 0 usable on all three after ${Math.round(performance.now() - created)} ms (poll ${Math.round(visibleMs)} ms)`);

    const COUNTERS = Array.from({ length: 6 }, (_, i) => `c${i}`);
    const oracles = { EVENTUAL: new CounterOracle(), ACCURATE: new CounterOracle() };
    let seq = 0;
    const stats = { sent: 0, retries: 0, hedges: 0, lateRetries: 0, clears: 0, gets: 0 };
    const latencies: number[] = [];
    type Op = { type: 'EVENTUAL' | 'ACCURATE'; path: string; body: Record<string, unknown>; counter: string; token: string; time: number; delta?: bigint };
    const done: Op[] = [];
    const slow: string[] = [];
    const ok = (r: CallResult, what: string) => {
      latencies.push(r.ms);
      if (r.ms > 1000) slow.push(`${what} ${Math.round(r.ms)} ms at +${Math.round(r.at - loadStarted)} ms`);
      assert.equal(r.status, 200, `${what}: ${errorCode(r)} ${JSON.stringify(r.json)}`);
    };

    const sendOp = async (op: Op, mode: 'plain' | 'retry' | 'hedge'): Promise<void> => {
      const first = Math.floor(rand() * 3);
      const other = (first + 1 + Math.floor(rand() * 2)) % 3;
      if (mode === 'hedge') {
        stats.hedges++;
        const [a, b] = await Promise.all([call(urls[first]!, 'POST', op.path, op.body, CALL_TIMEOUT_MS), call(urls[other]!, 'POST', op.path, op.body, CALL_TIMEOUT_MS)]);
        ok(a, 'hedge a');
        ok(b, 'hedge b');
      } else {
        ok(await call(urls[first]!, 'POST', op.path, op.body, CALL_TIMEOUT_MS), `${op.path} ${op.type}`);
        if (mode === 'retry') {
          // The response was "lost": the client re-sends the same token to another instance.
          stats.retries++;
          ok(await call(urls[other]!, 'POST', op.path, op.body, CALL_TIMEOUT_MS), 'retry');
        }
      }
      if (op.delta === undefined) oracles[op.type].clear(op.counter, op.token, op.time);
      else oracles[op.type].add(op.counter, op.token, op.time, op.delta);
      done.push(op);
    };

    const loadStarted = performance.now();
    const newOp = (): Op => {
      const type = rand() < 0.5 ? 'EVENTUAL' : 'ACCURATE';
      const counter = pick(COUNTERS);
      const token = `t${SEED}-${seq++}`;
      const time = nowMicros();
      const idempotency_token = { token, generation_time: isoMicros(time) };
      if (rand() < 0.02) {
        stats.clears++;
        return { type, counter, token, time, path: '/v1/counter/ClearCount', body: { namespace: ns[type], counter_name: counter, idempotency_token } };
      }
      const delta = BigInt(Math.floor(rand() * 41) - 10);
      return { type, counter, token, time, delta, path: '/v1/counter/AddCount', body: { namespace: ns[type], counter_name: counter, delta: delta.toString(), idempotency_token } };
    };

    const TOTAL = Number(process.env.DGW_MULTI_OPS ?? 600);
    const WORKERS = 12;
    let issued = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (issued < TOTAL) {
          issued++;
          stats.sent++;
          const r = rand();
          if (r < 0.04 && done.length > 20) {
            // A retry of an old mutation (often past accept_limit) to a random instance.
            stats.lateRetries++;
            const old = pick(done);
            ok(await call(pick(urls), 'POST', old.path, old.body, CALL_TIMEOUT_MS), 'late retry');
          } else if (r < 0.1) {
            stats.gets++;
            const type = pick(['EVENTUAL', 'ACCURATE'] as const);
            ok(await call(pick(urls), 'POST', '/v1/counter/GetCount', { namespace: ns[type], counter_name: pick(COUNTERS) }, CALL_TIMEOUT_MS), `GetCount ${type}`);
          } else {
            await sendOp(newOp(), r < 0.65 ? 'plain' : r < 0.85 ? 'retry' : 'hedge');
          }
        }
      }),
    );
    const lastAck = performance.now();
    const loadMs = lastAck - loadStarted;

    const counts = async (type: 'EVENTUAL' | 'ACCURATE') => {
      const out: Record<string, string[]> = {};
      for (const c of COUNTERS) {
        out[c] = await Promise.all(
          urls.map(async (u) => {
            const r = await call(u, 'POST', '/v1/counter/GetCount', { namespace: ns[type], counter_name: c }, CALL_TIMEOUT_MS);
            return r.status === 200 ? String(r.json.count) : errorCode(r);
          }),
        );
      }
      return out;
    };
    const matches = (type: 'EVENTUAL' | 'ACCURATE', got: Record<string, string[]>) =>
      COUNTERS.every((c) => got[c]!.every((v) => v === oracles[type].count(c).toString()));
    const expected = (type: 'EVENTUAL' | 'ACCURATE') => Object.fromEntries(COUNTERS.map((c) => [c, oracles[type].count(c).toString()]));

    // ACCURATE: exact at once, on every instance.
    const accurate = await counts('ACCURATE');
    assert.ok(matches('ACCURATE', accurate), `ACCURATE right after the load: got ${JSON.stringify(accurate)}, oracle ${JSON.stringify(expected('ACCURATE'))}`);

    // EVENTUAL: converges on every instance (accept_limit + skew 0.5s + coalesce 0.1s + slack
    // for a round of 18 reads on a loaded box).
    let last: Record<string, string[]> = {};
    await pollUntil(
      async () => matches('EVENTUAL', (last = await counts('EVENTUAL'))),
      ACCEPT_MS + 15_000,
      () => `EVENTUAL counts ${JSON.stringify(last)} vs oracle ${JSON.stringify(expected('EVENTUAL'))}`,
      100,
    );
    const convergedMs = performance.now() - lastAck;
    // And ACCURATE still equals the oracle once rolled up.
    assert.ok(matches('ACCURATE', (last = await counts('ACCURATE'))), `ACCURATE after convergence: ${JSON.stringify(last)}`);
    console.log(
      `multi-instance: ${stats.sent} ops (${JSON.stringify(stats)}) in ${Math.round(loadMs)} ms over 3 instances, latency ${JSON.stringify(latencySummary(latencies))}; ` +
        `EVENTUAL converged on all 3 instances ${Math.round(convergedMs)} ms after the last acknowledgement; calls over 1 s: ${slow.length ? slow.join('; ') : 'none'}`,
    );
  });

  it('timeseries: events written through one instance read identically through all three', async () => {
    const ns = uniqueName('mi_ts');
    const r = await call(urls[0]!, 'PUT', `/v1/timeseries/namespaces/${ns}`, {
      persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '3h', timePartition: { secondsPerTimeSlice: 1800, secondsPerTimeBucket: 300, eventBuckets: 4 } } }],
    });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const base = Date.now() - 2 * 3600_000 + 60_000; // spans five slices
    const series = ['s0', 's1', 's2'];
    const written = new Map<string, string[]>(series.map((s) => [s, []]));
    const events = Array.from({ length: 450 }, (_, i) => {
      const s = series[i % 3]!;
      const id = `e${String(i).padStart(4, '0')}`;
      written.get(s)!.push(id);
      return {
        timeSeriesId: s,
        eventTime: isoMicros((base + Math.floor(i / 3) * 47_000) * 1000 + (i % 7)),
        eventId: id,
        eventItems: [
          { eventItemKey: 'i', eventItemValue: b64(String(i)) },
          { eventItemKey: 'kind', eventItemValue: b64(i % 2 ? 'odd' : 'even') },
        ],
      };
    });
    for (let i = 0; i < events.length; i += 100) {
      const w = await call(urls[0]!, 'POST', '/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: events.slice(i, i + 100) });
      assert.equal(w.status, 200, JSON.stringify(w.json));
    }
    // Usable on every instance within the documented delay.
    await pollUntil(async () => (await Promise.all(urls.map((u) => call(u, 'GET', `/v1/timeseries/namespaces/${ns}`, undefined)))).every((x) => x.status === 200), 8000, () => 'namespace not visible everywhere', 50);

    const interval = { start: new Date(base - 1000).toISOString(), end: new Date(Date.now() + 60_000).toISOString() };
    const read = (u: string, timeSeriesId: string, pageToken?: unknown, eventFilters?: unknown) =>
      call(u, 'POST', '/v1/timeseries/ReadEventRecords', { namespace: ns, timeSeriesId, timeInterval: interval, pageSize: 17, ...(pageToken ? { pageToken } : {}), ...(eventFilters ? { eventFilters } : {}) });
    const walk = async (pickUrl: (page: number) => string, s: string, eventFilters?: unknown) => {
      const pages: unknown[][] = [];
      let token: unknown;
      for (let page = 0; page < 100; page++) {
        const res = await read(pickUrl(page), s, token, eventFilters);
        assert.equal(res.status, 200, JSON.stringify(res.json));
        pages.push(res.json.events as unknown[]);
        token = res.json.nextPageToken;
        if (!token) return pages;
      }
      throw new Error('more than 100 pages');
    };
    for (const s of series) {
      // The same walk on each instance: identical pages.
      const perInstance = await Promise.all(urls.map((u) => walk(() => u, s)));
      assert.deepEqual(perInstance[1], perInstance[0], `${s}: instance 1 pages differ from instance 0`);
      assert.deepEqual(perInstance[2], perInstance[0], `${s}: instance 2 pages differ from instance 0`);
      // Page tokens handed from instance to instance: the same pages again.
      const rotating = await walk((page) => urls[page % 3]!, s);
      assert.deepEqual(rotating, perInstance[0], `${s}: pages with tokens passed between instances differ`);
      const ids = perInstance[0]!.flat().map((e) => (e as { eventId: string }).eventId);
      assert.deepEqual(ids, [...written.get(s)!].reverse(), `${s}: every written event, newest first`);
      // Filtered reads agree too.
      const filter = [{ matchEventItemKey: 'kind', matchEventItemValue: b64('odd') }];
      const filtered = await Promise.all(urls.map((u) => walk(() => u, s, filter)));
      assert.deepEqual(filtered[1], filtered[0]);
      assert.deepEqual(filtered[2], filtered[0]);
    }

    // A delete through one instance reaches the others within the documented 2 s.
    const deleted = await call(urls[2]!, 'DELETE', `/v1/timeseries/namespaces/${ns}`, undefined);
    assert.ok(deleted.status === 200 || deleted.status === 204, JSON.stringify(deleted.json));
    const deletedAt = performance.now();
    assert.equal((await read(urls[2]!, 's0')).status, 404, 'the deleting instance sees the delete at once');
    // 2 s cache + slack for a registry read in flight during the delete and a loaded machine
    // (CI runs this beside other test files on 2 cores; 4 s of slack was once not enough, and
    // 6 s was not at load average 15-30, where one round of 3 reads could take seconds). The
    // time it took is printed; an instance that never drops the namespace still fails.
    await pollUntil(async () => (await Promise.all(urls.map((u) => read(u, 's0')))).every((x) => x.status === 404), 2000 + 13_000, async () => `delete not seen everywhere: ${JSON.stringify(await Promise.all(urls.map(async (u) => { const x = await read(u, 's0'); return [x.status, x.json]; })))}`, 50);
    console.log(`multi-instance: a namespace deleted on instance 2 was gone on all three after ${Math.round(performance.now() - deletedAt)} ms`);
  });
});
