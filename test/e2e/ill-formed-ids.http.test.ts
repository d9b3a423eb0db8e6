/**
 * Issue 14 item 4 end to end (real server, SQLite in a temp dir): ids, names and keys that
 * differ only in lone UTF-16 surrogates used to be stored as one (the driver turns a lone
 * surrogate into U+FFFD), so the second mutation was answered 200 and silently lost. Every
 * such id is now refused with a 400 naming the field, and nothing is stored.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { b64, startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';

const ACCURATE_DOC = { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'ACCURATE' } }] };

describe('ill-formed Unicode in ids, names and keys', () => {
  let t: TestServer;
  const tsNs = uniqueNamespace('uni');
  const cNs = uniqueNamespace('unic');
  const now = () => new Date(t.clock.nowMicros() / 1000).toISOString();

  before(async () => {
    t = await startTestServer();
    assert.equal((await t.call('PUT', `/v1/timeseries/namespaces/${tsNs}`, {})).status, 201);
    assert.equal((await t.call('PUT', `/v1/counter/namespaces/${cNs}`, ACCURATE_DOC)).status, 201);
  });
  after(async () => t.stop());

  const refused = (r: { status: number; json: Record<string, unknown> }, field: RegExp) => {
    const error = r.json['error'] as { code: string; message: string } | undefined;
    assert.equal(r.status, 400, JSON.stringify(r.json));
    assert.equal(error?.code, 'INVALID_ARGUMENT');
    assert.match(error.message, field);
  };

  it('refuses event ids, series ids and item keys with lone surrogates; nothing is stored', async () => {
    const event = (over: Record<string, unknown>) => ({
      namespace: tsNs,
      events: [{ timeSeriesId: 's', eventTime: now(), eventId: 'e', eventItems: [{ eventItemKey: 'k', eventItemValue: b64('v') }], ...over }],
    });
    for (const path of ['WriteEventRecordsSync', 'WriteEventRecords']) {
      refused(await t.post(`/v1/timeseries/${path}`, event({ eventId: 'e\uD800' })), /^events\[0\]\.eventId: ill-formed Unicode/);
      refused(await t.post(`/v1/timeseries/${path}`, event({ eventId: 'e\uD801' })), /^events\[0\]\.eventId: ill-formed Unicode/);
      refused(await t.post(`/v1/timeseries/${path}`, event({ timeSeriesId: 's\uDC00' })), /^events\[0\]\.timeSeriesId: ill-formed/);
      refused(
        await t.post(`/v1/timeseries/${path}`, event({ eventItems: [{ eventItemKey: 'k\uDFFF', eventItemValue: b64('v') }] })),
        /^events\[0\]\.eventItems\[0\]\.eventItemKey: ill-formed/,
      );
      refused(await t.post(`/v1/timeseries/${path}`, event({ timeSeriesId: 's\u0000' })), /^events\[0\]\.timeSeriesId: must not contain a NUL/);
    }
    await t.server.engine.flushBuffers();
    const read = await t.post('/v1/timeseries/ReadEventRecords', {
      namespace: tsNs,
      timeSeriesId: 's',
      timeInterval: { start: '1970-01-01T00:00:00Z', end: '2100-01-01T00:00:00Z' },
    });
    assert.equal(read.status, 200);
    assert.deepEqual(read.json['events'], []);
    refused(
      await t.post('/v1/timeseries/ReadEventRecords', {
        namespace: tsNs,
        timeSeriesId: 's\uD800',
        timeInterval: { start: '1970-01-01T00:00:00Z', end: '2100-01-01T00:00:00Z' },
      }),
      /^timeSeriesId: ill-formed Unicode/,
    );
  });

  it('refuses idempotency tokens and counter names with lone surrogates; the count stays exact', async () => {
    const add = (over: Record<string, unknown>) =>
      t.post('/v1/counter/AddCount', {
        namespace: cNs,
        counter_name: 'c',
        delta: 1,
        idempotency_token: { token: 'tok', generation_time: now() },
        ...over,
      });
    refused(await add({ idempotency_token: { token: 'tok\uD800', generation_time: now() } }), /^idempotency_token\.token: ill-formed/);
    refused(await add({ idempotency_token: { token: 'tok\uD801', generation_time: now() } }), /^idempotency_token\.token: ill-formed/);
    refused(await add({ counter_name: 'c\uDC01' }), /^counter_name: ill-formed/);
    refused(await t.post('/v1/counter/GetCount', { namespace: cNs, counter_name: 'c\uDC01' }), /^counter_name: ill-formed/);
    assert.equal((await add({ idempotency_token: { token: 'tok\uD83D\uDE00', generation_time: now() } })).status, 200);
    const get = await t.post('/v1/counter/GetCount', { namespace: cNs, counter_name: 'c' });
    assert.deepEqual(get.json, { count: '1' });
  });

  it('refuses namespace names that are not plain ASCII', async () => {
    const r = await t.call('PUT', '/v1/timeseries/namespaces/ns%ED%A0%80', {});
    assert.equal(r.status, 400, JSON.stringify(r.json));
  });
});
