/**
 * Bodies reserve from the server memory budget before they are read (docs/operations.md
 * "Memory budget"): with a 1 MiB budget, an HTTP body or gRPC message of 300 KB (4 × 300
 * KB) is refused with RESOURCE_EXHAUSTED, Retry-After and the MEMORY_BUDGET reason (a
 * declared one before it is read, a chunked one while it arrives); a small one passes;
 * nothing stays reserved afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
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

  it('HTTP: a body over the budget is 429 with Retry-After; a small one passes, chunked or not', async () => {
    const big = JSON.stringify({ namespace: ns, events: [event('big', 4 * 65_536 - 1000)] });
    const res = await fetch(`${t.url}/v1/timeseries/WriteEventRecordsSync`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    const body = (await res.json()) as { error: { code: string; details: { reason?: string }[] } };
    assert.equal(res.status, 429);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(body.error.code, 'RESOURCE_EXHAUSTED');
    assert.equal(body.error.details[0]?.reason, 'MEMORY_BUDGET');
    // A chunked body (no length) reserves as it arrives: a small one passes, a large one is
    // refused once what arrived no longer fits.
    const chunked = (body: string) =>
      fetch(`${t.url}/v1/timeseries/WriteEventRecordsSync`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: new Blob([body]).stream(),
        duplex: 'half',
      } as RequestInit);
    const smallChunked = await chunked(JSON.stringify({ namespace: ns, events: [event('c', 10)] }));
    assert.equal(smallChunked.status, 200, await smallChunked.text());
    const bigChunked = await chunked(big);
    assert.equal(bigChunked.status, 429);
    assert.equal(((await bigChunked.json()) as { error: { details: { reason?: string }[] } }).error.details[0]?.reason, 'MEMORY_BUDGET');
    const small = await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: [event('small', 1000)] });
    assert.equal(small.status, 200, JSON.stringify(small.json));
    assert.equal(t.server.memoryBudget.usedBytes, 0);
  });

  it('HTTP: a small body (declared ≤ 64 KiB) holds 4 × its declared length at once, until its response', async () => {
    const port = Number(new URL(t.url).port);
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(`POST /v1/timeseries/WriteEventRecordsSync HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
    try {
      while (t.server.memoryBudget.usedBytes === 0) await new Promise((r) => setImmediate(r));
      assert.equal(t.server.memoryBudget.usedBytes, 4000);
    } finally {
      socket.destroy();
    }
    const used = (): number => t.server.memoryBudget.usedBytes; // re-read (not the narrowed 4000)
    while (used() !== 0) await new Promise((r) => setImmediate(r));
  });

  it('HTTP: a stalled body holds only what arrived, not what it declared', async () => {
    // Declares 200 KB (4 × 200 KB fits in 1 MiB, so it is let in), sends 100 bytes, stalls.
    const port = Number(new URL(t.url).port);
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(`POST /v1/timeseries/WriteEventRecordsSync HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n${'{'.padEnd(100, ' ')}`);
    try {
      // Until the server has read the first bytes (they are reserved then).
      while (t.server.memoryBudget.usedBytes === 0) await new Promise((r) => setImmediate(r));
      assert.equal(t.server.memoryBudget.usedBytes, 400);
      // 4 × 80 KB more would not fit beside 4 × 200 KB; it fits beside 4 × 100 bytes.
      const other = await t.post('/v1/timeseries/WriteEventRecordsSync', { namespace: ns, events: [event('beside', 60_000)] });
      assert.equal(other.status, 200, JSON.stringify(other.json));
    } finally {
      socket.destroy();
    }
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
