/**
 * Audit, recount and CompareCounts on the wire (issue 13, item 2 and 3), over HTTP and
 * gRPC against a real server:
 * - ReadCounterLog pages a counter's adds and clears newest first, with tokens and times;
 * - RecountCount reports a rollup made wrong on purpose, changes nothing without `repair`,
 *   and repairs it with `repair` (GetCount then answers the recount);
 * - CompareCounts detects a 20% rate drop and says when; an A/A split is not rejected;
 * - bad input is a 400 / INVALID_ARGUMENT naming the field; a BEST_EFFORT namespace (no
 *   log) is FAILED_PRECONDITION; an unknown namespace NOT_FOUND.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { formatTimestampMicros } from '../../src/kernel/time.js';
import { startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';
import { grpcTestClient } from '../support/grpc-call.js';

type Json = Record<string, unknown>;
const COUNTER = 'dgw.v1.CounterService';

describe('counter audit, recount and comparison over HTTP and gRPC', () => {
  let t: TestServer;
  let rpc: ReturnType<typeof grpcTestClient>;
  const ns = uniqueNamespace('audit');
  const bestEffort = uniqueNamespace('audit_be');

  before(async () => {
    t = await startTestServer({ grpcPort: 0 });
    rpc = grpcTestClient(t.server.grpcPort!);
    const doc = (type: string) => ({ persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: type } }] });
    assert.equal((await t.call('PUT', `/v1/counter/namespaces/${ns}`, doc('EVENTUAL'))).status, 201);
    assert.equal((await t.call('PUT', `/v1/counter/namespaces/${bestEffort}`, doc('BEST_EFFORT'))).status, 201);
  });
  after(async () => {
    rpc.close();
    await t.stop();
  });

  const at = formatTimestampMicros;
  const add = async (counter: string, delta: number, token: string, micros: number) => {
    const r = await t.post('/v1/counter/AddCount', { namespace: ns, counter_name: counter, delta, idempotency_token: { token, generation_time: at(micros) } });
    assert.equal(r.status, 200, JSON.stringify(r.json));
  };

  it('reads the log newest first with tokens, times and deltas, page by page, on both transports', async () => {
    const t0 = t.clock.nowMicros();
    for (let i = 0; i < 5; i++) await add('logged', i + 1, `tok${i}`, t0 + i * 1000);
    const clear = await t.post('/v1/counter/ClearCount', { namespace: ns, counterName: 'logged', idempotencyToken: { token: 'clr', generationTime: at(t0 + 9000) } });
    assert.equal(clear.status, 200);
    const seen: string[] = [];
    let pageToken: string | undefined;
    let pages = 0;
    do {
      const request: Json = { namespace: ns, counterName: 'logged', pageSize: 2, ...(pageToken ? { pageToken } : {}) };
      const page = await t.post('/v1/counter/ReadCounterLog', request);
      assert.equal(page.status, 200, JSON.stringify(page.json));
      assert.deepEqual(await rpc.call(COUNTER, 'ReadCounterLog', request).then(fromGrpc), page.json);
      for (const e of page.json.entries as Json[]) seen.push(`${String(e.kind)} ${String(e.token)} ${String(e.delta ?? '-')} ${String(e.time)}`);
      pageToken = page.json.nextPageToken as string | undefined;
      pages++;
    } while (pageToken);
    assert.equal(pages, 3);
    assert.deepEqual(seen, [
      `CLEAR clr - ${at(t0 + 9000)}`,
      `ADD tok4 5 ${at(t0 + 4000)}`,
      `ADD tok3 4 ${at(t0 + 3000)}`,
      `ADD tok2 3 ${at(t0 + 2000)}`,
      `ADD tok1 2 ${at(t0 + 1000)}`,
      `ADD tok0 1 ${at(t0)}`,
    ]);
    // An interval narrows it: [t0 + 1ms, t0 + 3ms).
    const narrow = await t.post('/v1/counter/ReadCounterLog', { namespace: ns, counter_name: 'logged', time_interval: { start: at(t0 + 1000), end: at(t0 + 3000) } });
    assert.deepEqual((narrow.json.entries as Json[]).map((e) => e.token), ['tok2', 'tok1']);
  });

  it('recounts: reports a rollup made wrong on purpose, repairs it only when asked', async () => {
    let time = t.clock.nowMicros();
    for (let i = 0; i < 20; i++) await add('recounted', 3, `r${i}`, time++);
    t.clock.advance(10_000_000);
    const config = await t.server.namespaces.getCounter(ns);
    await t.server.counters.rollupNow(config, 'recounted');
    const sound = await t.post('/v1/counter/RecountCount', { namespace: ns, counter_name: 'recounted' });
    assert.equal(sound.status, 200, JSON.stringify(sound.json));
    assert.equal(sound.json.rollupCount, '60');
    assert.equal(sound.json.recount, '60');
    assert.equal(sound.json.difference, '0');
    assert.equal(sound.json.eventsScanned, '20');
    assert.equal(sound.json.complete, true);
    assert.equal(sound.json.repaired, false);

    // Make the rollup wrong: a checkpoint just past the real one with a wrong count.
    const store = t.server.catalog.rollups(config.rollup.storage.store);
    const row = (await store.get(ns, 'recounted'))!;
    assert.ok(await store.advance(ns, 'recounted', { count: 7n, rollupTsMicros: row.lastRollupTsMicros + 1 }));
    await t.server.catalog.rollupCache(config.cache.storage.store).put(ns, 'recounted', { count: 7n, rollupTsMicros: row.lastRollupTsMicros + 1 });
    const found = await t.post('/v1/counter/RecountCount', { namespace: ns, counterName: 'recounted' });
    assert.equal(found.json.rollupCount, '7');
    assert.equal(found.json.recount, '60');
    assert.equal(found.json.difference, '53');
    assert.equal(found.json.repaired, false);
    assert.deepEqual(await rpc.call(COUNTER, 'RecountCount', { namespace: ns, counterName: 'recounted' }).then(fromGrpc), found.json);
    assert.equal((await store.get(ns, 'recounted'))!.lastRollupCount, 7n, 'a recount without repair changed the rollup');

    const fixed = fromGrpc(await rpc.call(COUNTER, 'RecountCount', { namespace: ns, counterName: 'recounted', repair: true }));
    assert.equal(fixed.difference, '53');
    assert.equal(fixed.repaired, true);
    assert.equal(fixed.repairedCount, '60');
    assert.ok(typeof fixed.repairedTime === 'string');
    assert.equal((await t.post('/v1/counter/GetCount', { namespace: ns, counter_name: 'recounted' })).json.count, '60');
    assert.equal((await t.post('/v1/counter/RecountCount', { namespace: ns, counter_name: 'recounted' })).json.difference, '0');
  });

  it('CompareCounts: a 20% rate drop is detected and dated; an A/A split is not', async () => {
    // Arm b gets 80 increments for every 100 of arm a, interleaved in time.
    let time = t.clock.nowMicros();
    let n = 0;
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 2; i++) await add('ab_a', 5, `a${n++}`, time++);
      for (let i = 0; i < 2; i++) await add('ab_b', 4, `b${n++}`, time++);
      for (let i = 0; i < 2; i++) await add('aa_a', 9, `c${n++}`, time++);
      for (let i = 0; i < 2; i++) await add('aa_b', 9, `d${n++}`, time++);
    }
    const ab = { namespace: ns, counter_names: ['ab_a', 'ab_b'], assignment_probabilities: [0.5, 0.5], alpha: 0.05 };
    const r = await t.post('/v1/counter/CompareCounts', ab);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json.counts, ['600', '480']);
    assert.ok((r.json.pValue as number) < 0.05, `p = ${String(r.json.pValue)}`);
    assert.ok(typeof r.json.firstBelowAlpha === 'string', 'the time it fell below alpha');
    assert.deepEqual(
      fromGrpc(await rpc.call(COUNTER, 'CompareCounts', { namespace: ns, counterNames: ['ab_a', 'ab_b'], assignmentProbabilities: [0.5, 0.5], alpha: 0.05 })),
      r.json,
    );
    const aa = await t.post('/v1/counter/CompareCounts', { namespace: ns, counterNames: ['aa_a', 'aa_b'], assignmentProbabilities: [0.5, 0.5] });
    assert.deepEqual(aa.json.counts, ['1080', '1080']);
    assert.ok((aa.json.pValue as number) > 0.05, `p = ${String(aa.json.pValue)}`);
    assert.equal(aa.json.firstBelowAlpha, undefined);
  });

  const good = {
    ReadCounterLog: { namespace: ns, counter_name: 'x' },
    RecountCount: { namespace: ns, counter_name: 'x' },
    CompareCounts: { namespace: ns, counter_names: ['x', 'y'], assignment_probabilities: [0.5, 0.5] },
  } as const;
  const bad: [keyof typeof good, Json, string, boolean][] = [
    // [operation, changes to a good request, field named, can gRPC send it]
    ['ReadCounterLog', { counter_name: '' }, 'counter_name', true],
    ['ReadCounterLog', { page_size: 0 }, 'page_size', true],
    ['ReadCounterLog', { page_size: 5000 }, 'page_size', true],
    ['ReadCounterLog', { time_interval: { start: '2024-10-03T21:00:00Z', end: '2024-10-03T20:00:00Z' } }, 'time_interval', true],
    ['ReadCounterLog', { time_interval: { start: 'yesterday', end: '2024-10-03T20:00:00Z' } }, 'time_interval.start', false],
    ['ReadCounterLog', { page_token: 'forged' }, 'page_token', true],
    ['ReadCounterLog', { colour: 'red' }, 'colour', false],
    ['RecountCount', { counter_name: undefined }, 'counter_name', true],
    ['RecountCount', { repair: 'yes' }, 'repair', false],
    ['CompareCounts', { counter_names: ['x'], assignment_probabilities: [1] }, 'counter_names', true],
    ['CompareCounts', { counter_names: ['x', 'x'] }, 'counter_names', true],
    ['CompareCounts', { counter_names: ['x', ''] }, 'counter_names[1]', true],
    ['CompareCounts', { assignment_probabilities: [0.5] }, 'assignment_probabilities', true],
    ['CompareCounts', { assignment_probabilities: [0.5, 0.6] }, 'assignment_probabilities', true],
    ['CompareCounts', { assignment_probabilities: [0.5, 'half'] }, 'assignment_probabilities[1]', false],
    ['CompareCounts', { concentration: -1 }, 'concentration', true],
    ['CompareCounts', { alpha: 1.5 }, 'alpha', true],
    ['CompareCounts', { namespace: '' }, 'namespace', true],
  ];
  for (const [op, change, field, viaGrpc] of bad) {
    it(`${op} ${JSON.stringify(change)} -> 400 naming ${field}`, async () => {
      const body: Json = { ...good[op], ...change };
      for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
      const r = await t.post(`/v1/counter/${op}`, body);
      assert.equal(r.status, 400, JSON.stringify(r.json));
      const error = r.json.error as Json;
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.ok(String(error.message).startsWith(`${field}: `), `"${String(error.message)}" names ${field}`);
      if (!viaGrpc) return;
      const failure = await rpc.failure(COUNTER, op, toCamel(body));
      assert.equal(failure.code, GrpcStatus.INVALID_ARGUMENT, failure.message);
      assert.ok(failure.details.startsWith(`${field}: `), `"${failure.details}" names ${field}`);
    });
  }

  it('refuses a BEST_EFFORT namespace (no log) and names an unknown one', async () => {
    for (const op of ['ReadCounterLog', 'RecountCount', 'CompareCounts'] as const) {
      const r = await t.post(`/v1/counter/${op}`, { ...good[op], namespace: bestEffort });
      assert.equal(r.status, 400, `${op}: ${JSON.stringify(r.json)}`);
      assert.equal((r.json.error as Json).code, 'FAILED_PRECONDITION');
      assert.match(String((r.json.error as Json).message), /BEST_EFFORT/);
      const failure = await rpc.failure(COUNTER, op, toCamel({ ...good[op], namespace: bestEffort }));
      assert.equal(failure.code, GrpcStatus.FAILED_PRECONDITION);
      const missing = await t.post(`/v1/counter/${op}`, { ...good[op], namespace: `${ns}_none` });
      assert.equal(missing.status, 404);
    }
  });
});

/** snake_case keys to the names a grpc-js client sends; an interval's times as Timestamps. */
function toCamel(body: Json): Json {
  const timestamp = (text: string) => {
    const micros = Date.parse(text) * 1000;
    return { seconds: String(Math.floor(micros / 1e6)), nanos: (micros % 1e6) * 1000 };
  };
  return Object.fromEntries(
    Object.entries(body).map(([k, v]) => [
      k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
      k === 'time_interval' ? { start: timestamp((v as Json).start as string), end: timestamp((v as Json).end as string) } : v,
    ]),
  );
}

/** A gRPC answer (Timestamps as {seconds, nanos}) in its proto3 JSON form. */
function fromGrpc(answer: Json): Json {
  const convert = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(convert);
    if (typeof v === 'object' && v !== null) {
      const o = v as Json;
      if ('seconds' in o && Object.keys(o).every((k) => k === 'seconds' || k === 'nanos')) {
        return formatTimestampMicros(Number(o.seconds) * 1_000_000 + Math.round(Number(o.nanos ?? 0) / 1000));
      }
      return Object.fromEntries(Object.entries(o).map(([k, val]) => [k, convert(val)]));
    }
    return v;
  };
  return convert(answer) as Json;
}
