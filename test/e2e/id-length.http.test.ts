/**
 * The id length limit (issue 14.3: `maxIdLength` 256 in core/timeseries/limits.ts, checked
 * in write-path.ts; MAX_COUNTER_NAME_LENGTH and MAX_TOKEN_LENGTH 256 in
 * core/counter/validate.ts), over HTTP against a real server: an id of 257 characters is
 * refused with a 400 INVALID_ARGUMENT naming the field, before a 202 on the buffered path,
 * and nothing of its batch is stored; an id of 256 characters is accepted and reads back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { b64, startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';

type Json = Record<string, unknown>;
const DAY = { start: '2024-10-03T00:00:00Z', end: '2024-10-04T00:00:00Z' };
const LIMIT = 256;

describe('id length limit (256 characters)', () => {
  let t: TestServer;
  const ts = uniqueNamespace('idlen_ts');
  const ctr = uniqueNamespace('idlen_ctr');

  before(async () => {
    t = await startTestServer();
    assert.equal((await t.call('PUT', `/v1/timeseries/namespaces/${ts}`, { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '30d' } }] })).status, 201);
    assert.equal((await t.call('PUT', `/v1/counter/namespaces/${ctr}`, { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] })).status, 201);
  });
  after(() => t.stop());

  const event = (series: string, id: string, key: string): Json => ({
    timeSeriesId: series,
    eventTime: '2024-10-03T10:00:00Z',
    eventId: id,
    eventItems: [{ eventItemKey: key, eventItemValue: b64('v') }],
  });
  const readSeries = async (series: string): Promise<Json[]> => {
    const r = await t.post('/v1/timeseries/ReadEventRecords', { namespace: ts, timeSeriesId: series, timeInterval: DAY });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json.events as Json[];
  };
  const refusedNaming = (r: { status: number; json: Json }, field: string) => {
    assert.equal(r.status, 400, JSON.stringify(r.json));
    const error = r.json.error as Json;
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.ok(String(error.message).startsWith(`${field}: `), `"${String(error.message)}" names ${field}`);
    assert.match(String(error.message), /longer than 256 characters/);
  };

  for (const path of ['/v1/timeseries/WriteEventRecordsSync', '/v1/timeseries/WriteEventRecords']) {
    for (const field of ['timeSeriesId', 'eventId', 'eventItemKey'] as const) {
      it(`${path.split('/').pop()}: ${field} of 257 characters is a 400 naming it and stores nothing of the batch; 256 is accepted`, async () => {
        const series = `s_${path.length}_${field}`;
        const long = (n: number) => `${field[0]}`.repeat(n);
        const make = (n: number) =>
          event(field === 'timeSeriesId' ? long(n) : series, field === 'eventId' ? long(n) : `e_${n}`, field === 'eventItemKey' ? long(n) : 'k');
        // A good event first: the whole batch is refused, not only the bad one.
        const good = event(series, 'good', 'k');
        const refused = await t.post(path, { namespace: ts, events: [good, make(LIMIT + 1)] });
        const at = field === 'eventItemKey' ? 'events[1].eventItems[0].eventItemKey' : `events[1].${field}`;
        refusedNaming(refused, at);
        await t.server.engine.flushBuffers();
        assert.deepEqual(await readSeries(series), [], 'nothing of the refused batch stored');
        if (field === 'timeSeriesId') assert.deepEqual(await readSeries(long(LIMIT + 1)), []);

        const accepted = await t.post(path, { namespace: ts, events: [make(LIMIT)] });
        assert.equal(accepted.status, path.endsWith('Sync') ? 200 : 202, JSON.stringify(accepted.json));
        await t.server.engine.flushBuffers();
        const back = await readSeries(field === 'timeSeriesId' ? long(LIMIT) : series);
        assert.equal(back.length, 1);
        if (field === 'eventId') assert.equal(back[0]!.eventId, long(LIMIT));
        if (field === 'eventItemKey') assert.equal((back[0]!.eventItems as Json[])[0]!.eventItemKey, long(LIMIT));
      });
    }
  }

  it('counters: a counter_name or idempotency token of 257 characters is a 400 naming it and counts nothing; 256 is accepted', async () => {
    const name = 'n'.repeat(LIMIT);
    refusedNaming(await t.post('/v1/counter/AddCount', { namespace: ctr, counter_name: 'n'.repeat(LIMIT + 1), delta: 5 }), 'counter_name');
    refusedNaming(await t.post('/v1/counter/ClearCount', { namespace: ctr, counter_name: 'n'.repeat(LIMIT + 1) }), 'counter_name');
    refusedNaming(await t.post('/v1/counter/GetCount', { namespace: ctr, counter_name: 'n'.repeat(LIMIT + 1) }), 'counter_name');
    const generation = '2024-10-03T21:24:59Z';
    refusedNaming(
      await t.post('/v1/counter/AddCount', { namespace: ctr, counter_name: name, delta: 5, idempotency_token: { token: 't'.repeat(LIMIT + 1), generation_time: generation } }),
      'idempotency_token.token',
    );
    assert.equal((await t.post('/v1/counter/GetCount', { namespace: ctr, counter_name: name })).json.count, '0', 'nothing counted');
    const ok = await t.post('/v1/counter/AddAndGetCount', { namespace: ctr, counter_name: name, delta: 5, idempotency_token: { token: 't'.repeat(LIMIT), generation_time: generation } });
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    assert.equal(ok.json.count, '5');
    assert.equal((await t.post('/v1/counter/GetCount', { namespace: ctr, counter_name: name })).json.count, '5');
  });
});
