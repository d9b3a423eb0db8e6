/**
 * Priority load shedding through both transports with an injected overload signal
 * (deterministic): HTTP answers 429 with Retry-After and `{maxRetries, retryAfterSeconds}`,
 * gRPC RESOURCE_EXHAUSTED with the same details and a `retry-after` metadata entry; the
 * priority comes from the header / metadata, else the namespace's default, else the
 * operation's; probes are never shed; a bad priority header is a 400 naming it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { Dial } from '../support/overload-dial.js';
import { startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';
import { grpcTestClient } from '../support/grpc-call.js';

describe('shedding over HTTP and gRPC (injected overload)', () => {
  const dial = new Dial();
  const vip = uniqueNamespace('vip');
  const plain = uniqueNamespace('plain');
  let t: TestServer;
  let rpc: ReturnType<typeof grpcTestClient>;

  const getCount = async (namespace: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${t.url}/v1/counter/GetCount`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ namespace, counter_name: 'c' }),
    });
    const json = (await res.json()) as { error?: { code: string; message: string; details: Record<string, unknown>[] } };
    return { status: res.status, retryAfter: res.headers.get('retry-after'), error: json.error };
  };

  before(async () => {
    t = await startTestServer({
      grpcPort: 0,
      overloadSignals: dial,
      shedding: { eventLoopDelayMs: { threshold: 0, max: 100 }, eventLoopDelayMinInFlight: 0, namespacePriorities: { [vip]: 95 } },
    });
    rpc = grpcTestClient(t.server.grpcPort!);
    for (const ns of [vip, plain]) assert.equal((await t.call('PUT', `/v1/counter/namespaces/${ns}`, {})).status, 201);
  });
  after(async () => {
    rpc.close();
    await t.stop();
  });

  it('HTTP: 429 with Retry-After and retry advice below the curve, served above it', async () => {
    dial.delay = 80; // x = 0.8: priorities ≤ 51 shed
    const shed = await getCount(plain); // GetCount defaults to 50
    assert.equal(shed.status, 429);
    assert.equal(shed.error?.code, 'RESOURCE_EXHAUSTED');
    assert.deepEqual(shed.error?.details[0], { reason: 'OVERLOADED', priority: 50, retryAfterSeconds: 3, maxRetries: 2 });
    assert.equal(shed.retryAfter, '3');
    assert.equal((await getCount(plain, { 'x-dgw-priority': '52' })).status, 200, 'header raises it');
    assert.equal((await getCount(vip)).status, 200, "the namespace's default (95)");
    assert.equal((await getCount(vip, { 'x-dgw-priority': '5' })).status, 429, 'the header wins over the namespace');
    const low = await getCount(plain, { 'x-dgw-priority': '1' });
    assert.equal(low.retryAfter, '5', 'lower priorities wait longer');
    assert.equal((await fetch(`${t.url}/healthz`)).status, 200, 'probes are never shed');
    assert.equal((await fetch(`${t.url}/metrics`)).status, 200);
    dial.delay = 0;
    assert.equal((await getCount(plain, { 'x-dgw-priority': '1' })).status, 200, 'nothing shed once the overload is gone');
  });

  it('HTTP: a malformed priority is a 400 naming the header', async () => {
    const r = await getCount(plain, { 'x-dgw-priority': '200' });
    assert.equal(r.status, 400);
    assert.match(r.error?.message ?? '', /x-dgw-priority/);
  });

  it('gRPC: RESOURCE_EXHAUSTED with retry-after metadata, priority from metadata', async () => {
    dial.delay = 95; // x = 0.95: priorities ≤ 85 shed
    const req = { namespace: plain, counterName: 'c' };
    const err = await rpc.failure('dgw.v1.CounterService', 'GetCount', req, { 'x-dgw-priority': '85' });
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
    assert.equal(err.metadata.get('retry-after')[0], '1');
    const details = JSON.parse(String(err.metadata.get('dgw-error-details-bin')[0])) as unknown[];
    assert.deepEqual(details[0], { reason: 'OVERLOADED', priority: 85, retryAfterSeconds: 1, maxRetries: 3 });
    assert.deepEqual(await rpc.call('dgw.v1.CounterService', 'GetCount', req, { 'x-dgw-priority': '86' }), { count: '0' });
    assert.deepEqual(await rpc.call('dgw.v1.CounterService', 'GetCount', { ...req, namespace: vip }), { count: '0' });
    dial.delay = 0;
  });

  it('counts shed calls in /metrics', async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(text, /dgw_requests_shed_total\{operation="GetCount"\} [1-9]/);
    assert.match(text, /dgw_overload_fraction 0/);
  });
});
