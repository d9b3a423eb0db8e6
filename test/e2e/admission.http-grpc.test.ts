/**
 * The priority admission queue through both transports, deterministically: the test holds
 * the server's only admission slot itself, so every call waits in the queue. A waiting
 * low-priority call is shed past its wait budget (429 / RESOURCE_EXHAUSTED with its retry
 * advice); a waiting high-priority call is served as soon as the slot is freed, before an
 * earlier low-priority one; a client that disconnects while waiting leaves the queue.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';
import { grpcTestClient } from '../support/grpc-call.js';
import { accessOf } from '../../src/server/call-context.js';

describe('priority admission queue over HTTP and gRPC', () => {
  const ns = uniqueNamespace('adm');
  let t: TestServer;
  let rpc: ReturnType<typeof grpcTestClient>;

  /** Takes the only admission slot, as a running call would. */
  const holdSlot = (): (() => void) => {
    const r = t.server.shedder!.enter({ operation: 'GetCount', access: accessOf('GetCount'), namespace: ns, header: () => undefined }, 100);
    assert.equal(typeof r, 'function', 'the slot was free');
    return r as () => void;
  };
  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(cond(), 'condition reached');
  };
  const getCount = (priority: number, signal?: AbortSignal) =>
    fetch(`${t.url}/v1/counter/GetCount`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-dgw-priority': String(priority) },
      body: JSON.stringify({ namespace: ns, counter_name: 'c' }),
      ...(signal ? { signal } : {}),
    });

  before(async () => {
    // Priority p waits at most 20·p ms: priority 10 gives up after 200 ms, 90 after 1.8 s.
    t = await startTestServer({ grpcPort: 0, shedding: { admission: { limit: 1, maxQueue: 8, maxWaitMs: 2000 } } });
    rpc = grpcTestClient(t.server.grpcPort!);
    assert.equal((await t.call('PUT', `/v1/counter/namespaces/${ns}`, {})).status, 201);
  });
  after(async () => {
    rpc.close();
    await t.stop();
  });

  it('HTTP: a high priority overtakes a waiting low one; the low one is shed past its budget', async () => {
    const release = holdSlot();
    const order: string[] = [];
    const low = getCount(10).then(async (r) => {
      order.push(`low ${r.status}`);
      return { status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as { error?: { details: unknown[] } } };
    });
    await until(() => t.server.shedder!.admission.waiting === 1);
    const high = getCount(90).then((r) => {
      order.push(`high ${r.status}`);
      return r.status;
    });
    await until(() => t.server.shedder!.admission.waiting === 2);
    const shed = await low; // 200 ms budget, the slot still held
    assert.equal(shed.status, 429);
    assert.equal(shed.retryAfter, '5');
    assert.deepEqual(shed.body.error?.details[0], { reason: 'OVERLOADED', priority: 10, retryAfterSeconds: 5, maxRetries: 0 });
    release();
    assert.equal(await high, 200);
    assert.deepEqual(order, ['low 429', 'high 200']);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(metrics, /dgw_admission_waiting 0/);
  });

  it('HTTP: a client that goes away while waiting leaves the queue', async () => {
    const release = holdSlot();
    const abort = new AbortController();
    const gone = getCount(90, abort.signal).catch((e: unknown) => e);
    await until(() => t.server.shedder!.admission.waiting === 1);
    abort.abort();
    await gone;
    await until(() => t.server.shedder!.admission.waiting === 0);
    release();
    assert.equal(t.server.shedder!.admission.inFlight, 0, 'the departed call never took the slot');
  });

  it('gRPC: waits for the slot, or is RESOURCE_EXHAUSTED past its budget', async () => {
    const release = holdSlot();
    const req = { namespace: ns, counterName: 'c' };
    const err = await rpc.failure('dgw.v1.CounterService', 'GetCount', req, { 'x-dgw-priority': '5' });
    assert.equal(err.code, status.RESOURCE_EXHAUSTED);
    assert.match(err.details, /waited \d+ ms for a slot/);
    assert.equal(err.metadata.get('retry-after')[0], '5');
    const served = rpc.call('dgw.v1.CounterService', 'GetCount', req, { 'x-dgw-priority': '90' });
    await until(() => t.server.shedder!.admission.waiting === 1);
    release();
    assert.deepEqual(await served, { count: '0' });
    assert.equal(t.server.shedder!.admission.inFlight, 0);
  });
});
