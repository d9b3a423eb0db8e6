/**
 * Metrics of deleted namespaces are removed (issue 14 hardening): namespaces created,
 * used and deleted must leave no labelled series behind in /metrics.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { b64, startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';

describe('metrics of deleted namespaces', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.stop());

  const seriesOf = async (names: string[]): Promise<string[]> => {
    const res = await fetch(`${t.url}/metrics`);
    const text = await res.text();
    return text.split('\n').filter((line) => names.some((n) => line.includes(`namespace="${n}"`) || line.includes(`namespace="counter:${n}"`)));
  };

  it('are gone from /metrics once the namespaces are deleted', async () => {
    const names: string[] = [];
    for (let i = 0; i < 10; i++) {
      const ts = uniqueNamespace('mts');
      const ctr = uniqueNamespace('mctr');
      names.push(ts, ctr);
      assert.equal((await t.call('PUT', `/v1/timeseries/namespaces/${ts}`, {})).status, 201);
      assert.equal((await t.call('PUT', `/v1/counter/namespaces/${ctr}`, {})).status, 201);
      const event = { timeSeriesId: 's', eventTime: '2024-10-03T21:24:59Z', eventId: `e${i}`, eventItems: [{ eventItemKey: 'k', eventItemValue: b64('v') }] };
      assert.equal((await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ts, events: [event] })).status, 200);
      assert.equal((await t.post('/v1/timeseries/WriteEventRecords', { namespace: ts, events: [{ ...event, eventId: `b${i}` }] })).status, 202);
      assert.equal((await t.post('/v1/counter/AddCount', { namespace: ctr, counter_name: 'c', delta: 2 })).status, 200);
      assert.equal((await t.post('/v1/counter/GetCount', { namespace: ctr, counter_name: 'c' })).status, 200);
    }
    await t.server.engine.flushBuffers();
    const before = await seriesOf(names);
    assert.ok(before.length > 0, 'the namespaces left no series at all: the test would prove nothing');
    for (const n of names) {
      const kind = n.startsWith('mts') ? 'timeseries' : 'counter';
      assert.equal((await t.call('DELETE', `/v1/${kind}/namespaces/${n}`)).status, 200);
    }
    const left = await seriesOf(names);
    assert.deepEqual(left, [], `${left.length} series left of ${before.length}`);
  });
});
