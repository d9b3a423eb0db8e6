/**
 * The SDK against a shedding dgw (DESIGN 8, injected overload signal, real HTTP): a shed
 * call is retried no sooner than the server's Retry-After and then succeeds; the server's
 * maxRetries bounds the retries (0 for the lowest priorities: one attempt only); a
 * Retry-After longer than the call's deadline ends the call at once, not at the deadline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DgwClient, DgwClientError, type CallEvent } from '../../src/client/index.js';
import { Dial } from '../support/overload-dial.js';
import { startTestServer, uniqueNamespace, type TestServer } from '../support/http-server.js';

describe('DgwClient against a shedding server', () => {
  const dial = new Dial();
  const ns = uniqueNamespace('sdk_shed');
  let t: TestServer;

  before(async () => {
    t = await startTestServer({ overloadSignals: dial, shedding: { eventLoopDelayMs: { threshold: 0, max: 100 }, eventLoopDelayMinInFlight: 0 } });
    assert.equal((await t.call('PUT', `/v1/counter/namespaces/${ns}`, {})).status, 201);
  });
  after(async () => {
    dial.delay = 0;
    await t.stop();
  });

  it('waits for Retry-After, then succeeds', async () => {
    const events: { at: number; e: CallEvent }[] = [];
    const client = new DgwClient({ baseUrls: t.url, priority: 90, onEvent: (e) => events.push({ at: performance.now(), e }) });
    dial.delay = 100; // x = 1: everything is shed; priority 90 gets Retry-After 1 s, maxRetries 3
    setTimeout(() => (dial.delay = 0), 300);
    assert.equal(await client.getCount({ namespace: ns, counterName: 'c' }, { deadlineMs: 10_000 }), 0n);
    const failed = events.find((x) => x.e.type === 'attempt-failed');
    const retry = events.find((x) => x.e.type === 'attempt' && x.e.reason === 'retry');
    assert.ok(failed && failed.e.type === 'attempt-failed' && failed.e.code === 'RESOURCE_EXHAUSTED', JSON.stringify(events));
    assert.ok(retry, 'retried');
    // The retry was not sent before the server's Retry-After (1 s) had passed.
    assert.ok(retry.at - failed.at >= 990, `retried after ${Math.round(retry.at - failed.at)} ms`);
    assert.equal(events.at(-1)?.e.type, 'answered');
  });

  it("keeps to the server's maxRetries, and does not wait past its own deadline", async () => {
    dial.delay = 100;
    try {
      const low = new DgwClient({ baseUrls: t.url, priority: 5 }); // maxRetries 0
      const err = await low.getCount({ namespace: ns, counterName: 'c' }, { deadlineMs: 30_000 }).catch((e: unknown) => e);
      assert.ok(err instanceof DgwClientError, String(err));
      assert.equal(err.code, 'RESOURCE_EXHAUSTED');
      assert.equal(err.attempts, 1);
      assert.equal(err.retryAfterMs, 5000);

      const hurried = new DgwClient({ baseUrls: t.url, priority: 50 }); // Retry-After 3 s
      const err2 = await hurried.getCount({ namespace: ns, counterName: 'c' }, { deadlineMs: 2000 }).catch((e: unknown) => e);
      // RESOURCE_EXHAUSTED, not DEADLINE_EXCEEDED: it gave up at once instead of waiting out its deadline.
      assert.ok(err2 instanceof DgwClientError && err2.code === 'RESOURCE_EXHAUSTED' && err2.attempts === 1, String(err2));
    } finally {
      dial.delay = 0;
    }
  });
});
