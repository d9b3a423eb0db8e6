/**
 * Request logs (issue 11): one JSON line per HTTP request and gRPC call with the request
 * id (the caller's x-request-id, or a new one, returned either way), method, route,
 * namespace, status and latency; a 5xx line carries the error's stack while the client
 * sees only the error envelope.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Client, Metadata, credentials } from '@grpc/grpc-js';
import { createLogger } from '../../src/server/ops/logger.js';
import { startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';

type Line = Record<string, unknown>;

describe('request logs', () => {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n')) if (text.trim()) lines.push(JSON.parse(text) as Line);
      done();
    },
  });
  let t: TestServer;
  const ns = uniqueNamespace('log');

  before(async () => {
    t = await startTestServer({ log: createLogger('info', sink), grpcPort: 0 });
    assert.equal((await t.call('PUT', `/v1/timeseries/namespaces/${ns}`, {})).status, 201);
  });
  after(async () => {
    await t.stop();
  });

  const lineOf = (reqId: string) => lines.find((l) => l.reqId === reqId);

  it('keeps an acceptable x-request-id, returns it, and logs method, route, namespace, status, latency', async () => {
    const res = await fetch(`${t.url}/v1/timeseries/ReadEventRecords`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'abc-123' },
      body: JSON.stringify({ namespace: ns, timeSeriesId: 'p', timeInterval: { start: '2024-01-01T00:00:00Z', end: '2024-01-02T00:00:00Z' } }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), 'abc-123');
    const line = lineOf('abc-123');
    assert.ok(line, JSON.stringify(lines.slice(-3)));
    assert.equal(line.method, 'POST');
    assert.equal(line.route, '/v1/timeseries/ReadEventRecords');
    assert.equal(line.namespace, ns);
    assert.equal(line.status, 200);
    assert.equal(typeof line.latencyMs, 'number');
    assert.equal(line.level, 30);
  });

  it('replaces a missing or unacceptable id with a UUID', async () => {
    const forged = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'a b\u00e9"}' } });
    const id = forged.headers.get('x-request-id') ?? '';
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal(lineOf(id)?.route, '/healthz');
    const none = await fetch(`${t.url}/v1/counter/namespaces/${ns}x`);
    assert.match(none.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    assert.equal(lineOf(none.headers.get('x-request-id')!)?.namespace, `${ns}x`);
  });

  it('logs a 5xx with the stack and causes; the client sees no stack', async () => {
    await t.server.catalog.close(); // the store is gone: the next write fails inside the server
    const res = await fetch(`${t.url}/v1/timeseries/WriteEventRecordsSync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'boom-1' },
      body: JSON.stringify({ namespace: ns, events: [{ timeSeriesId: 'p', eventTime: '2024-10-03T21:25:00Z', eventId: 'e', eventItems: [{ eventItemKey: 'k', eventItemValue: 'AA==' }] }] }),
    });
    const text = await res.text();
    assert.ok(res.status >= 500, `${res.status} ${text}`);
    assert.doesNotMatch(text, /\n\s+at |stack/);
    const line = lineOf('boom-1');
    assert.ok(line, 'a line for the failed request');
    assert.equal(line.level, 50);
    const err = line.err as { stack?: string; message?: string } | undefined;
    assert.match(err?.stack ?? '', /\n\s+at /, 'stack logged server-side');
  });

  it('logs gRPC calls with the request id from metadata, returned in response metadata', async () => {
    const client = new Client(`127.0.0.1:${t.server.grpcPort}`, credentials.createInsecure());
    const md = new Metadata();
    md.set('x-request-id', 'grpc-42');
    const returned = await new Promise<string | undefined>((resolve) => {
      const call = client.makeUnaryRequest(
        '/dgw.v1.CounterService/GetCount',
        (v: Buffer) => v,
        (b: Buffer) => b,
        Buffer.alloc(0), // an empty GetCountRequest: refused (no namespace), still logged
        md,
        {},
        () => undefined,
      );
      let id: string | undefined;
      call.on('metadata', (m: Metadata) => (id = String(m.get('x-request-id')[0])));
      call.on('status', (s) => resolve(id ?? String(s.metadata.get('x-request-id')[0])));
    });
    client.close();
    assert.equal(returned, 'grpc-42');
    const line = lineOf('grpc-42');
    assert.equal(line?.route, '/dgw.v1.CounterService/GetCount');
    assert.equal(line?.status, 'INVALID_ARGUMENT');
  });
});
