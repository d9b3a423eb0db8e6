/**
 * The bench's wait for a quiet server between scenarios (src/bench/driver.ts `settle`), on
 * a scripted CPU clock: it waits while the server's processes use more than the quiet share
 * of a core, returns at the first quiet window, gives up at its bound, and does not wait
 * when the processes cannot be read.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { settle } from '../../src/bench/driver.js';

/** A fake clock and CPU counter: the server uses `busy[i]` of a core in window i, then 0. */
function scripted(busy: number[]) {
  let now = 0;
  let cpu = 0;
  let window = 0;
  return {
    nowMs: () => now,
    cpuMs: () => cpu,
    sleep: async (ms: number) => {
      cpu += ms * (busy[window] ?? 0);
      now += ms;
      window++;
    },
    windows: () => window,
  };
}

const target = { pids: () => [1] };

describe('bench settle', () => {
  it('waits while the server is busy and returns at the first quiet window', async () => {
    const s = scripted([1, 0.5, 0.2, 0.05]);
    const r = await settle(target, { windowMs: 250, maxMs: 20_000, ...s });
    assert.deepEqual(r, { waitedMs: 1000, quiet: true });
    assert.equal(s.windows(), 4);
  });

  it('gives up at its bound while the server stays busy', async () => {
    const s = scripted(Array(100).fill(0.9));
    const r = await settle(target, { windowMs: 250, maxMs: 1000, ...s });
    assert.deepEqual(r, { waitedMs: 1000, quiet: false });
  });

  it('returns after one window for an idle server, and at once counts unreadable processes as quiet', async () => {
    const idle = scripted([0.02]);
    assert.deepEqual(await settle(target, { windowMs: 250, ...idle }), { waitedMs: 250, quiet: true });
    const gone = scripted([1]);
    assert.deepEqual(await settle(target, { windowMs: 250, ...gone, cpuMs: () => undefined }), { waitedMs: 250, quiet: true });
  });
});
