/**
 * PostgreSQL restarted mid-load (issue 4, "Failure behaviour"), with a REAL server restart on
 * a PRIVATE PostgreSQL (initdb into a temp dir, own port), so the shared server other tests
 * use is never touched.
 *
 * A dgw process on that PostgreSQL takes a load of WriteEventRecordsSync and AddCount
 * (EVENTUAL and ACCURATE) with idempotency tokens / fixed event ids; PostgreSQL is stopped
 * (`pg_ctl stop -m fast`), held down for a second and started again. Asserted:
 * - every request during the outage fails fast with UNAVAILABLE or DEADLINE_EXCEEDED; none
 *   hangs (each call has a 5 s client timeout and none reaches it);
 * - dgw recovers by itself (no restart of dgw);
 * - the client's retries (same tokens, same event ids) all end acknowledged; afterwards
 *   every acknowledged event is readable and every counter equals the exact oracle
 *   (ACCURATE at once, EVENTUAL after convergence).
 * Figures (outage seen by clients, time to recover, convergence) are printed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, CounterOracle, errorCode, isoMicros, latencySummary, nowMicros, pollUntil, type CallResult } from '../support/dgw-load.js';
import { PrivatePostgres, privateServersTest } from '../support/private-servers.js';
import { spawnServer, type ServerProcess } from '../support/server-process.js';

const gate = await privateServersTest({ private: ['postgres'] });

const CALL_TIMEOUT_MS = 5000;
const b64 = (s: string) => Buffer.from(s).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const counterDoc = (type: 'EVENTUAL' | 'ACCURATE') => ({
  persistence_configuration: [
    {
      id: 'COUNTER_ROLLUP',
      config: {
        counter_type: type,
        skew_margin: '200ms',
        [type === 'EVENTUAL' ? 'eventual_counter_config' : 'accurate_counter_config']: { internal_config: { queue_config: { num_queues: 2, coalesce_ms: 100 } } },
      },
    },
    // Long enough that a retry after the outage is still inside the write window.
    { id: 'EVENT_STORAGE', config: { accept_limit: '8s' } },
  ],
});

describe('PostgreSQL restarted mid-load', { skip: gate.skip }, () => {
  let pg: PrivatePostgres | undefined;
  let dgw: ServerProcess | undefined;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dgw-failpg-'));
    pg = await PrivatePostgres.start();
    dgw = await spawnServer(join(dir, 'data'), ['--postgres-url', pg.url]);
  });

  after(async () => {
    await dgw?.stop();
    await pg?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fails fast during the outage, recovers by itself, loses no acknowledged write', async () => {
    const url = dgw!.url;
    const ns = { ts: 'fp_ts', EVENTUAL: 'fp_ev', ACCURATE: 'fp_acc' };
    assert.equal((await call(url, 'PUT', `/v1/timeseries/namespaces/${ns.ts}`, { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '1h' } }] })).status, 201);
    for (const type of ['EVENTUAL', 'ACCURATE'] as const) assert.equal((await call(url, 'PUT', `/v1/counter/namespaces/${ns[type]}`, counterDoc(type))).status, 201);

    const SERIES = ['s0', 's1', 's2'];
    const COUNTERS = ['c0', 'c1', 'c2', 'c3'];
    const oracles = { EVENTUAL: new CounterOracle(), ACCURATE: new CounterOracle() };
    const ackedEvents = new Map<string, Set<string>>(SERIES.map((s) => [s, new Set()]));
    const failures: { at: number; code: string; ms: number; message: string }[] = [];
    const okLatencies: number[] = [];
    const unexpected: string[] = [];
    let seq = 0;
    let acked = 0;
    let stopLoad = false;
    let lastSuccessAt = 0;
    const successTimes: number[] = [];

    /** Sends until acknowledged (same body: same token / same event ids), bounded. */
    const untilAcked = async (path: string, body: unknown): Promise<boolean> => {
      const started = performance.now();
      for (let attempt = 0; performance.now() - started < 30_000; attempt++) {
        const r: CallResult = await call(url, 'POST', path, body, CALL_TIMEOUT_MS);
        if (r.status === 200) {
          okLatencies.push(r.ms);
          successTimes.push(r.at);
          lastSuccessAt = r.at;
          return true;
        }
        const code = errorCode(r);
        const message = (r.json.error as { message?: string } | undefined)?.message ?? '';
        failures.push({ at: r.at, code, ms: r.ms, message });
        if (code !== 'UNAVAILABLE' && code !== 'DEADLINE_EXCEEDED') {
          unexpected.push(`${path} attempt ${attempt}: ${code} after ${Math.round(r.ms)} ms ${message}`);
          return false;
        }
        await sleep(100);
      }
      unexpected.push(`${path}: not acknowledged within 30 s`);
      return false;
    };

    const worker = async (w: number) => {
      for (let i = 0; !stopLoad; i++) {
        const n = seq++;
        if (n % 5 < 2) {
          const series = SERIES[n % SERIES.length]!;
          const t = nowMicros();
          const events = Array.from({ length: 5 }, (_, k) => ({
            timeSeriesId: series,
            eventTime: isoMicros(t + k),
            eventId: `w${w}-${i}-${k}`,
            eventItems: [{ eventItemKey: 'v', eventItemValue: b64(`${n}:${k}`) }],
          }));
          if (await untilAcked('/v1/timeseries/WriteEventRecordsSync', { namespace: ns.ts, events })) {
            for (const e of events) ackedEvents.get(series)!.add(e.eventId);
            acked++;
          }
        } else {
          const type = n % 2 ? 'EVENTUAL' : 'ACCURATE';
          const counter = COUNTERS[n % COUNTERS.length]!;
          const time = nowMicros();
          const token = `tok-${n}`;
          const delta = BigInt((n % 13) - 3);
          const body = { namespace: ns[type], counter_name: counter, delta: delta.toString(), idempotency_token: { token, generation_time: isoMicros(time) } };
          if (await untilAcked('/v1/counter/AddCount', body)) {
            oracles[type].add(counter, token, time, delta);
            acked++;
          }
        }
      }
    };

    const load = Promise.all(Array.from({ length: 6 }, (_, w) => worker(w)));
    // Declared before the try: a failed wait must still stop the workers (or the test file
    // never exits) and must never leave the shared PostgreSQL down for the next tests.
    let stopBegin = 0;
    let down = 0;
    let startBegin = 0;
    let up = 0;
    let restarted = false;
    try {
      await pollUntil(async () => acked >= 150, 20_000, () => `only ${acked} acknowledged before the restart`, 20);
      stopBegin = performance.now();
      await pg!.stopServer('fast');
      down = performance.now();
      await sleep(1000);
      startBegin = performance.now();
      await pg!.startServer();
      up = performance.now();
      restarted = true;
      // Keep the load going until it has been succeeding for a while after the restart.
      await pollUntil(async () => successTimes.filter((t) => t > up).length >= 150, 20_000, () => 'load did not recover after the restart', 20);
    } finally {
      stopLoad = true;
      if (stopBegin > 0 && !restarted) await pg!.startServer().catch(() => undefined);
      await load;
    }

    assert.deepEqual(unexpected, [], 'every failure is UNAVAILABLE or DEADLINE_EXCEEDED, and every operation ends acknowledged');
    assert.ok(failures.length > 0, 'requests failed during the outage (otherwise the restart tested nothing)');
    assert.ok(failures.every((f) => f.ms < CALL_TIMEOUT_MS), 'no request hung until the client timeout');
    const byCode: Record<string, number> = {};
    for (const f of failures) byCode[f.code] = (byCode[f.code] ?? 0) + 1;
    const firstFailure = Math.min(...failures.map((f) => f.at));
    const lastFailure = Math.max(...failures.map((f) => f.at));
    const firstSuccessAfterUp = Math.min(...successTimes.filter((t) => t > up));
    const failedLatency = latencySummary(failures.map((f) => f.ms));
    assert.ok(failedLatency.max < 4000, `failed calls answer within the pool's 3 s connection timeout (+ slack): ${JSON.stringify(failedLatency)}`);
    assert.ok(lastFailure - up < 10_000, 'failures stop within 10 s of PostgreSQL being back');

    // Every acknowledged event is readable.
    const interval = { start: new Date(Date.now() - 3600_000).toISOString(), end: new Date(Date.now() + 60_000).toISOString() };
    for (const series of SERIES) {
      const seen = new Set<string>();
      let token: unknown;
      for (let page = 0; page < 1000; page++) {
        const r = await call(url, 'POST', '/v1/timeseries/ReadEventRecords', { namespace: ns.ts, timeSeriesId: series, timeInterval: interval, pageSize: 1000, ...(token ? { pageToken: token } : {}) }, 15_000);
        assert.equal(r.status, 200, JSON.stringify(r.json));
        for (const e of r.json.events as { eventId: string }[]) seen.add(e.eventId);
        token = r.json.nextPageToken;
        if (!token) break;
      }
      const missing = [...ackedEvents.get(series)!].filter((id) => !seen.has(id));
      assert.deepEqual(missing, [], `${series}: acknowledged events missing after the restart`);
      assert.equal(seen.size, ackedEvents.get(series)!.size, `${series}: exactly the acknowledged events (retries wrote nothing twice)`);
    }

    // Counters: ACCURATE exact at once, EVENTUAL converges.
    const get = async (type: 'EVENTUAL' | 'ACCURATE', c: string) => {
      const r = await call(url, 'POST', '/v1/counter/GetCount', { namespace: ns[type], counter_name: c }, 15_000);
      return r.status === 200 ? String(r.json.count) : errorCode(r);
    };
    for (const c of COUNTERS) assert.equal(await get('ACCURATE', c), oracles.ACCURATE.count(c).toString(), `ACCURATE ${c}`);
    const loadEnd = lastSuccessAt;
    let lastSeen: string[] = [];
    await pollUntil(
      async () => {
        lastSeen = await Promise.all(COUNTERS.map((c) => get('EVENTUAL', c)));
        return COUNTERS.every((c, i) => lastSeen[i] === oracles.EVENTUAL.count(c).toString());
      },
      25_000,
      () => `EVENTUAL ${JSON.stringify(lastSeen)} vs oracle ${JSON.stringify(COUNTERS.map((c) => oracles.EVENTUAL.count(c).toString()))}`,
    );
    const converged = performance.now() - loadEnd;

    const r = (x: number) => Math.round(x);
    console.log(
      `failure-postgres: ${acked} operations acknowledged (${[...ackedEvents.values()].reduce((a, s) => a + s.size, 0)} events), ${failures.length} failed attempts ${JSON.stringify(byCode)}; ` +
        `pg_ctl stop took ${r(down - stopBegin)} ms, held down 1000 ms, pg_ctl start took ${r(up - startBegin)} ms; ` +
        `clients saw failures from ${r(firstFailure - stopBegin)} ms to ${r(lastFailure - stopBegin)} ms after the stop began (window ${r(lastFailure - firstFailure)} ms); ` +
        `failed calls answered in ${JSON.stringify(failedLatency)} ms; first success ${r(firstSuccessAfterUp - up)} ms after PostgreSQL was up; ` +
        `successful calls ${JSON.stringify(latencySummary(okLatencies))} ms; EVENTUAL converged ${r(converged)} ms after the last acknowledgement (accept_limit 8s + skew 0.2s)`,
    );
  });
});
