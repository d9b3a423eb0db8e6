/**
 * Fuzz test (issue 14 "What it must show"): 10,000+ hostile HTTP requests over every
 * endpoint, generated from a seeded PRNG (reproducible: DGW_FUZZ_SEED), against a real
 * in-process server holding known state. Asserted: no 5xx and no failed connection (no
 * crash), and afterwards the state reads back exactly as before: namespaces and their
 * versions, every event, search results and counter values. Each request is a valid
 * request broken in one way that must be refused (malformed or truncated JSON, wrong
 * types, ill-formed text, bad base64 or timestamps, deep nesting, forged page tokens,
 * unknown namespaces or routes, oversize bodies...), or a read, which may succeed. The
 * counter audit calls are included: ReadCounterLog (bad page sizes, forged tokens),
 * CompareCounts (bad probabilities, too many arms, bad alpha or concentration) and
 * RecountCount always with `repair` set on the counter whose rollup is wrong on purpose,
 * each broken so that it must be refused: the snapshot shows any repair that got through.
 * GET /v1/status, /openapi.json and the status page are read too.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzSnapshot, FUZZ_DAY, FUZZ_WRONG_COUNTER, seedFuzzState, seededDraws } from '../support/fuzz-state.js';
import { b64, startTestServer, type TestServer } from '../support/http-server.js';

const SEED = Number(process.env.DGW_FUZZ_SEED ?? 20261201);
const REQUESTS = 10_000;
const CONCURRENCY = 16;
const TS = 'fuzz_ts';
const CTR = 'fuzz_ctr';
const DAY = FUZZ_DAY;
const NS = { ts: TS, ctr: CTR };

type Json = Record<string, unknown>;
interface Hostile {
  method: string;
  path: string;
  /** Raw text sent as is; undefined for no body. */
  body?: string;
  contentType?: string;
}

describe('fuzz: hostile requests over every endpoint', () => {
  let t: TestServer;
  const snapshot = () => fuzzSnapshot(t, NS);

  before(async () => {
    t = await startTestServer();
    await seedFuzzState(t, NS);
  });
  after(() => t.stop());

  it(`${REQUESTS} hostile requests: no 5xx, no crash, no state change`, async () => {
    const before = await snapshot();
    const { random, pick, int } = seededDraws(SEED);

    const badText = ['', 'a\u0000b', '\uD800', 'x\uDC00y', 'x'.repeat(5000)] as const;
    const badValues = [null, 5, -1, 1.5, true, [], {}, [1, 2], { a: { b: [] } }, 'x'.repeat(300)] as const;
    const badTimes = ['yesterday', '2024-13-01T00:00:00Z', '2024-02-30T00:00:00Z', '1969-12-31T23:59:59Z', '0050-01-01T00:00:00Z', '9999-12-31T23:59:59Z', '2024-10-03 10:00:00', '2024-10-03T25:00:00Z', 12345] as const;
    const deep = (depth: number, leaf: unknown): unknown => {
      let v = leaf;
      for (let i = 0; i < depth; i++) v = random() < 0.5 ? [v] : { a: v };
      return v;
    };
    const token = () => pick([pick(['', '!!', 'abc', 'x'.repeat(5000)]), Buffer.from(`${int(1e9).toString(36)}.${JSON.stringify({ q: 'x', n: pick([-1, 'a', 1e300]), p: pick([{ t: 'x' }, [1], null]) })}`).toString('base64url')]);

    const event = (): Json => ({ timeSeriesId: 's0', eventTime: '2024-10-03T11:00:00Z', eventId: `fz${int(1e9)}`, eventItems: [{ eventItemKey: 'k', eventItemValue: b64('v') }] });
    /** A write batch with exactly one event broken in a way the server must refuse. */
    const badWrite = (): Json => {
      const events = Array.from({ length: 1 + int(3) }, event);
      const target = events[int(events.length)]!;
      switch (int(7)) {
        case 0:
          target.timeSeriesId = pick([...badText.slice(0, 4), ...badValues.slice(0, 8)]);
          break;
        case 1:
          target.eventTime = pick(badTimes);
          break;
        case 2:
          target.eventId = pick([null, 7, [], 'a\u0000', '\uD800']);
          break;
        case 3:
          target.eventItems = pick([5, 'x', [5], [{ eventItemKey: 'k' }], [{ eventItemKey: 'k', eventItemValue: '!!!' }], [{ eventItemKey: 'k\u0000', eventItemValue: 'eA==' }], [{ eventItemKey: 5, eventItemValue: 'eA==' }]]);
          break;
        case 4:
          delete target[pick(['timeSeriesId', 'eventTime', 'eventId', 'eventItems'])];
          break;
        case 5:
          return { namespace: pick([5, null, '', [], 'no_such_ns', 'a\u0000']), events };
        default:
          return { namespace: TS, events: pick([5, 'x', {}, null, Array.from({ length: 1001 }, event)]) };
      }
      return { namespace: TS, events };
    };
    const badCounter = (withDelta: boolean): Json => {
      const body: Json = { namespace: CTR, counter_name: pick(['c0', 'c1', 'c2']), ...(withDelta ? { delta: 1 + int(5) } : {}) };
      switch (int(withDelta ? 5 : 4)) {
        case 0:
          body.namespace = pick([5, null, '', 'no_such_ns', 'a\u0000', '\uD800']);
          break;
        case 1:
          body.counter_name = pick([5, null, '', 'a\u0000', '\uDC00', [], {}]);
          break;
        case 2:
          body.idempotency_token = pick(['x', 5, { token: '' }, { token: 't' }, { token: 't', generation_time: pick(badTimes) }, { token: 'a\u0000', generation_time: '2024-10-03T21:24:59Z' }]);
          break;
        case 3:
          body[pick(['namespace', 'counter_name'])] = deep(100 + int(900), 'x');
          break;
        default:
          body.delta = pick(['abc', 1.5, '1e3', '99999999999999999999999', -9e30, {}, [], true, null, '', ' 1 2']);
      }
      return body;
    };
    const readBody = (): Json => {
      const body: Json = { namespace: TS, timeSeriesId: pick(['s0', 's1']), timeInterval: DAY };
      switch (int(6)) {
        case 0:
          body.pageToken = token();
          break;
        case 1:
          body.timeInterval = pick([{ start: pick(badTimes), end: DAY.end }, { start: DAY.end, end: DAY.start }, 'x', null]);
          break;
        case 2:
          body.pageSize = pick([0, -1, 1e9, 'x', 1.5]);
          break;
        case 3:
          body.eventFilters = pick([5, [{ matchEventItemKey: 'k', matchEventItemValue: '!!' }], Array.from({ length: 100 }, () => ({ matchEventItemKey: 'k', matchEventItemValue: 'eA==' }))]);
          break;
        case 4:
          body.timeout = pick(['forever', -5, '1x']);
          break;
        default:
          body.namespace = pick(['no_such_ns', 5, '']);
      }
      return body;
    };
    /** A ReadCounterLog request with one thing wrong (or a plain read, which may succeed). */
    const counterLog = (): Json => {
      const body: Json = { namespace: CTR, counter_name: pick(['c0', FUZZ_WRONG_COUNTER]) };
      switch (int(7)) {
        case 0:
          body.page_size = pick([0, -1, -2147483649, 1001, 1e9, 1e300, 1.5, 'x', '10', null, [], {}]);
          break;
        case 1:
          body.page_token = pick([token(), 5, [], { t: 1 }, '\uD800', 'a\u0000']);
          break;
        case 2:
          body.time_interval = pick([{ start: pick(badTimes), end: DAY.end }, { start: DAY.end, end: DAY.start }, { start: DAY.start }, 'x', 5, []]);
          break;
        case 3:
          body.counter_name = pick([5, null, '', 'a\u0000', '\uD800', 'x\uDC00', [], {}, 'x'.repeat(300 + int(5000)), deep(10 + int(900), 'c0')]);
          break;
        case 4:
          body.namespace = pick([5, null, '', 'no_such_ns', TS, 'a\u0000', '\uDBFF']);
          break;
        case 5:
          body[pick(['colour', 'pageSize', 'page_size\u0000'])] = pick([1, 'red', deep(int(600), 1)]);
          break;
        default:
          body.page_size = 1 + int(1000);
      }
      return body;
    };
    /** A RecountCount request asking for a repair of the wrong counter, broken so that it must be refused. */
    const recount = (): Json => {
      const body: Json = { namespace: CTR, counter_name: FUZZ_WRONG_COUNTER, repair: true };
      switch (int(6)) {
        case 0:
          body.namespace = pick([5, null, '', 'no_such_ns', TS, 'a\u0000', '\uD800', [], deep(10 + int(900), CTR)]);
          break;
        case 1:
          body.counter_name = pick([5, null, '', `${FUZZ_WRONG_COUNTER}\u0000`, `${FUZZ_WRONG_COUNTER}\uD800`, '\uDC00', [], {}, [FUZZ_WRONG_COUNTER], 'x'.repeat(300 + int(5000))]);
          break;
        case 2:
          body.repair = pick(['yes', 'true', 1, 0, null, [], {}, [true], deep(10 + int(900), true)]);
          break;
        case 3:
          delete body[pick(['namespace', 'counter_name'])];
          break;
        case 4:
          body[pick(['colour', 'repaired', 'counter_names'])] = pick([true, 'x', [FUZZ_WRONG_COUNTER]]);
          break;
        default:
          body.counter_name = deep(1 + int(900), FUZZ_WRONG_COUNTER);
      }
      return body;
    };
    /** A CompareCounts request with one thing wrong (bad arms, probabilities, alpha, concentration, interval). */
    const compare = (): Json => {
      const body: Json = { namespace: CTR, counter_names: ['c0', 'c1'], assignment_probabilities: [0.5, 0.5] };
      switch (int(8)) {
        case 0: {
          const arms = pick([0, 1, 17, 18, 100, 5000]);
          body.counter_names = Array.from({ length: arms }, (_, i) => `c${i}`);
          body.assignment_probabilities = Array.from({ length: arms }, () => 1 / arms);
          break;
        }
        case 1:
          body.counter_names = pick([['c0', 'c0'], ['c0', ''], ['c0', 5], ['c0', null], ['c0', 'a\u0000'], ['c0', '\uD800'], 'c0', 5, null, {}, [['c0'], ['c1']]]);
          break;
        case 2:
          body.assignment_probabilities = pick([[0.5], [0.5, 0.6], [1, 0], [-0.5, 1.5], [0.5, 'half'], [0.5, null], ['0.5', '0.5'], [1e300, 1e300], [1e-320, 1], 0.5, null, [], [0.25, 0.25, 0.5]]);
          break;
        case 3:
          body.alpha = pick([0, 1, 1.5, -0.1, 'x', null, [], 1e-400, 1e300]);
          break;
        case 4:
          body.concentration = pick([0, -1, 'x', null, [], 1e309, -1e300]);
          break;
        case 5:
          body.time_interval = pick([{ start: pick(badTimes), end: DAY.end }, { start: DAY.end, end: DAY.start }, 'x', []]);
          break;
        case 6:
          body.namespace = pick([5, null, '', 'no_such_ns', TS, 'a\u0000', deep(10 + int(900), CTR)]);
          break;
        default:
          body.counter_names = deep(1 + int(900), 'c0');
      }
      return body;
    };
    const searchQuery = (): unknown =>
      pick([
        deep(1 + int(900), { equals: { eventItemKey: 'k', eventItemValue: 'eA==' } }),
        (() => {
          let q: unknown = { equals: { eventItemKey: 'k', eventItemValue: b64('v1') } };
          for (let i = int(300); i > 0; i--) q = { booleanQuery: { operator: pick(['AND', 'OR', 'NOT', 'XOR']), searchQuery: [q] } };
          return q;
        })(),
        { equals: { eventItemKey: 'unindexed', eventItemValue: 'eA==' } },
        { range: { eventItemKey: 'n', lowerBound: { eventItemValue: b64('abc') } } },
        { range: { eventItemKey: 'k' } },
        { equals: { eventItemKey: 'n', eventItemValue: '!!' } },
        { booleanQuery: { searchQuery: [] } },
        { equals: { eventItemKey: 'k', eventItemValue: b64('v1') }, range: { eventItemKey: 'n', upperBound: { eventItemValue: b64('5') } } },
      ]);
    const nsDoc = (): string =>
      pick([
        JSON.stringify({ persistence_configuration: 5 }),
        JSON.stringify({ persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: 'forever' } }] }),
        JSON.stringify({ persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '-5s' } }] }),
        JSON.stringify({ persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'NOPE' } }] }),
        JSON.stringify({ persistence_configuration: deep(50 + int(900), 1) }),
        '['.repeat(1000 + int(20_000)),
        '{"persistence_configuration": [ { "id": ',
        '"persistence_configuration": 7',
        'not json at all {',
      ]);
    const truncate = (text: string) => text.slice(0, 1 + int(Math.max(1, text.length - 1)));

    const generate = (): Hostile => {
      const json = (path: string, body: unknown): Hostile => {
        const text = JSON.stringify(body);
        const form = int(20);
        if (form === 0) return { method: 'POST', path, body: truncate(text), contentType: 'application/json' };
        if (form === 1) return { method: 'POST', path, body: pick(['5', '"x"', 'null', '[]', 'true', '', '{}', '{"namespace":']), contentType: 'application/json' };
        if (form === 2) return { method: 'POST', path, body: truncate(text), contentType: pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) };
        return { method: 'POST', path, body: text, contentType: 'application/json' };
      };
      switch (int(21)) {
        case 0:
        case 1:
          return json('/v1/timeseries/WriteEventRecordsSync', badWrite());
        case 2:
        case 3:
          return json('/v1/timeseries/WriteEventRecords', badWrite());
        case 4:
          return json('/v1/timeseries/ReadEventRecords', readBody());
        case 5:
          return json('/v1/timeseries/SearchEventRecords', { namespace: TS, timeInterval: DAY, searchQuery: searchQuery(), ...(random() < 0.3 ? { pageToken: token() } : {}) });
        case 6:
          return json('/v1/timeseries/AggregateEventRecords', {
            namespace: TS,
            timeInterval: DAY,
            ...(random() < 0.5 ? { searchQuery: searchQuery() } : {}),
            aggregationQuery: pick([{ distinct: { eventItemKey: pick(['k', 'zz', '', 5]) }, count: {} }, { distinct: { eventItemKey: 'k', pageSize: -1 } }, {}, 5]),
            ...(random() < 0.3 ? { pageToken: token() } : {}),
          });
        case 7:
          return json(pick(['/v1/counter/AddCount', '/v1/counter/AddAndGetCount']), badCounter(true));
        case 8:
          return json('/v1/counter/ClearCount', badCounter(false));
        case 9:
          return json('/v1/counter/GetCount', badCounter(false));
        case 10: {
          const kind = pick(['timeseries', 'counter']);
          const name = pick([TS, CTR, `fz_new_${int(1e6)}`]);
          return { method: 'PUT', path: `/v1/${kind}/namespaces/${name}`, body: nsDoc(), contentType: 'application/json' };
        }
        case 11: {
          const kind = pick(['timeseries', 'counter']);
          const name = pick(['a%20b', '.x', '-x', 'x'.repeat(129 + int(2000)), '%00', 'a%2Fb', '%E2%82', '%uD800', 'x%00y']);
          return { method: pick(['PUT', 'DELETE', 'GET']), path: `/v1/${kind}/namespaces/${name}`, body: '{}', contentType: 'application/json' };
        }
        case 12:
          return { method: pick(['GET', 'DELETE', 'PATCH', 'POST', 'PUT']), path: pick(['/v1/counter/AddCount', '/v1/timeseries/Nope', '/v1/../etc/passwd', '/%zz', '/v1/timeseries/namespaces/', '/v2/x', `/${'a'.repeat(int(9000))}`]), ...(random() < 0.5 ? { body: '{}', contentType: 'application/json' } : {}) };
        case 13:
          return { method: 'GET', path: pick(['/healthz', '/readyz', '/metrics', `/v1/timeseries/namespaces/${TS}`, `/v1/counter/namespaces/${CTR}`, '/v1/timeseries/namespaces', '/v1/counter/namespaces']) };
        case 15:
          return json('/v1/counter/ReadCounterLog', counterLog());
        case 16:
        case 17:
          return json('/v1/counter/RecountCount', recount());
        case 18:
          return json('/v1/counter/CompareCounts', compare());
        case 19:
          return { method: pick(['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE']), path: pick(['/v1/status', '/openapi.json', '/v1/status?x=%00', '/openapi.json?%zz', '/ui/', '/ui/%2e%2e/package.json', '/ui/../../etc/passwd']), ...(random() < 0.3 ? { body: pick(['{}', '[', 'x'.repeat(int(5000))]), contentType: 'application/json' } : {}) };
        case 14:
          return { method: 'POST', path: pick(['/v1/counter/AddCount', '/v1/timeseries/WriteEventRecordsSync', '/v1/counter/RecountCount', '/v1/counter/CompareCounts']), body: Buffer.from(Array.from({ length: 1 + int(2000) }, () => int(256))).toString('latin1'), contentType: 'application/json' };
        default:
          // Deep nesting inside otherwise valid-looking mutations.
          return json(pick(['/v1/counter/AddCount', '/v1/timeseries/WriteEventRecordsSync', '/v1/counter/ClearCount']), { namespace: pick([TS, CTR]), counter_name: deep(10 + int(900), 'c0'), delta: deep(10 + int(900), 1), events: deep(10 + int(900), []) });
      }
    };

    const statuses = new Map<number, number>();
    const failures: string[] = [];
    // A few oversize bodies (over the 8 MiB limit), spread through the run.
    const oversize = new Set([1000, 5000, 9000]);
    let next = 0;
    // Diagnostics for a failure by timeout: this process (client and server share its event
    // loop) stopped for seconds, and which requests were in flight when it did.
    const inflight = new Map<number, string>();
    const stalls: string[] = [];
    let last = performance.now();
    const drift = setInterval(() => {
      const now = performance.now();
      if (now - last > 2000 && stalls.length < 5) stalls.push(`event loop stopped ${(now - last).toFixed(0)} ms; in flight: ${[...inflight].map(([k, v]) => `#${k} ${v}`).join(' | ')}`);
      last = now;
    }, 100);
    const worker = async () => {
      while (next < REQUESTS) {
        const i = next++;
        const h: Hostile = oversize.has(i)
          ? { method: 'POST', path: '/v1/timeseries/WriteEventRecordsSync', body: `{"namespace":"${TS}","events":[${'1,'.repeat(4_500_000)}1]}`, contentType: 'application/json' }
          : generate();
        inflight.set(i, `${h.method} ${h.path.slice(0, 60)} ${(h.body ?? '').slice(0, 100)}`);
        try {
          const res = await fetch(t.url + h.path, {
            method: h.method,
            ...(h.body !== undefined && h.method !== 'GET' && h.method !== 'HEAD' ? { body: h.body, headers: { 'content-type': h.contentType ?? 'application/json' } } : {}),
            signal: AbortSignal.timeout(30_000),
          });
          const text = await res.text();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          // Every RecountCount sent asks for a repair and is built to be refused.
          if (h.path === '/v1/counter/RecountCount' && res.status < 400) failures.push(`#${i} RecountCount answered ${res.status}: ${text.slice(0, 200)} body: ${(h.body ?? '').slice(0, 200)}`);
          if (res.status >= 500) failures.push(`#${i} ${h.method} ${h.path.slice(0, 80)} -> ${res.status} ${text.slice(0, 200)} body: ${(h.body ?? '').slice(0, 200)}`);
          if (res.status >= 400 && h.method !== 'HEAD') {
            const parsed = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
            if (typeof parsed.error?.code !== 'string' || typeof parsed.error.message !== 'string') failures.push(`#${i} ${res.status} without the error envelope: ${text.slice(0, 200)}`);
          }
        } catch (err) {
          failures.push(`#${i} ${h.method} ${h.path.slice(0, 80)}: ${(err as Error).message}`);
        } finally {
          inflight.delete(i);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    clearInterval(drift);
    console.log(`fuzz seed ${SEED}: ${REQUESTS} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
    for (const s of stalls) console.log(s);
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failures`);
    assert.equal((await t.call('GET', '/healthz')).status, 200);
    assert.deepEqual(await snapshot(), before);
  });
});
