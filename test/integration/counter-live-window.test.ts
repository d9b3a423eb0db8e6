/**
 * ACCURATE counts through the whole write path when the live window folds in this
 * instance's newly stored events (live-window.ts, issue 9): the store's "newly stored"
 * signal (memory, and SQLite through its writer thread) must not let a retry, a hedged
 * twin or a refused write be counted, and concurrent adds, clears and reads must end at
 * the exact fold of what was acknowledged.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { foldEvents, type CounterMutation } from '../../src/core/counter/counter-events.js';
import { isDgwError } from '../../src/kernel/errors.js';
import { ADAPTERS, makeHarness, uniqueNamespace } from '../support/counter-harness.js';
import { prng } from '../support/dgw-load.js';

for (const adapter of ADAPTERS) {
  describe(`ACCURATE live window with own writes (${adapter})`, () => {
    it('counts a retried add once, after its commit and as a hedged twin in flight', async () => {
      const h = makeHarness(adapter);
      try {
        const c = h.instances[0]!.counters;
        const config = h.config(uniqueNamespace('lw_retry'), 'ACCURATE');
        const now = h.clock.nowMicros();
        const first = { token: 'first', generationTimeMicros: now };
        assert.equal(await c.addAndGetCount(config, { counterName: 'a', delta: 5n, token: first }), 5n);
        assert.equal(await c.getCount(config, 'a'), 5n);
        // The retry after the commit: an idempotent no-op of the stored event.
        assert.equal(await c.addAndGetCount(config, { counterName: 'a', delta: 5n, token: first }), 5n);
        assert.equal(await c.getCount(config, 'a'), 5n);
        // Hedged: both attempts in flight at once (one group commit, or two).
        const twin = { token: 'twin', generationTimeMicros: now + 1 };
        const answers = await Promise.all([
          c.addAndGetCount(config, { counterName: 'a', delta: 3n, token: twin }),
          c.addAndGetCount(config, { counterName: 'a', delta: 3n, token: twin }),
        ]);
        assert.deepEqual(answers, [8n, 8n]);
        assert.equal(await c.getCount(config, 'a'), 8n);
        // Once more each, one after the other.
        for (const token of [first, twin]) await c.addCount(config, { counterName: 'a', delta: 100n, token });
        assert.equal(await c.getCount(config, 'a'), 8n);
      } finally {
        await h.close();
      }
    });

    it('counts nothing of a refused write', async () => {
      const h = makeHarness(adapter);
      try {
        const c = h.instances[0]!.counters;
        const config = h.config(uniqueNamespace('lw_refused'), 'ACCURATE');
        const now = h.clock.nowMicros();
        assert.equal(await c.addAndGetCount(config, { counterName: 'a', delta: 2n, token: { token: 'ok', generationTimeMicros: now } }), 2n);
        // Beyond the future limit: refused by the event write, after the window was told.
        const ahead = { token: 'ahead', generationTimeMicros: now + 3_600_000_000 };
        await assert.rejects(c.addAndGetCount(config, { counterName: 'a', delta: 40n, token: ahead }), (err: unknown) => isDgwError(err) && err.code === 'FAILED_PRECONDITION');
        await assert.rejects(c.clearCount(config, { counterName: 'a', token: { token: 'clear-ahead', generationTimeMicros: now + 3_600_000_000 } }));
        assert.equal(await c.getCount(config, 'a'), 2n);
      } finally {
        await h.close();
      }
    });

    it('clears in the middle of remembered adds are exact', async () => {
      const h = makeHarness(adapter);
      try {
        const c = h.instances[0]!.counters;
        const config = h.config(uniqueNamespace('lw_clear'), 'ACCURATE');
        const t0 = h.clock.nowMicros();
        const add = (id: string, dt: number, delta: bigint) => c.addAndGetCount(config, { counterName: 'a', delta, token: { token: id, generationTimeMicros: t0 + dt } });
        const clear = (id: string, dt: number) => c.clearCount(config, { counterName: 'a', token: { token: id, generationTimeMicros: t0 + dt } });
        assert.equal(await add('a1', 10, 5n), 5n);
        assert.equal(await add('a2', 30, 7n), 12n);
        await clear('c1', 20); // between the two adds: the later one stays
        assert.equal(await c.getCount(config, 'a'), 7n);
        assert.equal(await add('a3', 20, 100n), 7n); // at the clear's time: the clear wins
        await clear('c2', 40);
        assert.equal(await c.getCount(config, 'a'), 0n);
        assert.equal(await add('a4', 50, 1n), 1n);
        await clear('c3', 35); // older than the last clear: nothing changes
        assert.equal(await c.getCount(config, 'a'), 1n);
      } finally {
        await h.close();
      }
    });

    it('concurrent adds, clears and reads end at the exact fold of what was acknowledged', async () => {
      const h = makeHarness(adapter);
      try {
        const c = h.instances[0]!.counters;
        const config = h.config(uniqueNamespace('lw_concurrent'), 'ACCURATE');
        const r = prng(7);
        const counters = ['x', 'y', 'z'];
        const acked = new Map<string, CounterMutation[]>(counters.map((n) => [n, []]));
        let seq = 0;
        for (let round = 0; round < 40; round++) {
          const now = h.clock.nowMicros();
          const ops: Promise<unknown>[] = [];
          for (let i = 0; i < 12; i++) {
            const name = counters[Math.floor(r() * counters.length)]!;
            // Times spread over the last second, so writes land inside remembered segments.
            const time = now - Math.floor(r() * 1_000_000);
            const token = { token: `t${seq++}`, generationTimeMicros: time };
            const p = r();
            if (p < 0.08) {
              ops.push(c.clearCount(config, { counterName: name, token }).then(() => acked.get(name)!.push({ kind: 'clear', timeMicros: time })));
            } else if (p < 0.7) {
              const delta = BigInt(Math.floor(r() * 100) - 20);
              const op = r() < 0.5 ? c.addAndGetCount(config, { counterName: name, delta, token }) : c.addCount(config, { counterName: name, delta, token });
              ops.push(op.then(() => acked.get(name)!.push({ kind: 'add', timeMicros: time, delta })));
              // Sometimes a retry of the same mutation, racing it.
              if (r() < 0.15) ops.push(c.addCount(config, { counterName: name, delta, token }));
            } else {
              ops.push(c.getCount(config, name));
            }
          }
          await Promise.all(ops);
          for (const name of counters) {
            assert.equal(await c.getCount(config, name), foldEvents(0n, acked.get(name)!).count, `round ${round}, counter ${name}`);
          }
          // Time passes; rollups move checkpoints under the remembered segments.
          await h.scheduler.advance(Math.floor(r() * 400));
        }
      } finally {
        await h.close();
      }
    });
  });
}
