/**
 * gRPC strings must be UTF-8 (issue 14, hardening): protobufjs decodes invalid UTF-8 to
 * U+FFFD silently, so two event ids differing only in invalid bytes (`e\xff`, `e\xfe`)
 * were both stored as `e\uFFFD`, the second write lost. The server checks the raw bytes
 * before decoding and refuses with INVALID_ARGUMENT naming the field, at any depth (event
 * ids, item keys, namespace names, counter names, map keys of a namespace document). A
 * known field with the wrong wire type and bytes that are no message at all are refused
 * the same way, never answered INTERNAL.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';
import { grpcRawClient, patchBytes } from '../support/grpc-raw.js';

const TS = 'dgw.v1.TimeSeriesService';
const COUNTER = 'dgw.v1.CounterService';
const NS = 'dgw.v1.NamespaceService';

describe('gRPC: invalid UTF-8 and malformed messages', () => {
  let t: TestServer;
  let raw: ReturnType<typeof grpcRawClient>;
  const ns = uniqueNamespace('utf8');
  const cns = uniqueNamespace('utf8c');
  const time = { seconds: String(Date.parse('2024-10-03T21:00:00Z') / 1000), nanos: 0 };
  const write = (eventId: string, key = 'k') =>
    raw.encode(TS, 'WriteEventRecordsSync', {
      namespace: ns,
      events: [{ timeSeriesId: 'series', eventTime: time, eventId, eventItems: [{ eventItemKey: key, eventItemValue: Buffer.from('v') }] }],
    });

  before(async () => {
    t = await startTestServer({ grpcPort: 0 });
    raw = grpcRawClient(t.server.grpcPort!);
    assert.equal((await t.call('PUT', `/v1/timeseries/namespaces/${ns}`, { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '1d' } }] })).status, 201);
    assert.equal((await t.call('PUT', `/v1/counter/namespaces/${cns}`, { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'BEST_EFFORT' } }] })).status, 201);
  });
  after(async () => {
    raw?.close();
    await t?.stop();
  });

  it('refuses an event id of invalid UTF-8, naming the field, and stores nothing', async () => {
    const ok = await raw.call(TS, 'WriteEventRecordsSync', write('eXX'));
    assert.equal(ok.code, status.OK, ok.details);
    for (const bad of [
      [0xff, 0xfe],
      [0xc3, 0x28], // a lead byte without its continuation
      [0xed, 0xa0], // the start of an encoded surrogate (invalid in UTF-8)
    ]) {
      const r = await raw.call(TS, 'WriteEventRecordsSync', patchBytes(write('eXX'), 'XX', bad));
      assert.equal(r.code, status.INVALID_ARGUMENT, `${JSON.stringify(bad)}: ${r.details}`);
      assert.match(r.details, /events\[0\]\.eventId: not valid UTF-8/);
    }
    const read = await t.post('/v1/timeseries/ReadEventRecords', {
      namespace: ns,
      timeSeriesId: 'series',
      timeInterval: { start: '2024-10-03T00:00:00Z', end: '2024-10-04T00:00:00Z' },
    });
    assert.deepEqual((read.json.events as { eventId: string }[]).map((e) => e.eventId), ['eXX']);
  });

  it('names nested and other string fields: item keys, namespaces, counter names, document keys', async () => {
    const key = await raw.call(TS, 'WriteEventRecordsSync', patchBytes(write('e2', 'kQQ'), 'QQ', [0xff, 0xff]));
    assert.equal(key.code, status.INVALID_ARGUMENT, key.details);
    assert.match(key.details, /events\[0\]\.eventItems\[0\]\.eventItemKey: not valid UTF-8/);

    const add = await raw.call(COUNTER, 'AddCount', patchBytes(raw.encode(COUNTER, 'AddCount', { namespace: cns, counterName: 'cZZ', delta: '1' }), 'ZZ', [0xc0, 0xaf]));
    assert.equal(add.code, status.INVALID_ARGUMENT, add.details);
    assert.match(add.details, /counterName: not valid UTF-8/);
    const get = await t.post('/v1/counter/GetCount', { namespace: cns, counter_name: 'c\uFFFD' });
    assert.equal(String(get.json.count ?? '0'), '0', 'nothing was added under the replacement character');

    const nsName = await raw.call(COUNTER, 'GetCount', patchBytes(raw.encode(COUNTER, 'GetCount', { namespace: 'nYY', counterName: 'c' }), 'YY', [0xe2, 0x82]));
    assert.equal(nsName.code, status.INVALID_ARGUMENT, nsName.details);
    assert.match(nsName.details, /^namespace: not valid UTF-8/);

    const doc = raw.encode(NS, 'PutNamespace', {
      kind: 'TIMESERIES',
      namespace: uniqueNamespace('utf8d'),
      document: { fields: { persistence_configurationWW: { listValue: { values: [] } } } },
    });
    const put = await raw.call(NS, 'PutNamespace', patchBytes(doc, 'WW', [0xf8, 0x88]));
    assert.equal(put.code, status.INVALID_ARGUMENT, put.details);
    assert.match(put.details, /^document: a map key is not valid UTF-8/);
  });

  it('refuses a known field with the wrong wire type and bytes that are no message: INVALID_ARGUMENT, never INTERNAL', async () => {
    // Field 1 (namespace, a string) sent as a varint.
    const wrongWire = await raw.call(TS, 'WriteEventRecordsSync', Buffer.from([0x08, 0x05]));
    assert.equal(wrongWire.code, status.INVALID_ARGUMENT, wrongWire.details);
    assert.match(wrongWire.details, /^namespace: wrong wire type/);
    const truncated = write('e3').subarray(0, 20);
    const cut = await raw.call(TS, 'WriteEventRecordsSync', truncated);
    assert.equal(cut.code, status.INVALID_ARGUMENT, cut.details);
    assert.match(cut.details, /message: not a valid dgw\.v1\.WriteEventRecordsSyncRequest message/);
    const junk = await raw.call(COUNTER, 'AddCount', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
    assert.equal(junk.code, status.INVALID_ARGUMENT, junk.details);
  });
});
