/**
 * RequestRates (GET /v1/status, the status page): per-operation counts, totals and
 * latency percentiles over a sliding minute, with an injected clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestRates } from '../../src/server/ops/request-rates.js';
import { ProgressBar } from '../../src/cli/progress-bar.js';

test('rates, totals and percentiles over the last minute; old seconds fall out', () => {
  let now = 1_000_000;
  const rates = new RequestRates(() => now);
  for (let i = 1; i <= 100; i++) rates.record('POST /v1/x', i, i > 98);
  now += 30_000;
  rates.record('POST /v1/y', 5, false);
  let [x, y] = rates.snapshot();
  assert.equal(x!.operation, 'POST /v1/x');
  assert.equal(x!.count, 100);
  assert.equal(x!.total, 100);
  assert.equal(x!.p50, 51);
  assert.equal(x!.p99, 100);
  assert.equal(x!.errors, 2);
  assert.ok(Math.abs(x!.rate - 100 / 60) < 1e-9);
  assert.equal(y!.count, 1);
  now += 31_000; // x's second is now older than the window; y's is not
  rates.record('POST /v1/y', 7, false);
  const snap = rates.snapshot();
  assert.deepEqual(snap.map((o) => o.operation), ['POST /v1/y']);
  [y] = snap;
  assert.equal(y!.count, 2);
  assert.equal(y!.total, 2);
  now += 120_000;
  assert.deepEqual(rates.snapshot(), []);
  rates.record('POST /v1/x', 1, false);
  [x] = rates.snapshot();
  assert.equal(x!.count, 1);
  assert.equal(x!.total, 101, 'totals are monotonic across windows');
});

test('the progress bar draws on a terminal only, in place', () => {
  const written: string[] = [];
  const tty = { isTTY: true, columns: 80, write: (s: string) => written.push(s) > 0 } as unknown as NodeJS.WritableStream & { isTTY: boolean };
  const bar = new ProgressBar(tty, 1000, 'events');
  bar.update(500, 10, true);
  assert.match(written[0]!, /^\r\x1b\[2K\[#+\.+\]  50% 10 events/);
  bar.done();
  assert.equal(written[1], '\r\x1b[2K');
  const pipe: string[] = [];
  const plain = new ProgressBar({ isTTY: false, write: (s: string) => pipe.push(s) > 0 } as unknown as NodeJS.WritableStream, 1000, 'events');
  plain.update(500, 10, true);
  plain.done();
  assert.deepEqual(pipe, []);
});
