/**
 * What the HTTP and gRPC fuzz tests (test/e2e/fuzz.*.test.ts) share: the known state they
 * put on a test server (a TimeSeries namespace of 30 events over three series with a
 * KEYWORD and a LONG index field, an ACCURATE counter namespace with three counters and a
 * fourth whose rollup is wrong on purpose, so that a RecountCount repair that should have
 * been refused changes its count), a snapshot of that state read back over HTTP
 * (namespaces and versions, every event, an aggregate, the counts, every counter's log,
 * the recount of the wrong one and a CompareCounts), and the seeded random helpers their
 * generators draw from.
 */
import assert from 'node:assert/strict';
import { prng } from './dgw-load.js';
import { b64, type TestServer } from './http-server.js';

/** The day every fuzz event lies in. */
export const FUZZ_DAY = { start: '2024-10-03T00:00:00Z', end: '2024-10-04T00:00:00Z' };

type Json = Record<string, unknown>;

/** The counter whose stored rollup is wrong on purpose: rollup 7, recount 15. */
export const FUZZ_WRONG_COUNTER = 'c3';
const COUNTERS = ['c0', 'c1', 'c2', FUZZ_WRONG_COUNTER];

/** The namespaces of one fuzz test. */
export interface FuzzNamespaces {
  /** TimeSeries namespace: events e0..e29 on series s0..s2. */
  ts: string;
  /**
   * ACCURATE counter namespace: c0 = 10, c1 = 11, c2 = 12, and `c3` (FUZZ_WRONG_COUNTER):
   * three adds of 5 whose stored rollup says 7 (a RecountCount with `repair` would make it 15).
   */
  ctr: string;
}

/** Creates the namespaces and writes the known state. */
export async function seedFuzzState(t: TestServer, ns: FuzzNamespaces): Promise<void> {
  const ts = await t.call('PUT', `/v1/timeseries/namespaces/${ns.ts}`, {
    persistence_configuration: [
      { id: 'PRIMARY_STORAGE', physical_storage: { type: 'SQLITE' }, config: { acceptLimit: '30d' } },
      { id: 'INDEX_STORAGE', physical_storage: { type: 'SQLITE' }, config: { indexConfig: { fieldMapping: { k: 'KEYWORD', n: 'LONG' } } } },
    ],
  });
  assert.equal(ts.status, 201, JSON.stringify(ts.json));
  const ctr = await t.call('PUT', `/v1/counter/namespaces/${ns.ctr}`, { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] });
  assert.equal(ctr.status, 201, JSON.stringify(ctr.json));
  const events = Array.from({ length: 30 }, (_, i) => ({
    timeSeriesId: `s${i % 3}`,
    eventTime: `2024-10-03T10:${String(i).padStart(2, '0')}:00Z`,
    eventId: `e${i}`,
    eventItems: [
      { eventItemKey: 'k', eventItemValue: b64(`v${i % 4}`) },
      { eventItemKey: 'n', eventItemValue: b64(String(i)) },
    ],
  }));
  assert.equal((await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns.ts, events })).status, 200);
  for (const [i, c] of ['c0', 'c1', 'c2'].entries()) {
    assert.equal((await t.post('/v1/counter/AddCount', { namespace: ns.ctr, counter_name: c, delta: 10 + i })).status, 200);
  }
  // c3: 3 adds of 5, rolled up, then the rollup replaced by a wrong one just past its
  // checkpoint (as counter-audit.http-grpc.test.ts does).
  for (let i = 0; i < 3; i++) {
    assert.equal((await t.post('/v1/counter/AddCount', { namespace: ns.ctr, counter_name: FUZZ_WRONG_COUNTER, delta: 5 })).status, 200);
  }
  t.clock.advance(10_000_000);
  const config = await t.server.namespaces.getCounter(ns.ctr);
  await t.server.counters.rollupNow(config, FUZZ_WRONG_COUNTER);
  const rollups = t.server.catalog.rollups(config.rollup.storage.store);
  const row = await rollups.get(ns.ctr, FUZZ_WRONG_COUNTER);
  assert.ok(row, 'c3 rolled up');
  const wrong = { count: 7n, rollupTsMicros: row.lastRollupTsMicros + 1 };
  assert.ok(await rollups.advance(ns.ctr, FUZZ_WRONG_COUNTER, wrong));
  await t.server.catalog.rollupCache(config.cache.storage.store).put(ns.ctr, FUZZ_WRONG_COUNTER, wrong);
  const recount = await t.post('/v1/counter/RecountCount', { namespace: ns.ctr, counter_name: FUZZ_WRONG_COUNTER });
  assert.deepEqual([recount.json.rollupCount, recount.json.recount], ['7', '15'], JSON.stringify(recount.json));
}

/** The state as read back over HTTP (after flushing buffered writes): equal before and after a fuzz run. */
export async function fuzzSnapshot(t: TestServer, ns: FuzzNamespaces): Promise<unknown> {
  await t.server.engine.flushBuffers();
  const lists = await Promise.all(['timeseries', 'counter'].map((k) => t.call('GET', `/v1/${k}/namespaces`)));
  const names = lists.map((l) => (l.json.namespaces as Json[]).map((n) => `${String(n.namespace)}@${String(n.version)}`).sort());
  const events: unknown[] = [];
  for (const s of ['s0', 's1', 's2']) {
    const r = await t.post('/v1/timeseries/ReadEventRecords', { namespace: ns.ts, timeSeriesId: s, timeInterval: FUZZ_DAY, pageSize: 1000 });
    events.push((r.json.events as Json[]).map((e) => `${String(e.eventId)}:${JSON.stringify(e.eventItems)}`));
  }
  const search = await t.post('/v1/timeseries/AggregateEventRecords', { namespace: ns.ts, timeInterval: FUZZ_DAY, aggregationQuery: { count: {} } });
  const counts: unknown[] = [];
  const logs: unknown[] = [];
  for (const c of COUNTERS) {
    // Not c3's count: GetCount may answer from what the service computed itself before the
    // rollup was forged (7 or 15); the recount below reads the stored rollup.
    if (c !== FUZZ_WRONG_COUNTER) counts.push((await t.post('/v1/counter/GetCount', { namespace: ns.ctr, counter_name: c })).json.count);
    logs.push((await t.post('/v1/counter/ReadCounterLog', { namespace: ns.ctr, counter_name: c, page_size: 1000 })).json);
  }
  const recount = (await t.post('/v1/counter/RecountCount', { namespace: ns.ctr, counter_name: FUZZ_WRONG_COUNTER })).json;
  const compare = (await t.post('/v1/counter/CompareCounts', { namespace: ns.ctr, counter_names: ['c0', 'c1'], assignment_probabilities: [0.5, 0.5] })).json;
  return { names, events, search: search.json, counts, logs, recount, compare };
}

/** Seeded draws: `random()` in [0, 1), `pick` one of, `int(n)` in [0, n). */
export function seededDraws(seed: number): { random: () => number; pick: <T>(xs: readonly T[]) => T; int: (n: number) => number } {
  const random = prng(seed);
  return {
    random,
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!,
    int: (n: number) => Math.floor(random() * n),
  };
}
