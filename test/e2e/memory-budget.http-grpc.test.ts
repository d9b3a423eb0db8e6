/**
 * Bodies reserve from the server memory budget before they are read (docs/operations.md
 * "Memory budget"): with a 1 MiB budget, an HTTP body or gRPC message of 300 KB (4 × 300
 * KB reserved) is refused with RESOURCE_EXHAUSTED, Retry-After and the MEMORY_BUDGET
 * reason; a small one passes; nothing stays reserved afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';
import { grpcRawClient } from '../support/grpc-raw.js';

describe('memory budget: HTTP bodies and gRPC messages', () => {
  let t: TestServer;
  let raw: ReturnType<typeof grpcRawClient>;
  const ns = uniqueNamespace('mbudget');
  const event = (id: string, size: number) => ({
    timeSeriesId: 's',
    eventTime: '2024-10-03T21:00:00Z',
    eventId: id,
    eventItems: [{ eventItemKey: 'k', eventItemValue: Buffer.alloc(size, 1).toString('base64') }],
  });

  before(async () => {
    t = await startTestServer({ grpcPort: 0, memoryBudgetBytes: 2 ** 20 });
    raw = grpcRawClient(t.server.grpcPort!);
    assert.equal((await t.call('PUT', `/v1/timeseries/namespaces/${ns}`, { persistence_configuration: [{ id: 'PRIMARY_STORAGE', config: { acceptLimit: '1d' } }] })).status, 201);
  });
  after(async () => {
    raw?.close();
    await t?.stop();
  });

  it('HTTP: a body over the budget is 429 with Retry-After before it is read; a small one passes', async () => {
    const big = JSON.stringify({ namespace: ns, events: [event('big', 4 * 65_536 - 1000)] });
    const res = await fetch(`${t.url}/v1/timeseries/WriteEventRecordsSync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    const body = (await res.json()) as { error: { code: string; details: { reason?: string }[] } };
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(body.error.code, 'RESOURCE_EXHAUSTED');
    assert.equal(body.error.details[0]?.reason, 'MEMORY_BUDGET');
    // A chunked body (no length) reserves as if it were the body limit (8 MiB): refused too.
    const chunked = await fetch(`${t.url}/v1/timeseries/WriteEventRecordsSync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Blob([JSON.stringify({ namespace: ns, events: [event('c', 10)] })]).stream(),
      duplex: 'half',
    } as RequestInit);
    assert.equal(chunked.status, 429);
    const small = await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: [event('small', 1000)] });
    assert.equal(small.status, 200, JSON.stringify(small.json));
    assert.equal(t.server.memoryBudget.usedBytes, 0);
  });

  it('gRPC: a message over the budget is RESOURCE_EXHAUSTED; a small one passes', async () => {
    const encode = (id: string, size: number) =>
      raw.encode('dgw.v1.TimeSeriesService', 'WriteEventRecordsSync', {
        namespace: ns,
        events: [{ timeSeriesId: 's', eventTime: { seconds: String(Date.parse('2024-10-03T21:00:00Z') / 1000), nanos: 0 }, eventId: id, eventItems: [{ eventItemKey: 'k', eventItemValue: Buffer.alloc(size, 1) }] }],
      });
    const big = await raw.call('dgw.v1.TimeSeriesService', 'WriteEventRecordsSync', encode('gbig', 300_000));
    assert.equal(big.code, status.RESOURCE_EXHAUSTED, big.details);
    assert.match(big.details, /memory budget/);
    const small = await raw.call('dgw.v1.TimeSeriesService', 'WriteEventRecordsSync', encode('gsmall', 1000));
    assert.equal(small.code, status.OK, small.details);
    assert.equal(t.server.memoryBudget.usedBytes, 0);
  });
});
