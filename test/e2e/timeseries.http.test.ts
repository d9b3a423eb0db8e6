/**
 * TimeSeries over real HTTP: the article's requests verbatim, paging, search, aggregate,
 * buffered writes, lifecycle on an injected clock, and every bad input of issue 2.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ARTICLE_TIMESERIES_DOC } from '../support/article-docs.js';
import { b64, startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';

const ARTICLE_WRITE = `{
  "namespace": "my_dataset",
  "events": [
    {
      "timeSeriesId": "profile100",
      "eventTime": "2024-10-03T21:24:23.988Z",
      "eventId": "550e8400-e29b-41d4-a716-446655440000",
      "eventItems": [
        {
          "eventItemKey": "deviceType",
          "eventItemValue": "aW9z"
        },
        {
          "eventItemKey": "deviceMetadata",
          "eventItemValue": "c29tZSBtZXRhZGF0YQ=="
        }
      ]
    },
    {
      "timeSeriesId": "profile100",
      "eventTime": "2024-10-03T21:23:30.000Z",
      "eventId": "123e4567-e89b-12d3-a456-426614174000",
      "eventItems": [
        {
          "eventItemKey": "deviceType",
          "eventItemValue": "YW5kcm9pZA=="
        }
      ]
    }
  ]
}`;

const ARTICLE_READ = `{
  "namespace": "my_dataset",
  "timeSeriesId": "profile100",
  "timeInterval": {
    "start": "2024-10-02T21:00:00.000Z",
    "end":   "2024-10-03T21:00:00.000Z"
  },
  "eventFilters": [
    {
      "matchEventItemKey": "deviceType",
      "matchEventItemValue": "aW9z"
    }
  ],
  "pageSize": 100,
  "totalRecordLimit": 1000
}`;

const ARTICLE_SEARCH = `{
  "namespace": "my_dataset",
  "timeInterval": {
    "start": "2024-10-02T21:00:00.000Z",
    "end": "2024-10-03T21:00:00.000Z"
  },
  "searchQuery": {
    "booleanQuery": {
      "searchQuery": [
        {
          "equals": {
            "eventItemKey": "deviceType",
            "eventItemValue": "aW9z"
          }
        },
        {
          "range": {
            "eventItemKey": "deviceRegistrationTimestamp",
            "lowerBound": {
              "eventItemValue": "MjAyNC0xMC0wMlQwMDowMDowMC4wMDBa",
              "inclusive": true
            },
            "upperBound": {
              "eventItemValue": "MjAyNC0xMC0wM1QwMDowMDowMC4wMDBa"
            }
          }
        }
      ],
      "operator": "AND"
    }
  },
  "pageSize": 100,
  "totalRecordLimit": 1000
}`;

type Json = Record<string, unknown>;
const events = (r: { json: Json }) => (r.json.events ?? []) as { eventId: string; eventTime: string; eventItems: unknown[] }[];

describe('TimeSeries over HTTP: the article, verbatim', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t.stop();
  });

  it('creates my_dataset from the article document, comments and all, with notices', async () => {
    const r = await t.call('PUT', '/v1/timeseries/namespaces/my_dataset', ARTICLE_TIMESERIES_DOC);
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const notices = r.json.notices as string[];
    assert.ok(notices.some((n) => n.includes('CASSANDRA')), notices.join('\n'));
    assert.ok(notices.some((n) => n.includes('ELASTICSEARCH')), notices.join('\n'));
    const got = await t.call('GET', '/v1/timeseries/namespaces/my_dataset');
    assert.equal(got.status, 200);
    const list = await t.call('GET', '/v1/timeseries/namespaces');
    assert.ok((list.json.namespaces as Json[]).some((n) => n.namespace === 'my_dataset'));
  });

  it('writes the article batch (sync) and is idempotent on rewrite', async () => {
    const r = await t.post('/v1/timeseries/WriteEventRecordsSync', ARTICLE_WRITE);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json, {});
    const again = await t.post('/v1/timeseries/WriteEventRecordsSync', ARTICLE_WRITE);
    assert.equal(again.status, 200);
  });

  it('reads the article request verbatim (its interval ends before the events: empty)', async () => {
    const r = await t.post('/v1/timeseries/ReadEventRecords', ARTICLE_READ);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(events(r), []);
  });

  it('reads newest first over an interval holding the events, with and without the filter', async () => {
    const req = JSON.parse(ARTICLE_READ) as Json;
    req.timeInterval = { start: '2024-10-03T21:00:00.000Z', end: '2024-10-03T22:00:00.000Z' };
    const filtered = await t.post('/v1/timeseries/ReadEventRecords', req);
    assert.equal(filtered.status, 200);
    assert.deepEqual(
      events(filtered).map((e) => e.eventId),
      ['550e8400-e29b-41d4-a716-446655440000'],
    );
    assert.equal(events(filtered)[0]!.eventTime, '2024-10-03T21:24:23.988Z');
    delete req.eventFilters;
    const all = await t.post('/v1/timeseries/ReadEventRecords', req);
    assert.deepEqual(
      events(all).map((e) => e.eventId),
      ['550e8400-e29b-41d4-a716-446655440000', '123e4567-e89b-12d3-a456-426614174000'],
    );
    // The items come back as written (sorted by key), bytes intact.
    assert.deepEqual(events(all)[0]!.eventItems, [
      { eventItemKey: 'deviceMetadata', eventItemValue: 'c29tZSBtZXRhZGF0YQ==' },
      { eventItemKey: 'deviceType', eventItemValue: 'aW9z' },
    ]);
  });

  it('accepts the buffered WriteEventRecords with 202 and the events become readable after the drain', async () => {
    const body = JSON.parse(ARTICLE_WRITE) as { events: Json[] };
    body.events = body.events.map((e, i) => ({ ...e, eventId: `buffered-${i}` }));
    const r = await t.post('/v1/timeseries/WriteEventRecords', body);
    assert.equal(r.status, 202, JSON.stringify(r.json));
    await t.server.engine.flushBuffers();
    const read = await t.post('/v1/timeseries/ReadEventRecords', {
      namespace: 'my_dataset',
      timeSeriesId: 'profile100',
      timeInterval: { start: '2024-10-03T21:00:00Z', end: '2024-10-03T22:00:00Z' },
    });
    assert.equal(events(read).length, 4);
  });
});

describe('TimeSeries over HTTP: search and aggregate', () => {
  let t: TestServer;
  const ns = uniqueNamespace('search');
  before(async () => {
    t = await startTestServer();
    const doc = {
      persistence_configuration: [
        { id: 'PRIMARY_STORAGE', physical_storage: { type: 'SQLITE' }, config: { acceptLimit: '1d' } },
        {
          id: 'INDEX_STORAGE',
          config: { indexConfig: { fieldMapping: { deviceType: 'KEYWORD', deviceRegistrationTimestamp: 'DATE', score: 'INTEGER', note: 'TEXT' } } },
        },
      ],
    };
    const r = await t.call('PUT', `/v1/timeseries/namespaces/${ns}`, doc);
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const mk = (id: string, minute: number, device: string, reg: string, score: number, note: string) => ({
      timeSeriesId: `profile${id}`,
      eventTime: `2024-10-03T20:${String(minute).padStart(2, '0')}:00.000Z`,
      eventId: `e${id}`,
      eventItems: [
        { eventItemKey: 'deviceType', eventItemValue: b64(device) },
        { eventItemKey: 'deviceRegistrationTimestamp', eventItemValue: b64(reg) },
        { eventItemKey: 'score', eventItemValue: b64(String(score)) },
        { eventItemKey: 'note', eventItemValue: b64(note) },
      ],
    });
    const w = await t.post('/v1/timeseries/WriteEventRecordsSync', {
      namespace: ns,
      events: [
        mk('1', 1, 'ios', '2024-10-02T00:00:00.000Z', 10, 'Fast phone'),
        mk('2', 2, 'ios', '2024-10-02T12:00:00.000Z', 20, 'slow phone'),
        mk('3', 3, 'ios', '2024-10-03T00:00:00.000Z', 30, 'tablet'),
        mk('4', 4, 'android', '2024-10-02T06:00:00.000Z', 40, 'phone, fast'),
        mk('5', 5, 'tv', '2024-09-01T00:00:00.000Z', 50, 'big screen'),
      ],
    });
    assert.equal(w.status, 200, JSON.stringify(w.json));
  });
  after(async () => {
    await t.stop();
  });

  it('runs the article search verbatim: equals AND range with inclusive lower, exclusive upper', async () => {
    const r = await t.post('/v1/timeseries/SearchEventRecords', ARTICLE_SEARCH.replace('"my_dataset"', JSON.stringify(ns)));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(
      events(r).map((e) => e.eventId),
      ['e2', 'e1'],
    );
  });

  it('supports OR, NOT, TEXT tokens and paging', async () => {
    const q = (searchQuery: Json, extra: Json = {}) =>
      t.post('/v1/timeseries/SearchEventRecords', {
        namespace: ns,
        timeInterval: { start: '2024-10-03T20:00:00Z', end: '2024-10-03T21:00:00Z' },
        searchQuery,
        ...extra,
      });
    const or = await q({
      booleanQuery: {
        operator: 'OR',
        searchQuery: [
          { equals: { eventItemKey: 'deviceType', eventItemValue: b64('tv') } },
          { range: { eventItemKey: 'score', lowerBound: { eventItemValue: b64('40'), inclusive: true } } },
        ],
      },
    });
    assert.deepEqual(events(or).map((e) => e.eventId), ['e5', 'e4']);
    const not = await q({ booleanQuery: { operator: 'NOT', searchQuery: [{ equals: { eventItemKey: 'deviceType', eventItemValue: b64('ios') } }] } });
    assert.deepEqual(events(not).map((e) => e.eventId), ['e5', 'e4']);
    const text = await q({ equals: { eventItemKey: 'note', eventItemValue: b64('fast') } });
    assert.deepEqual(events(text).map((e) => e.eventId), ['e4', 'e1']);
    const page1 = await q({ equals: { eventItemKey: 'deviceType', eventItemValue: b64('ios') } }, { pageSize: 2 });
    assert.deepEqual(events(page1).map((e) => e.eventId), ['e3', 'e2']);
    const page2 = await q({ equals: { eventItemKey: 'deviceType', eventItemValue: b64('ios') } }, { pageSize: 2, pageToken: page1.json.nextPageToken });
    assert.deepEqual(events(page2).map((e) => e.eventId), ['e1']);
    assert.equal(page2.json.nextPageToken, undefined);
  });

  it('aggregates distinct values with counts (paged) and counts', async () => {
    const base = { namespace: ns, timeInterval: { start: '2024-10-03T20:00:00Z', end: '2024-10-03T21:00:00Z' } };
    const d1 = await t.post('/v1/timeseries/AggregateEventRecords', { ...base, aggregationQuery: { distinct: { eventItemKey: 'deviceType', pageSize: 2 } } });
    assert.equal(d1.status, 200, JSON.stringify(d1.json));
    const dist = d1.json.distinct as { values: { eventItemValue: string; count: string }[]; nextPageToken?: string };
    assert.deepEqual(dist.values, [
      { eventItemValue: b64('android'), count: '1' },
      { eventItemValue: b64('ios'), count: '3' },
    ]);
    const d2 = await t.post('/v1/timeseries/AggregateEventRecords', {
      ...base,
      aggregationQuery: { distinct: { eventItemKey: 'deviceType', pageSize: 2 } },
      pageToken: dist.nextPageToken,
    });
    assert.deepEqual((d2.json.distinct as typeof dist).values, [{ eventItemValue: b64('tv'), count: '1' }]);
    const c = await t.post('/v1/timeseries/AggregateEventRecords', {
      ...base,
      searchQuery: { equals: { eventItemKey: 'deviceType', eventItemValue: 'aW9z' } },
      aggregationQuery: { count: {} },
    });
    assert.deepEqual(c.json, { count: '3' });
  });
});

describe('TimeSeries over HTTP: paging, windows, lifecycle', () => {
  let t: TestServer;
  const ns = uniqueNamespace('paging');
  before(async () => {
    t = await startTestServer({ clockStart: '2024-10-03T12:00:00Z' });
    const r = await t.call('PUT', `/v1/timeseries/namespaces/${ns}`, {
      persistence_configuration: [
        {
          id: 'PRIMARY_STORAGE',
          config: {
            timePartition: { secondsPerTimeSlice: '3600', secondsPerTimeBucket: '600', eventBuckets: 3 },
            acceptLimit: '6h',
            queueBuffering: { coalesce: '50ms', bufferCapacity: 4096 },
          },
          lifecycleConfigs: { lifecycleConfig: [{ type: 'retention', config: { close_after: '21600s', delete_after: '28800s' } }] },
        },
      ],
    });
    assert.equal(r.status, 201, JSON.stringify(r.json));
  });
  after(async () => {
    await t.stop();
  });

  it('pages newest first across slices and buckets, honouring totalRecordLimit', async () => {
    // 60 events, one per 5 minutes from 07:00 to 11:55: five slices of an hour.
    const all = Array.from({ length: 60 }, (_, i) => ({
      timeSeriesId: 'series',
      eventTime: new Date(Date.parse('2024-10-03T07:00:00Z') + i * 300_000).toISOString(),
      eventId: `id-${String(i).padStart(2, '0')}`,
      eventItems: [{ eventItemKey: 'n', eventItemValue: b64(String(i)) }],
    }));
    const w = await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: all });
    assert.equal(w.status, 200, JSON.stringify(w.json));
    const seen: string[] = [];
    let token: unknown;
    let pages = 0;
    do {
      const r = await t.post('/v1/timeseries/ReadEventRecords', {
        namespace: ns,
        timeSeriesId: 'series',
        timeInterval: { start: '2024-10-03T07:00:00Z', end: '2024-10-03T11:55:00Z' },
        pageSize: 7,
        ...(token ? { pageToken: token } : {}),
      });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      seen.push(...events(r).map((e) => e.eventId));
      token = r.json.nextPageToken;
      pages++;
    } while (token && pages < 50);
    // End-exclusive: 11:55 is out; start-inclusive: 07:00 is in.
    assert.deepEqual(seen, all.slice(0, 59).map((e) => e.eventId).reverse());
    const limited = await t.post('/v1/timeseries/ReadEventRecords', {
      namespace: ns,
      timeSeriesId: 'series',
      timeInterval: { start: '2024-10-03T07:00:00Z', end: '2024-10-03T12:00:00Z' },
      pageSize: 4,
      totalRecordLimit: 6,
    });
    assert.equal(events(limited).length, 4);
    const rest = await t.post('/v1/timeseries/ReadEventRecords', {
      namespace: ns,
      timeSeriesId: 'series',
      timeInterval: { start: '2024-10-03T07:00:00Z', end: '2024-10-03T12:00:00Z' },
      pageSize: 4,
      totalRecordLimit: 6,
      pageToken: limited.json.nextPageToken,
    });
    assert.equal(events(rest).length, 2);
    assert.equal(rest.json.nextPageToken, undefined);
  });

  it('refuses old events but lets a retry of a stored one through; refuses far-future events', async () => {
    const old = { timeSeriesId: 'w', eventTime: '2024-10-03T01:00:00Z', eventId: 'old', eventItems: [{ eventItemKey: 'k', eventItemValue: 'AA==' }] };
    const r = await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: [old] });
    assert.equal(r.status, 400);
    assert.equal((r.json.error as Json).code, 'FAILED_PRECONDITION');
    assert.match(String((r.json.error as Json).message), /events\[0\]\.eventTime: older than the accept limit/);
    const recent = { ...old, eventTime: '2024-10-03T11:59:00Z', eventId: 'recent' };
    assert.equal((await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: [recent] })).status, 200);
    t.clock.advanceMs(7 * 3600_000); // now 19:00; 11:59 is past the 6h accept limit
    const retry = await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: [recent] });
    assert.equal(retry.status, 200, JSON.stringify(retry.json));
    const fresh = { ...recent, eventId: 'not-stored' };
    assert.equal((await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: [fresh] })).status, 400);
    const future = { ...old, eventTime: '2024-10-04T00:00:00Z', eventId: 'future' };
    const f = await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: [future] });
    assert.equal(f.status, 400);
    assert.match(String((f.json.error as Json).message), /events\[0\]\.eventTime: more than .* in the future/);
  });

  it('closes and drops slices on the injected clock; dropped data is gone', async () => {
    // Slices exist only where events were written (issue 14 item 7): two more, at 16:30 and 18:30.
    const later = ['2024-10-03T16:30:00Z', '2024-10-03T18:30:00Z'].map((eventTime, i) => ({
      timeSeriesId: 'later',
      eventTime,
      eventId: `l${i}`,
      eventItems: [{ eventItemKey: 'k', eventItemValue: 'AA==' }],
    }));
    assert.equal((await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: later })).status, 200);
    t.clock.advanceMs(4 * 3600_000); // now 23:00: slices ending by 17:00 are closed, by 15:00 dropped.
    await t.server.runLifecycle();
    const store = t.server.catalog.events('sqlite');
    const slices = await store.listSlices(ns);
    const byStart = new Map(slices.map((s) => [new Date(s.startMicros / 1000).toISOString(), s.status]));
    assert.equal(byStart.get('2024-10-03T07:00:00.000Z'), 'DROPPED');
    assert.equal(byStart.get('2024-10-03T11:00:00.000Z'), 'DROPPED');
    assert.equal(byStart.get('2024-10-03T16:00:00.000Z'), 'CLOSED');
    assert.equal(byStart.get('2024-10-03T18:00:00.000Z'), 'ACTIVE');
    assert.ok(slices.some((s) => s.status === 'ACTIVE' && s.startMicros / 1000 >= Date.parse('2024-10-03T23:00:00Z')), 'slices ahead of need');
    const r = await t.post('/v1/timeseries/ReadEventRecords', {
      namespace: ns,
      timeSeriesId: 'series',
      timeInterval: { start: '2024-10-03T00:00:00Z', end: '2024-10-04T00:00:00Z' },
    });
    assert.deepEqual(events(r), []);
    const metrics = await fetch(`${t.url}/metrics`).then((m) => m.text());
    assert.match(metrics, /dgw_timeseries_slices_changed_total\{status="DROPPED"\} [1-9]/);
  });

  it('answers RESOURCE_EXHAUSTED when the write buffer is full, and nothing of that batch is queued', async () => {
    const now = new Date(t.clock.nowMicros() / 1000).toISOString();
    const big = (id: string) => ({ timeSeriesId: 'b', eventTime: now, eventId: id, eventItems: [{ eventItemKey: 'v', eventItemValue: b64('x'.repeat(1500)) }] });
    const first = await t.post('/v1/timeseries/WriteEventRecords', { namespace: ns, events: [big('a'), big('b')] });
    assert.equal(first.status, 202, JSON.stringify(first.json));
    const second = await t.post('/v1/timeseries/WriteEventRecords', { namespace: ns, events: [big('c'), big('d')] });
    assert.equal(second.status, 429);
    assert.equal((second.json.error as Json).code, 'RESOURCE_EXHAUSTED');
    await t.server.engine.flushBuffers();
    const r = await t.post('/v1/timeseries/ReadEventRecords', {
      namespace: ns,
      timeSeriesId: 'b',
      timeInterval: { start: '2024-10-03T00:00:00Z', end: '2024-10-05T00:00:00Z' },
    });
    assert.deepEqual(events(r).map((e) => e.eventId).sort(), ['a', 'b']);
  });
});

describe('TimeSeries over HTTP: bad input is refused with a clear 4xx and changes nothing', () => {
  let t: TestServer;
  const ns = uniqueNamespace('bad');
  before(async () => {
    t = await startTestServer();
    assert.equal((await t.call('PUT', `/v1/timeseries/namespaces/${ns}`, {})).status, 201);
  });
  after(async () => {
    await t.stop();
  });
  const good = () => ({ timeSeriesId: 's', eventTime: '2024-10-03T21:24:59Z', eventId: 'x', eventItems: [{ eventItemKey: 'k', eventItemValue: 'aW9z' }] });
  const expectError = async (path: string, body: unknown, status: number, code: string, message: RegExp) => {
    const r = await t.post(path, body);
    assert.equal(r.status, status, JSON.stringify(r.json));
    const error = r.json.error as Json;
    assert.equal(error.code, code);
    assert.match(String(error.message), message);
  };
  const readAll = async () =>
    events(
      await t.post('/v1/timeseries/ReadEventRecords', {
        namespace: ns,
        timeSeriesId: 's',
        timeInterval: { start: '2024-10-03T00:00:00Z', end: '2024-10-04T00:00:00Z' },
      }),
    );

  it('malformed JSON, wrong types, missing fields, invalid base64', async () => {
    const W = '/v1/timeseries/WriteEventRecordsSync';
    await expectError(W, '{"namespace": ', 400, 'INVALID_ARGUMENT', /malformed JSON/);
    await expectError(W, { namespace: ns, events: 'nope' }, 400, 'INVALID_ARGUMENT', /^events: .*expected array/);
    await expectError(W, { namespace: ns, events: [{ ...good(), eventTime: 12 }] }, 400, 'INVALID_ARGUMENT', /^events\[0\]\.eventTime/);
    await expectError(W, { namespace: ns, events: [{ ...good(), eventTime: 'yesterday' }] }, 400, 'INVALID_ARGUMENT', /^events\[0\]\.eventTime: invalid RFC 3339/);
    await expectError(W, { events: [good()] }, 400, 'INVALID_ARGUMENT', /^namespace: is required/);
    const noId = good() as Partial<ReturnType<typeof good>>;
    delete noId.eventId;
    await expectError(W, { namespace: ns, events: [noId] }, 400, 'INVALID_ARGUMENT', /^events\[0\]\.eventId: is required/);
    await expectError(
      W,
      { namespace: ns, events: [good(), { ...good(), eventId: 'y', eventItems: [{ eventItemKey: 'k', eventItemValue: '***' }] }] },
      400,
      'INVALID_ARGUMENT',
      /^events\[1\]\.eventItems\[0\]\.eventItemValue: invalid base64/,
    );
    assert.deepEqual(await readAll(), []);
  });

  it('a batch with one bad event is rejected whole, naming events[i]', async () => {
    const batch = [good(), { ...good(), eventId: 'late', eventTime: '2024-10-03T21:00:00Z' }];
    await expectError('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: batch }, 400, 'FAILED_PRECONDITION', /^events\[1\]\.eventTime: older than the accept limit of 5s/);
    const dup = { ...good(), eventId: 'dup', eventItems: [good().eventItems[0], good().eventItems[0]] };
    await expectError('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: [good(), dup] }, 400, 'INVALID_ARGUMENT', /^events\[1\]\.eventItems\[1\]\.eventItemKey: duplicate key/);
    await expectError('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: [] }, 400, 'INVALID_ARGUMENT', /^events: must hold at least one event/);
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ ...good(), eventId: `m${i}` }));
    await expectError('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: tooMany }, 400, 'INVALID_ARGUMENT', /exceed the limit of 1000/);
    assert.deepEqual(await readAll(), []);
  });

  it('unknown namespace is 404; oversize body is 413', async () => {
    await expectError('/v1/timeseries/WriteEventRecordsSync', { namespace: 'nope_nope', events: [good()] }, 404, 'NOT_FOUND', /namespace "nope_nope"/);
    await expectError('/v1/timeseries/ReadEventRecords', { namespace: 'nope_nope', timeSeriesId: 's', timeInterval: { start: '2024-10-03T00:00:00Z', end: '2024-10-04T00:00:00Z' } }, 404, 'NOT_FOUND', /not found/);
    const huge = { namespace: ns, events: [{ ...good(), eventItems: [{ eventItemKey: 'k', eventItemValue: 'A'.repeat(9 * 1024 * 1024) }] }] };
    await expectError('/v1/timeseries/WriteEventRecordsSync', huge, 413, 'RESOURCE_EXHAUSTED', /^body: larger than the limit/);
  });

  it('read: invalid intervals, pageSize out of range, invalid page token', async () => {
    const R = '/v1/timeseries/ReadEventRecords';
    const base = { namespace: ns, timeSeriesId: 's', timeInterval: { start: '2024-10-03T00:00:00Z', end: '2024-10-04T00:00:00Z' } };
    await expectError(R, { ...base, timeInterval: { start: '2024-10-04T00:00:00Z', end: '2024-10-03T00:00:00Z' } }, 400, 'INVALID_ARGUMENT', /^timeInterval: start must be before end/);
    await expectError(R, { ...base, timeInterval: { start: 'x', end: '2024-10-03T00:00:00Z' } }, 400, 'INVALID_ARGUMENT', /^timeInterval\.start/);
    await expectError(R, { ...base, pageSize: 0 }, 400, 'INVALID_ARGUMENT', /^pageSize: must be between 1 and 1000/);
    await expectError(R, { ...base, pageSize: 100000 }, 400, 'INVALID_ARGUMENT', /^pageSize/);
    await expectError(R, { ...base, pageToken: 'garbage' }, 400, 'INVALID_ARGUMENT', /^pageToken/);
  });

  it('namespace documents: unknown store type and bad settings name the field', async () => {
    const r = await t.call('PUT', `/v1/timeseries/namespaces/${uniqueNamespace('x')}`, {
      persistence_configuration: [{ id: 'PRIMARY_STORAGE', physical_storage: { type: 'FOO' } }],
    });
    assert.equal(r.status, 400);
    assert.match(String((r.json.error as Json).message), /persistence_configuration\[0\]\.physical_storage\.type/);
    const bad = await t.call('PUT', `/v1/timeseries/namespaces/${uniqueNamespace('x')}`, '{ "persistence_configuration": [ { "id": "PRIMARY_STORAGE", ');
    assert.equal(bad.status, 400);
    const missing = await t.call('GET', '/v1/timeseries/namespaces/not_there');
    assert.equal(missing.status, 404);
  });
});
