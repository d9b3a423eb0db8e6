/**
 * gRPC end to end: a real grpc-js client against `startServer({ grpcPort: 0 })`, speaking
 * proto/dgw/*.proto. Writes and reads events (microsecond timestamps kept), buffered
 * writes, search and aggregate, counters, errors (status codes, field names, metadata),
 * and the mapping of the call deadline to the read deadline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { serviceHandlers } from '../../src/server/grpc/operation-services.js';
import { OperationChain } from '../../src/server/operations/chain.js';
import type { OperationDeps } from '../../src/server/operations/operation.js';
import { TIMESERIES_SERVICE } from '../../src/server/operations/timeseries-operations.js';
import type { TimeSeriesEngine } from '../../src/core/timeseries/service.js';
import type { ReadQuery } from '../../src/core/timeseries/api.js';
import type { TimeSeriesConfig } from '../../src/core/control/types.js';
import { ManualClock } from '../../src/kernel/clock.js';
import { b64, startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';
import { grpcClient } from '../support/grpc-client.js';

type Json = Record<string, unknown>;
const TS = 'dgw.v1.TimeSeriesService';
const COUNTER = 'dgw.v1.CounterService';

/** RFC 3339 → google.protobuf.Timestamp. */
function ts(iso: string, nanos = 0): { seconds: string; nanos: number } {
  return { seconds: String(Math.floor(Date.parse(iso) / 1000)), nanos };
}

/** The error a call rejected with. */
async function failure(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  assert.fail('expected the call to fail');
}

const eventIds = (r: Json) => ((r.events ?? []) as { eventId: string }[]).map((e) => e.eventId);

describe('gRPC: TimeSeriesService and CounterService', () => {
  let t: TestServer;
  let rpc: ReturnType<typeof grpcClient>;
  const ns = uniqueNamespace('grpc');
  const cns = uniqueNamespace('grpcc');
  const interval = { start: ts('2024-10-03T20:00:00Z'), end: ts('2024-10-03T21:00:00Z') };
  const mk = (id: string, minute: number, device: string, score: number, nanos = 0) => ({
    timeSeriesId: 'profile100',
    eventTime: ts(`2024-10-03T20:${String(minute).padStart(2, '0')}:00Z`, nanos),
    eventId: `e${id}`,
    eventItems: [
      { eventItemKey: 'deviceType', eventItemValue: b64(device) },
      { eventItemKey: 'score', eventItemValue: b64(String(score)) },
    ],
  });

  before(async () => {
    t = await startTestServer({ grpcPort: 0 });
    assert.ok(t.server.grpcPort, 'the gRPC port is reported');
    rpc = grpcClient(t.server.grpcPort);
    const doc = {
      persistence_configuration: [
        { id: 'PRIMARY_STORAGE', physical_storage: { type: 'SQLITE' }, config: { acceptLimit: '1d' } },
        { id: 'INDEX_STORAGE', config: { indexConfig: { fieldMapping: { deviceType: 'KEYWORD', score: 'INTEGER' } } } },
      ],
    };
    assert.equal((await t.call('PUT', `/v1/timeseries/namespaces/${ns}`, doc)).status, 201);
    assert.equal((await t.call('PUT', `/v1/counter/namespaces/${cns}`, {})).status, 201);
  });
  after(async () => {
    rpc.close();
    await t.stop();
  });

  it('writes (sync) and reads back newest first, microseconds and bytes intact, same as HTTP', async () => {
    const w = await rpc.call(TS, 'WriteEventRecordsSync', {
      namespace: ns,
      events: [mk('1', 1, 'ios', 10, 123_456_000), mk('2', 2, 'ios', 20), mk('3', 3, 'android', 30)],
    });
    assert.deepEqual(w, {});
    const r = await rpc.call(TS, 'ReadEventRecords', { namespace: ns, timeSeriesId: 'profile100', timeInterval: interval });
    assert.deepEqual(eventIds(r), ['e3', 'e2', 'e1']);
    const oldest = (r.events as Json[])[2]!;
    assert.deepEqual(oldest.eventTime, ts('2024-10-03T20:01:00Z', 123_456_000));
    assert.deepEqual(oldest.eventItems, mk('1', 1, 'ios', 10).eventItems);
    // The HTTP answer is the proto3 JSON of the same message.
    const http = await t.post('/v1/timeseries/ReadEventRecords', {
      namespace: ns,
      timeSeriesId: 'profile100',
      timeInterval: { start: '2024-10-03T20:00:00Z', end: '2024-10-03T21:00:00Z' },
    });
    assert.equal((http.json.events as Json[])[2]!.eventTime, '2024-10-03T20:01:00.123456Z');
  });

  it('reads with a filter and pages with pageSize / pageToken', async () => {
    const filtered = await rpc.call(TS, 'ReadEventRecords', {
      namespace: ns,
      timeSeriesId: 'profile100',
      timeInterval: interval,
      eventFilters: [{ matchEventItemKey: 'deviceType', matchEventItemValue: b64('android') }],
    });
    assert.deepEqual(eventIds(filtered), ['e3']);
    const page1 = await rpc.call(TS, 'ReadEventRecords', { namespace: ns, timeSeriesId: 'profile100', timeInterval: interval, pageSize: 2 });
    assert.deepEqual(eventIds(page1), ['e3', 'e2']);
    assert.equal(typeof page1.nextPageToken, 'string');
    const page2 = await rpc.call(TS, 'ReadEventRecords', {
      namespace: ns,
      timeSeriesId: 'profile100',
      timeInterval: interval,
      pageSize: 2,
      pageToken: page1.nextPageToken,
    });
    assert.deepEqual(eventIds(page2), ['e1']);
    assert.equal(page2.nextPageToken, undefined);
  });

  it('queues buffered writes (WriteEventRecords) that become readable after the drain', async () => {
    assert.deepEqual(await rpc.call(TS, 'WriteEventRecords', { namespace: ns, events: [mk('4', 4, 'tv', 40)] }), {});
    await t.server.engine.flushBuffers();
    const r = await rpc.call(TS, 'ReadEventRecords', { namespace: ns, timeSeriesId: 'profile100', timeInterval: interval });
    assert.deepEqual(eventIds(r), ['e4', 'e3', 'e2', 'e1']);
  });

  it('searches with a boolean query (enum operator) and aggregates', async () => {
    const and = await rpc.call(TS, 'SearchEventRecords', {
      namespace: ns,
      timeInterval: interval,
      searchQuery: {
        booleanQuery: {
          operator: 'AND',
          searchQuery: [
            { equals: { eventItemKey: 'deviceType', eventItemValue: b64('ios') } },
            { range: { eventItemKey: 'score', lowerBound: { eventItemValue: b64('15'), inclusive: true } } },
          ],
        },
      },
    });
    assert.deepEqual(eventIds(and), ['e2']);
    const not = await rpc.call(TS, 'SearchEventRecords', {
      namespace: ns,
      timeInterval: interval,
      searchQuery: { booleanQuery: { operator: 'NOT', searchQuery: [{ equals: { eventItemKey: 'deviceType', eventItemValue: b64('ios') } }] } },
    });
    assert.deepEqual(eventIds(not), ['e4', 'e3']);
    // Unspecified operator means AND, as an absent one does over HTTP.
    const implicit = await rpc.call(TS, 'SearchEventRecords', {
      namespace: ns,
      timeInterval: interval,
      searchQuery: { booleanQuery: { searchQuery: [{ equals: { eventItemKey: 'deviceType', eventItemValue: b64('ios') } }] } },
    });
    assert.deepEqual(eventIds(implicit), ['e2', 'e1']);
    const all = await rpc.call(TS, 'SearchEventRecords', { namespace: ns, timeInterval: interval });
    assert.equal(eventIds(all).length, 4);

    const distinct = await rpc.call(TS, 'AggregateEventRecords', {
      namespace: ns,
      timeInterval: interval,
      aggregationQuery: { distinct: { eventItemKey: 'deviceType' } },
    });
    assert.deepEqual(distinct, {
      distinct: {
        eventItemKey: 'deviceType',
        values: [
          { eventItemValue: b64('android'), count: '1' },
          { eventItemValue: b64('ios'), count: '2' },
          { eventItemValue: b64('tv'), count: '1' },
        ],
      },
    });
    const count = await rpc.call(TS, 'AggregateEventRecords', { namespace: ns, timeInterval: interval, aggregationQuery: { count: {} } });
    assert.deepEqual(count, { count: '4' });
  });

  it('adds and gets counts, idempotently under a token, int64 beyond 2^53 intact', async () => {
    const now = t.clock.nowMicros();
    const token = { token: 't1', generationTime: { seconds: String(Math.floor(now / 1e6)), nanos: (now % 1e6) * 1000 } };
    const first = await rpc.call(COUNTER, 'AddAndGetCount', { namespace: cns, counterName: 'home', delta: '2', idempotencyToken: token });
    assert.deepEqual(first, { count: '2' });
    // A retry of the same mutation is not counted twice.
    assert.deepEqual(await rpc.call(COUNTER, 'AddCount', { namespace: cns, counterName: 'home', delta: '2', idempotencyToken: token }), {});
    const big = await rpc.call(COUNTER, 'AddAndGetCount', { namespace: cns, counterName: 'home', delta: '9007199254740993' });
    assert.deepEqual(big, { count: '9007199254740995' });
    const never = await rpc.call(COUNTER, 'GetCount', { namespace: cns, counterName: 'never-written' });
    assert.equal(never.count ?? '0', '0'); // proto3: a zero int64 is not on the wire
    assert.deepEqual(await rpc.call(COUNTER, 'ClearCount', { namespace: cns, counterName: 'home' }), {});
    const http = await t.post('/v1/counter/GetCount', { namespace: cns, counter_name: 'never-written' });
    assert.deepEqual(http.json, { count: '0' });
  });

  it('answers INVALID_ARGUMENT naming the field, with the code and details in metadata, and writes nothing', async () => {
    const bad = await failure(
      rpc.call(TS, 'WriteEventRecordsSync', {
        namespace: ns,
        events: [mk('9', 9, 'ios', 90), { ...mk('10', 10, 'ios', 100), eventTime: { seconds: '1', nanos: 2_000_000_000 } }],
      }),
    );
    assert.equal(bad.code, status.INVALID_ARGUMENT);
    assert.match(bad.details, /^events\[1\]\.eventTime: /);
    assert.deepEqual(bad.metadata.get('dgw-error-code'), ['INVALID_ARGUMENT']);
    const details = JSON.parse(String(bad.metadata.get('dgw-error-details-bin')[0])) as { field: string }[];
    assert.equal(details[0]!.field, 'events[1].eventTime');
    const r = await rpc.call(TS, 'ReadEventRecords', { namespace: ns, timeSeriesId: 'profile100', timeInterval: interval });
    assert.ok(!eventIds(r).includes('e9'), 'a rejected batch writes nothing');

    const page = await failure(rpc.call(TS, 'ReadEventRecords', { namespace: ns, timeSeriesId: 'profile100', timeInterval: interval, pageSize: 0 }));
    assert.equal(page.code, status.INVALID_ARGUMENT);
    assert.match(page.details, /^pageSize: /);
    const missing = await failure(rpc.call(TS, 'ReadEventRecords', { namespace: ns, timeSeriesId: 'profile100' }));
    assert.match(missing.details, /^timeInterval: is required/);
    const name = await failure(rpc.call(COUNTER, 'AddCount', { namespace: cns, delta: '1' }));
    assert.equal(name.code, status.INVALID_ARGUMENT);
    assert.match(name.details, /^counter_name: /);
    const query = await failure(
      rpc.call(TS, 'SearchEventRecords', { namespace: ns, timeInterval: interval, searchQuery: { equals: { eventItemKey: 'nope', eventItemValue: b64('x') } } }),
    );
    assert.match(query.details, /^searchQuery\.equals\.eventItemKey: "nope" is not an indexed field/);
  });

  it('answers NOT_FOUND for an unknown namespace on both services', async () => {
    const ts404 = await failure(rpc.call(TS, 'ReadEventRecords', { namespace: 'no_such_ns', timeSeriesId: 'x', timeInterval: interval }));
    assert.equal(ts404.code, status.NOT_FOUND);
    assert.match(ts404.details, /no_such_ns/);
    const c404 = await failure(rpc.call(COUNTER, 'GetCount', { namespace: 'no_such_ns', counterName: 'x' }));
    assert.equal(c404.code, status.NOT_FOUND);
  });

  it('counts calls in /metrics by method and status', async () => {
    const m = await fetch(`${t.url}/metrics`).then((r) => r.text());
    assert.match(m, /dgw_grpc_requests_total\{method="dgw\.v1\.TimeSeriesService\/ReadEventRecords",code="OK"\} \d+/);
    assert.match(m, /dgw_grpc_requests_total\{method="dgw\.v1\.CounterService\/GetCount",code="NOT_FOUND"\} \d+/);
  });
});

describe('gRPC: the call deadline bounds ReadEventRecords', () => {
  const clock = new ManualClock(Date.parse('2024-10-03T21:25:00Z') * 1000);
  const captured: ReadQuery[] = [];
  const engine = {
    limits: { maxPageSize: 1000, maxFilters: 16, maxQueryDepth: 8, maxBodyBytes: 1 << 20 },
    read: async (_config: TimeSeriesConfig, q: ReadQuery) => {
      captured.push(q);
      return { events: [] };
    },
  } as unknown as TimeSeriesEngine;
  const handlers = serviceHandlers(TIMESERIES_SERVICE, new OperationChain({ engine, clock, namespaces: { getTimeSeries: async () => ({}) as TimeSeriesConfig } } as unknown as OperationDeps));
  const body = { namespace: 'n', timeSeriesId: 's', timeInterval: { start: '2024-10-03T20:00:00Z', end: '2024-10-03T21:00:00Z' } };

  it('carries the remaining call time over to the engine clock, less a margin', async () => {
    await handlers['ReadEventRecords']!(body, { deadlineMs: Date.now() + 2000 });
    const budget = captured.at(-1)!.deadlineMicros! - clock.nowMicros();
    assert.ok(budget > 1_800_000 && budget <= 1_950_000, `budget ${budget}us`);
  });

  it('keeps the request timeout when it is earlier, and no deadline without either', async () => {
    await handlers['ReadEventRecords']!({ ...body, timeout: '100000us' }, { deadlineMs: Date.now() + 2000 });
    assert.equal(captured.at(-1)!.deadlineMicros! - clock.nowMicros(), 100_000);
    await handlers['ReadEventRecords']!(body, { deadlineMs: Number.POSITIVE_INFINITY });
    assert.equal(captured.at(-1)!.deadlineMicros, undefined);
  });
});

describe('gRPC: limits and odd timestamps', () => {
  let t: TestServer;
  let rpc: ReturnType<typeof grpcClient>;
  before(async () => {
    t = await startTestServer({ grpcPort: 0, limits: { maxBodyBytes: 4096 } });
    rpc = grpcClient(t.server.grpcPort!);
  });
  after(async () => {
    rpc.close();
    await t.stop();
  });

  it('refuses a message above the body limit with RESOURCE_EXHAUSTED', async () => {
    const big = Buffer.alloc(8192, 1).toString('base64');
    const event = { timeSeriesId: 's', eventTime: ts('2024-10-03T21:24:59Z'), eventId: 'e', eventItems: [{ eventItemKey: 'k', eventItemValue: big }] };
    const err = await failure(rpc.call(TS, 'WriteEventRecordsSync', { namespace: 'any', events: [event] }));
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
  });

  it('refuses a Timestamp beyond year 9999 naming the field', async () => {
    const err = await failure(
      rpc.call(TS, 'ReadEventRecords', {
        namespace: 'any',
        timeSeriesId: 's',
        timeInterval: { start: ts('2024-10-03T20:00:00Z'), end: { seconds: '253402300800', nanos: 0 } },
      }),
    );
    assert.equal(err.code, status.INVALID_ARGUMENT);
    assert.match(err.details, /^timeInterval\.end: invalid RFC 3339 timestamp/);
  });
});
