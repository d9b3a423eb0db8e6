/**
 * Audit and recount (issue 13): a counter's log reads back newest first with tokens and
 * times, page by page; a recount of a correct rollup finds no difference; a rollup made
 * wrong on purpose is reported, left alone without `repair`, and fixed with it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readCounterLog, recountCounter } from '../../src/core/counter/audit.js';
import { DgwError } from '../../src/kernel/errors.js';
import { ADAPTERS, makeHarness } from '../support/counter-harness.js';

for (const adapter of ADAPTERS) {
  describe(`counter audit and recount (${adapter})`, () => {
    it('reads the log newest first with tokens, times and deltas, paged', async () => {
      const h = makeHarness(adapter);
      try {
        const c = h.instances[0]!.counters;
        const config = h.config('audit_log', 'EVENTUAL');
        const t0 = h.clock.nowMicros();
        for (let i = 0; i < 5; i++) {
          await c.addCount(config, { counterName: 'a', delta: BigInt(i + 1), token: { token: `t${i}`, generationTimeMicros: t0 + i } });
        }
        await c.clearCount(config, { counterName: 'a', token: { token: 'clr', generationTimeMicros: t0 + 10 } });
        const deps = h.instances[0]!.timeseries;
        const first = await readCounterLog(deps, h.clock, config, { counterName: 'a', pageSize: 4 });
        assert.deepEqual(
          first.entries.map((e) => [e.kind, e.token, e.timeMicros - t0, e.delta]),
          [
            ['clear', 'clr', 10, undefined],
            ['add', 't4', 4, 5n],
            ['add', 't3', 3, 4n],
            ['add', 't2', 2, 3n],
          ],
        );
        assert.ok(first.nextPageToken);
        const second = await readCounterLog(deps, h.clock, config, { counterName: 'a', pageSize: 4, pageToken: first.nextPageToken! });
        assert.deepEqual(second.entries.map((e) => e.token), ['t1', 't0']);
        assert.equal(second.nextPageToken, undefined);
      } finally {
        await h.close();
      }
    });

    it('recounts: no difference on a true rollup; reports, then repairs, a wrong one', async () => {
      const h = makeHarness(adapter);
      try {
        const inst = h.instances[0]!;
        const config = h.config('audit_recount', 'EVENTUAL');
        const deps = { clock: h.clock, catalog: h.catalog, timeseries: inst.timeseries };
        let t = h.clock.nowMicros();
        for (let i = 0; i < 20; i++) await inst.counters.addCount(config, { counterName: 'r', delta: 3n, token: { token: `k${i}`, generationTimeMicros: t++ } });
        h.clock.advance(10_000_000);
        await inst.counters.rollupNow(config, 'r');
        const sound = await recountCounter(deps, config, 'r', false);
        assert.equal(sound.rollup.count, 60n);
        assert.equal(sound.recount, 60n);
        assert.equal(sound.difference, 0n);
        assert.equal(sound.complete, true);
        assert.equal(sound.eventsScanned, 20);

        // Corrupt the rollup: a checkpoint just past the real one with a wrong count.
        const store = h.catalog.rollups(config.rollup.storage.store);
        assert.ok(await store.advance(config.name, 'r', { count: 7n, rollupTsMicros: sound.rollup.rollupTsMicros + 1 }));
        const found = await recountCounter(deps, config, 'r', false);
        assert.equal(found.rollup.count, 7n);
        assert.equal(found.recount, 60n);
        assert.equal(found.difference, 53n);
        assert.equal(found.repaired, undefined);
        assert.equal((await store.get(config.name, 'r'))!.lastRollupCount, 7n, 'a recount without repair changed the rollup');

        const fixed = await recountCounter(deps, config, 'r', true);
        assert.equal(fixed.difference, 53n);
        assert.equal(fixed.repaired?.count, 60n);
        assert.equal((await store.get(config.name, 'r'))!.lastRollupCount, 60n);
        assert.equal(await inst.counters.getCount(config, 'r'), 60n);
        assert.equal((await recountCounter(deps, config, 'r', false)).difference, 0n);
      } finally {
        await h.close();
      }
    });

    it('refuses to repair from a log that retention has cut', async () => {
      const h = makeHarness(adapter);
      try {
        const inst = h.instances[0]!;
        const config = h.config('audit_cut', 'EVENTUAL');
        const deps = { clock: h.clock, catalog: h.catalog, timeseries: inst.timeseries };
        await inst.counters.addCount(config, { counterName: 'old', delta: 5n, token: { token: 'o', generationTimeMicros: h.clock.nowMicros() } });
        h.clock.advance(10_000_000);
        await inst.counters.rollupNow(config, 'old');
        const row = (await h.catalog.rollups(config.rollup.storage.store).get(config.name, 'old'))!;
        await h.catalog.rollups(config.rollup.storage.store).advance(config.name, 'old', { count: 9n, rollupTsMicros: row.lastRollupTsMicros + 1 });
        // Pretend retention is shorter than the counter's age: its first write is outside it.
        const cut = { ...config, events: { ...config.events, primary: { ...config.events.primary, deleteAfterMicros: 1_000_000 } } };
        const r = await recountCounter(deps, cut, 'old', false);
        assert.equal(r.complete, false);
        await assert.rejects(recountCounter(deps, cut, 'old', true), (e: unknown) => e instanceof DgwError && e.code === 'FAILED_PRECONDITION');
      } finally {
        await h.close();
      }
    });
  });
}
