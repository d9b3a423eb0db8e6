/**
 * ClockOffsetMonitor (issue 15, src/server/clock-offsets.ts) with an injected store clock
 * and an injected instance clock, wired as runtime.ts wires it: readiness through
 * `readinessWithClocks(catalog.ping, monitor)`, rollups through the CounterService's
 * `clockOffsets`. An offset beyond the skew margin makes the instance not ready (the
 * error names the store and the offset), pauses rollups and sweeps, and is logged once;
 * back within the margin the instance is ready again, rollups resume, and that is logged once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DgwError } from '../../src/kernel/errors.js';
import { ClockOffsetMonitor, readinessWithClocks } from '../../src/server/clock-offsets.js';
import { makeHarness, uniqueNamespace } from '../support/counter-harness.js';

const MARGIN = 1_000_000;

async function rejection(p: Promise<unknown>): Promise<DgwError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DgwError, String(err));
    return err;
  }
  assert.fail('expected a rejection');
}

describe('ClockOffsetMonitor', () => {
  it('beyond the margin: not ready naming store and offset, rollups and sweeps paused, one log line; back within: ready, rollups resume', async () => {
    let storeAheadMicros = 0;
    let monitor: ClockOffsetMonitor | undefined;
    const logs: string[] = [];
    const h = makeHarness('memory', {
      // The store's clock: the instance's (manual) clock plus an offset the test sets.
      storeClock: { nowMicros: async () => h.clock.nowMicros() + storeAheadMicros },
      clockOffsets: (catalog, clock) =>
        (monitor = new ClockOffsetMonitor({ catalog, clock, marginMicros: MARGIN, log: (level, message) => logs.push(`${level} ${message}`) })),
    });
    try {
      assert.ok(monitor);
      const ready = readinessWithClocks(() => h.catalog.ping(), monitor);
      const counters = h.instances[0]!.counters;
      const config = h.config(uniqueNamespace('offset'), 'ACCURATE', { skew_margin: '1s' });
      const rollups = h.catalog.rollups(config.rollup.storage.store);

      await monitor.measure();
      assert.equal(monitor.reading('memory')?.offsetMicros, 0);
      await ready();
      assert.deepEqual(logs, []);

      // The store 3 s ahead of this instance.
      storeAheadMicros = 3_000_000;
      await monitor.measure();
      await monitor.measure();
      assert.equal(monitor.offsetMicros(config.rollup.storage.store), 3_000_000);
      const notReady = await rejection(ready());
      assert.equal(notReady.code, 'UNAVAILABLE');
      assert.match(notReady.message, /store "memory" is 3\.000 s/);
      assert.match(notReady.message, /beyond the skew margin of 1\.000 s/);
      assert.equal(logs.length, 1, `one line for the crossing, not one per measurement: ${JSON.stringify(logs)}`);
      assert.match(logs[0]!, /^warn clock offset of store "memory" is 3\.000 s .*not ready; rollups of its namespaces paused/);

      const token = { token: 't1', generationTimeMicros: h.clock.nowMicros() };
      await counters.addCount(config, { counterName: 'a', delta: 5n, token });
      h.clock.advance(60_000_000); // past accept_limit + skew_margin: the add is due for rollup
      const paused = await rejection(counters.rollupNow(config, 'a'));
      assert.equal(paused.code, 'UNAVAILABLE');
      assert.match(paused.message, /rollups of ".*" paused on this instance/);
      assert.deepEqual(await counters.sweep(config), { swept: 1, failed: 1, timedOut: 0 });
      assert.equal((await rollups.get(config.name, 'a'))?.lastRollupCount ?? 0n, 0n, 'nothing rolled up while paused');

      // Back within the margin.
      storeAheadMicros = 200_000;
      await monitor.measure();
      await ready();
      assert.equal(monitor.readinessProblem(), undefined);
      assert.equal(logs.length, 2, JSON.stringify(logs));
      assert.match(logs[1]!, /^info clock offset of store "memory" back within the skew margin \(0\.200 s\): ready; rollups resume/);
      await counters.rollupNow(config, 'a');
      assert.equal((await rollups.get(config.name, 'a'))?.lastRollupCount, 5n);
      assert.deepEqual(await counters.sweep(config), { swept: 0, failed: 0, timedOut: 0 });
      assert.equal(await counters.getCount(config, 'a'), 5n);
    } finally {
      await monitor?.stop();
      await h.close();
    }
  });

  it('a store behind by more than the margin counts the same as one ahead; a failed measurement keeps the last reading and is logged', async () => {
    let storeAheadMicros = -1_500_000;
    let fail = false;
    let monitor: ClockOffsetMonitor | undefined;
    const logs: string[] = [];
    const h = makeHarness('memory', {
      storeClock: {
        nowMicros: async () => {
          if (fail) throw new Error('connection reset');
          return h.clock.nowMicros() + storeAheadMicros;
        },
      },
      clockOffsets: (catalog, clock) =>
        (monitor = new ClockOffsetMonitor({ catalog, clock, marginMicros: MARGIN, log: (level, message) => logs.push(`${level} ${message}`) })),
    });
    try {
      assert.ok(monitor);
      await monitor.measure();
      assert.match(monitor.readinessProblem() ?? '', /store "memory" is -1\.500 s/);
      fail = true;
      storeAheadMicros = 0;
      await monitor.measure();
      assert.equal(monitor.reading('memory')?.offsetMicros, -1_500_000, 'the last reading stays');
      assert.match(monitor.readinessProblem() ?? '', /-1\.500 s/);
      assert.equal(logs.length, 2, JSON.stringify(logs));
      assert.match(logs[1]!, /^warn clock offset of store "memory" not measured: connection reset/);
    } finally {
      await monitor?.stop();
      await h.close();
    }
  });

  it('skew_margin 0: an offset within the measurement\'s uncertainty neither pauses rollups nor refuses tokenless adds; a larger one does', async () => {
    // Seen with the bench's fast-convergence namespace on PostgreSQL (skew_margin 0s): a
    // measured -0.001 s (same machine, same clock) paused its rollups for good and its
    // EVENTUAL counters read 0 forever. The offset is good to half the read's round trip
    // plus the store clock's resolution (1 ms); only what exceeds that counts.
    let storeAheadMicros = 600; // within 1 ms of resolution (the manual clock's round trip is 0)
    let monitor: ClockOffsetMonitor | undefined;
    const h = makeHarness('memory', {
      storeClock: { nowMicros: async () => h.clock.nowMicros() + storeAheadMicros },
      clockOffsets: (catalog, clock) => (monitor = new ClockOffsetMonitor({ catalog, clock, marginMicros: MARGIN, log: () => undefined })),
    });
    try {
      assert.ok(monitor);
      const counters = h.instances[0]!.counters;
      const config = h.config(uniqueNamespace('zero'), 'EVENTUAL', { skew_margin: '0s' });
      await monitor.measure();
      assert.equal(monitor.offsetMicros(config.rollup.storage.store), 600);
      assert.equal(monitor.uncertaintyMicros(config.rollup.storage.store), 1000);
      await counters.addCount(config, { counterName: 'a', delta: 5n, token: { token: 't1', generationTimeMicros: h.clock.nowMicros() } });
      await counters.addCount(config, { counterName: 'a', delta: 2n }); // tokenless: stamped now + offset
      h.clock.advance(60_000_000);
      await counters.rollupNow(config, 'a');
      assert.equal(await counters.getCount(config, 'a'), 7n);

      storeAheadMicros = 5000; // 5 ms: beyond 0 s by more than the measurement can tell
      await monitor.measure();
      await counters.addCount(config, { counterName: 'b', delta: 1n, token: { token: 't2', generationTimeMicros: h.clock.nowMicros() } });
      h.clock.advance(60_000_000);
      const paused = await rejection(counters.rollupNow(config, 'b'));
      assert.match(paused.message, /paused on this instance/);
      const refused = await rejection(counters.addCount(config, { counterName: 'b', delta: 1n }));
      assert.equal(refused.code, 'UNAVAILABLE');
    } finally {
      await monitor?.stop();
      await h.close();
    }
  });

  it('a server margin of 0: ready while the offset is within the measurement\'s uncertainty, not ready beyond it', async () => {
    // The readiness rule is the rollups' rule: before, /readyz said "not ready" on a
    // measured 0.6 ms between two readings of one clock while every counter worked.
    let storeAheadMicros = 600;
    let monitor: ClockOffsetMonitor | undefined;
    const logs: string[] = [];
    const h = makeHarness('memory', {
      storeClock: { nowMicros: async () => h.clock.nowMicros() + storeAheadMicros },
      clockOffsets: (catalog, clock) => (monitor = new ClockOffsetMonitor({ catalog, clock, marginMicros: 0, log: (level, message) => logs.push(`${level} ${message}`) })),
    });
    try {
      assert.ok(monitor);
      const ready = readinessWithClocks(() => Promise.resolve(), monitor);
      await monitor.measure();
      assert.equal(monitor.readinessProblem(), undefined);
      await ready();
      assert.deepEqual(logs, []);
      storeAheadMicros = -5000;
      await monitor.measure();
      const refused = await rejection(ready());
      assert.equal(refused.code, 'UNAVAILABLE');
      assert.match(refused.message, /is -0\.005 s .*beyond the skew margin of 0\.000 s/);
      assert.equal(logs.length, 1);
    } finally {
      await monitor?.stop();
      await h.close();
    }
  });
});
