/** Conformance of RollupStore, RollupCache and CounterCache (DESIGN 4). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freshNamespace, need, rejectsWith, type ConformanceContext } from './support.js';

const MAX = 2n ** 63n - 1n;
const MIN = -(2n ** 63n);

/** Registers the counter-side tests. */
export function registerCounterTests(ctx: ConformanceContext): void {
  const name = () => ctx.stores().name;

  describe('rollups', () => {
    it('recordWrites keeps the max and min write times; a new row starts at count 0, checkpoint 0', async (t) => {
      const rollups = need(t, ctx.stores().rollups, 'rollup store', name());
      if (!rollups) return;
      const ns = freshNamespace();
      assert.equal(await rollups.get(ns, 'c'), undefined);
      await rollups.recordWrites([
        { namespace: ns, counter: 'c', eventTimeMicros: 50 },
        { namespace: ns, counter: 'c', eventTimeMicros: 70 },
        { namespace: ns, counter: 'c', eventTimeMicros: 60 },
        { namespace: ns, counter: 'd', eventTimeMicros: 5 },
      ]);
      await rollups.recordWrites([{ namespace: ns, counter: 'c', eventTimeMicros: 65 }]);
      assert.deepEqual(await rollups.get(ns, 'c'), { lastRollupCount: 0n, lastRollupTsMicros: 0, lastWriteTsMicros: 70, firstWriteTsMicros: 50 });
      assert.equal((await rollups.get(ns, 'd'))?.lastWriteTsMicros, 5);
      await rollups.recordWrites([{ namespace: ns, counter: 'c', eventTimeMicros: 20 }]);
      assert.deepEqual(await rollups.get(ns, 'c'), { lastRollupCount: 0n, lastRollupTsMicros: 0, lastWriteTsMicros: 70, firstWriteTsMicros: 20 });
      await rollups.recordWrites([]);
    });

    it('getMany reads what get reads, one entry per counter in order, duplicates and unknown ones included', async (t) => {
      const rollups = need(t, ctx.stores().rollups, 'rollup store', name());
      if (!rollups) return;
      const ns = freshNamespace();
      const other = freshNamespace();
      assert.deepEqual(await rollups.getMany(ns, ['a', 'b']), [undefined, undefined], 'a namespace never written');
      await rollups.recordWrites([
        { namespace: ns, counter: 'a', eventTimeMicros: 10 },
        { namespace: ns, counter: 'a', eventTimeMicros: 30 },
        { namespace: ns, counter: 'c', eventTimeMicros: 7 },
        { namespace: other, counter: 'b', eventTimeMicros: 5 },
      ]);
      await rollups.advance(ns, 'c', { count: -4n, rollupTsMicros: 9 });
      const counters = ['c', 'b', 'a', 'zz', 'a'];
      const many = await rollups.getMany(ns, counters);
      assert.deepEqual(many, await Promise.all(counters.map((c) => rollups.get(ns, c))));
      assert.deepEqual(many, [
        { lastRollupCount: -4n, lastRollupTsMicros: 9, lastWriteTsMicros: 7, firstWriteTsMicros: 7 },
        undefined, // written in another namespace only
        { lastRollupCount: 0n, lastRollupTsMicros: 0, lastWriteTsMicros: 30, firstWriteTsMicros: 10 },
        undefined,
        { lastRollupCount: 0n, lastRollupTsMicros: 0, lastWriteTsMicros: 30, firstWriteTsMicros: 10 },
      ]);
      assert.deepEqual(await rollups.getMany(ns, ['a']), [many[2]]);
      assert.deepEqual(await rollups.getMany(ns, []), []);
    });

    it('advance moves the checkpoint only forward and keeps lastWriteTs', async (t) => {
      const rollups = need(t, ctx.stores().rollups, 'rollup store', name());
      if (!rollups) return;
      const ns = freshNamespace();
      assert.equal(await rollups.advance(ns, 'fresh', { count: 3n, rollupTsMicros: 10 }), true);
      assert.deepEqual(await rollups.get(ns, 'fresh'), { lastRollupCount: 3n, lastRollupTsMicros: 10, lastWriteTsMicros: 0, firstWriteTsMicros: 0 });
      await rollups.recordWrites([{ namespace: ns, counter: 'c', eventTimeMicros: 500 }]);
      assert.equal(await rollups.advance(ns, 'c', { count: 7n, rollupTsMicros: 100 }), true);
      assert.equal(await rollups.advance(ns, 'c', { count: 8n, rollupTsMicros: 100 }), false);
      assert.equal(await rollups.advance(ns, 'c', { count: 9n, rollupTsMicros: 99 }), false);
      assert.deepEqual(await rollups.get(ns, 'c'), { lastRollupCount: 7n, lastRollupTsMicros: 100, lastWriteTsMicros: 500, firstWriteTsMicros: 500 });
      assert.equal(await rollups.advance(ns, 'c', { count: -2n, rollupTsMicros: 101 }), true);
      assert.equal((await rollups.get(ns, 'c'))?.lastRollupCount, -2n);
    });

    it('advanceMany applies each item conditionally, in order, and reports which applied', async (t) => {
      const rollups = need(t, ctx.stores().rollups, 'rollup store', name());
      if (!rollups) return;
      const ns = freshNamespace();
      await rollups.advance(ns, 'b', { count: 5n, rollupTsMicros: 50 });
      const applied = await rollups.advanceMany([
        { namespace: ns, counter: 'a', next: { count: 1n, rollupTsMicros: 10 } },
        { namespace: ns, counter: 'b', next: { count: 6n, rollupTsMicros: 40 } },
        { namespace: ns, counter: 'a', next: { count: 2n, rollupTsMicros: 20 } },
        { namespace: ns, counter: 'b', next: { count: 7n, rollupTsMicros: 60 } },
      ]);
      assert.deepEqual(applied, [true, false, true, true]);
      assert.equal((await rollups.get(ns, 'a'))?.lastRollupCount, 2n);
      assert.equal((await rollups.get(ns, 'b'))?.lastRollupCount, 7n);
      assert.deepEqual(await rollups.advanceMany([]), []);
    });

    it('laggingCounters pages through the counters whose last write is past their checkpoint', async (t) => {
      const rollups = need(t, ctx.stores().rollups, 'rollup store', name());
      if (!rollups) return;
      const ns = freshNamespace();
      const other = freshNamespace();
      await rollups.recordWrites([
        { namespace: ns, counter: 'b', eventTimeMicros: 100 },
        { namespace: ns, counter: 'a', eventTimeMicros: 100 },
        { namespace: ns, counter: 'c', eventTimeMicros: 100 },
        { namespace: ns, counter: 'd', eventTimeMicros: 100 },
        { namespace: other, counter: 'a', eventTimeMicros: 100 },
      ]);
      await rollups.advance(ns, 'c', { count: 1n, rollupTsMicros: 100 }); // caught up
      await rollups.advance(ns, 'd', { count: 1n, rollupTsMicros: 99 }); // one microsecond behind
      await rollups.advance(ns, 'e', { count: 1n, rollupTsMicros: 99 }); // rolled up, never marked
      // Pages in the store's own order (name, or Cassandra's token order): every lagging
      // counter once, no page over the limit.
      const pages = async (namespace: string, limit: number): Promise<string[]> => {
        const seen: string[] = [];
        for (let after = '', i = 0; i < 1000; i++) {
          const page = await rollups.laggingCounters(namespace, after, limit);
          assert.ok(page.length <= limit, `page of ${page.length} over the limit ${limit}`);
          seen.push(...page);
          if (page.length < limit) return seen;
          after = page[page.length - 1]!;
        }
        throw new Error('laggingCounters never gave a short page');
      };
      assert.deepEqual((await pages(ns, 2)).sort(), ['a', 'b', 'd']);
      assert.deepEqual(await rollups.laggingCounters(freshNamespace(), '', 10), []);
      // Many counters, small pages: each lagging one exactly once.
      const many = freshNamespace();
      const names = Array.from({ length: 40 }, (_, i) => `k${i}`);
      await rollups.recordWrites(names.map((counter) => ({ namespace: many, counter, eventTimeMicros: 200 })));
      await rollups.advanceMany(names.filter((_, i) => i % 3 === 0).map((counter) => ({ namespace: many, counter, next: { count: 1n, rollupTsMicros: 200 } })));
      const lagging = names.filter((_, i) => i % 3 !== 0).sort();
      for (const limit of [1, 4, 7]) assert.deepEqual((await pages(many, limit)).sort(), lagging, `pages of ${limit}`);
    });

    it('claimWrites marks only times after the checkpoint, and its hold stops guarded advances', async (t) => {
      const rollups = need(t, ctx.stores().rollups, 'rollup store', name());
      if (!rollups) return;
      const ns = freshNamespace();
      const T = 1_000_000_000;
      const HOLD = 3_600_000_000; // an hour of the store's clock: active for the whole test
      assert.deepEqual(await rollups.claimWrites([{ namespace: ns, counter: 'c', eventTimeMicros: T }], HOLD), [true]);
      const read = await rollups.readForRollup(ns, 'c');
      assert.ok(read, 'the claim created the row');
      assert.equal(read.lastWriteTsMicros, T);
      assert.equal(read.firstWriteTsMicros, T);
      assert.equal(read.holdTsMicros, T);
      assert.ok(read.holdUntilMicros > read.readAtMicros, 'the hold is active');
      // A guarded advance to or past the held time is refused; one before it applies.
      assert.equal(await rollups.advance(ns, 'c', { count: 1n, rollupTsMicros: T }, read.readAtMicros), false);
      assert.equal(await rollups.advance(ns, 'c', { count: 0n, rollupTsMicros: T - 1 }, read.readAtMicros), true);
      // An earlier claim while the hold is active lowers holdTs.
      assert.deepEqual(await rollups.claimWrites([{ namespace: ns, counter: 'c', eventTimeMicros: T + 5 }], HOLD), [true]);
      assert.equal((await rollups.readForRollup(ns, 'c'))?.holdTsMicros, T);
      // Unguarded advances (no read) ignore holds; afterwards claims at or before the checkpoint are refused.
      assert.equal(await rollups.advance(ns, 'c', { count: 7n, rollupTsMicros: T + 10 }), true);
      assert.deepEqual(
        await rollups.claimWrites(
          [
            { namespace: ns, counter: 'c', eventTimeMicros: T + 10 },
            { namespace: ns, counter: 'c', eventTimeMicros: T + 11 },
            { namespace: ns, counter: 'c', eventTimeMicros: T + 9 },
          ],
          HOLD,
        ),
        [false, true, false],
      );
      const after = await rollups.get(ns, 'c');
      assert.deepEqual(after, { lastRollupCount: 7n, lastRollupTsMicros: T + 10, lastWriteTsMicros: T + 11, firstWriteTsMicros: T });
      // A hold that expired before the read does not stop a guarded advance.
      const ns2 = freshNamespace();
      assert.deepEqual(await rollups.claimWrites([{ namespace: ns2, counter: 'c', eventTimeMicros: T }], -1), [true]);
      const expired = await rollups.readForRollup(ns2, 'c');
      assert.ok(expired && expired.holdUntilMicros <= expired.readAtMicros);
      assert.equal(await rollups.advance(ns2, 'c', { count: 1n, rollupTsMicros: T + 1 }, expired.readAtMicros), true);
    });

    it('a rollup that read a row never writes into a row dropped or made again since (issue 15)', async (t) => {
      const rollups = need(t, ctx.stores().rollups, 'rollup store', name());
      if (!rollups) return;
      const ns = freshNamespace();
      const T = 2_000_000_000;
      await rollups.recordWrites([{ namespace: ns, counter: 'c', eventTimeMicros: T }]);
      const read = await rollups.readForRollup(ns, 'c');
      assert.ok(read);
      // The namespace is dropped: the rollup's advance does not make the row again.
      await rollups.dropNamespace(ns);
      const stale = { namespace: ns, counter: 'c', next: { count: 41n, rollupTsMicros: T + 100 }, readAtMicros: read.readAtMicros, firstWriteTsMicros: read.firstWriteTsMicros };
      assert.deepEqual(await rollups.advanceMany([stale]), [false]);
      assert.equal(await rollups.get(ns, 'c'), undefined);
      // Re-created: new marks make another row (another first write); the stale advance is refused.
      await rollups.recordWrites([{ namespace: ns, counter: 'c', eventTimeMicros: T + 50 }]);
      assert.equal(await rollups.advance(ns, 'c', stale.next, stale.readAtMicros, stale.firstWriteTsMicros), false);
      assert.deepEqual(await rollups.advanceMany([stale]), [false]);
      assert.equal((await rollups.get(ns, 'c'))?.lastRollupCount, 0n);
      // The new incarnation's own rollup applies.
      const fresh = await rollups.readForRollup(ns, 'c');
      assert.ok(fresh);
      assert.deepEqual(
        await rollups.advanceMany([{ namespace: ns, counter: 'c', next: { count: 2n, rollupTsMicros: T + 100 }, readAtMicros: fresh.readAtMicros, firstWriteTsMicros: fresh.firstWriteTsMicros }]),
        [true],
      );
      assert.equal((await rollups.get(ns, 'c'))?.lastRollupCount, 2n);
    });

    it('counts are exact int64 bigints, out-of-range ones refused', async (t) => {
      const rollups = need(t, ctx.stores().rollups, 'rollup store', name());
      if (!rollups) return;
      const ns = freshNamespace();
      const values = [MAX, MAX - 1n, MIN, MIN + 1n, 2n ** 53n + 1n, -(2n ** 53n) - 3n];
      let ts = 1;
      for (const count of values) {
        assert.equal(await rollups.advance(ns, 'big', { count, rollupTsMicros: ts++ }), true);
        assert.equal((await rollups.get(ns, 'big'))?.lastRollupCount, count);
      }
      await rejectsWith(rollups.advance(ns, 'big', { count: MAX + 1n, rollupTsMicros: ts++ }), 'OUT_OF_RANGE');
      await rollups.dropNamespace(ns);
      assert.equal(await rollups.get(ns, 'big'), undefined);
    });
  });

  describe('rollup cache', () => {
    it('stores a value only when its checkpoint is newer', async (t) => {
      const cache = need(t, ctx.stores().rollupCache, 'rollup cache', name());
      if (!cache) return;
      const ns = freshNamespace();
      assert.equal(await cache.get(ns, 'c'), undefined);
      await cache.put(ns, 'c', { count: 5n, rollupTsMicros: 10 });
      await cache.put(ns, 'c', { count: 6n, rollupTsMicros: 10 });
      await cache.put(ns, 'c', { count: 7n, rollupTsMicros: 9 });
      assert.deepEqual(await cache.get(ns, 'c'), { count: 5n, rollupTsMicros: 10 });
      await cache.put(ns, 'c', { count: MIN, rollupTsMicros: 11 });
      assert.deepEqual(await cache.get(ns, 'c'), { count: MIN, rollupTsMicros: 11 });
      const other = freshNamespace();
      await cache.put(other, 'c', { count: 1n, rollupTsMicros: 1 });
      await cache.dropNamespace(ns);
      assert.equal(await cache.get(ns, 'c'), undefined);
      assert.deepEqual(await cache.get(other, 'c'), { count: 1n, rollupTsMicros: 1 });
    });

    it('peek, where the cache has it, reads what get reads, at once', async (t) => {
      const cache = need(t, ctx.stores().rollupCache, 'rollup cache', name());
      if (!cache) return;
      if (!cache.peek) {
        t.skip(`${name()}: the rollup cache has no peek (not in process)`);
        return;
      }
      const ns = freshNamespace();
      assert.equal(cache.peek(ns, 'c'), undefined);
      await cache.put(ns, 'c', { count: 5n, rollupTsMicros: 10 });
      assert.deepEqual({ ...cache.peek(ns, 'c') }, { count: 5n, rollupTsMicros: 10 });
      await cache.put(ns, 'c', { count: 7n, rollupTsMicros: 9 });
      assert.deepEqual({ ...cache.peek(ns, 'c') }, await cache.get(ns, 'c'));
      await cache.dropNamespace(ns);
      assert.equal(cache.peek(ns, 'c'), undefined);
    });
  });

  describe('counter cache', () => {
    it('deletePrefix deletes the keys of one namespace only', async (t) => {
      const cache = need(t, ctx.stores().counterCache, 'counter cache', name());
      if (!cache) return;
      const ns = freshNamespace();
      await cache.add(`${ns}:a`, 5n);
      await cache.add(`${ns}:b*[x]`, 6n);
      await cache.add(`${ns}x:a`, 7n);
      await cache.deletePrefix(`${ns}:`);
      assert.equal(await cache.get(`${ns}:a`), 0n);
      assert.equal(await cache.get(`${ns}:b*[x]`), 0n);
      assert.equal(await cache.get(`${ns}x:a`), 7n);
      await cache.delete(`${ns}x:a`);
    });

    it('add, get and delete with negative deltas and large bigints', async (t) => {
      const cache = need(t, ctx.stores().counterCache, 'counter cache', name());
      if (!cache) return;
      const key = `${freshNamespace()}:c`;
      assert.equal(await cache.get(key), 0n);
      assert.equal(await cache.add(key, 5n), 5n);
      assert.equal(await cache.add(key, -8n), -3n);
      assert.equal(await cache.add(key, 2n ** 60n), 2n ** 60n - 3n);
      assert.equal(await cache.get(key), 2n ** 60n - 3n);
      await cache.delete(key);
      assert.equal(await cache.get(key), 0n);
      await cache.delete(key);
    });

    it('a ttl expires the key (needs a manual clock)', async (t) => {
      const cache = need(t, ctx.stores().counterCache, 'counter cache', name());
      if (!cache) return;
      const clock = ctx.clock;
      if (!clock) {
        t.skip('no ManualClock given to runConformance');
        return;
      }
      const key = `${freshNamespace()}:c`;
      assert.equal(await cache.add(key, 2n, 1_000_000), 2n);
      clock.advance(500_000);
      assert.equal(await cache.add(key, 1n), 3n); // no ttl: expiry kept
      clock.advance(600_000);
      assert.equal(await cache.get(key), 0n);
      assert.equal(await cache.add(key, 1n, 1_000_000), 1n);
    });
  });
}
