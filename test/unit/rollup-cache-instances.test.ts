/**
 * Two instances sharing one rollup store, each with a rollup cache of its own in its
 * process: the shape of a PostgreSQL deployment without Redis (or `--workers N`). Memory
 * stores marked shared stand for PostgreSQL. A rollup by one instance does not touch the
 * other's cache, so what a cache holds must never be read as more than it says:
 * - a counter without a row is not remembered as never rolled up (the other instance may
 *   write and roll it up meanwhile);
 * - an ACCURATE read whose cached checkpoint says "never rolled up" takes count and
 *   checkpoint from the one row it reads, not the cached count with the row's checkpoint.
 * ManualClock and ManualScheduler: no sleeps.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ManualClock } from '../../src/kernel/clock.js';
import { parseCounterNamespace } from '../../src/core/control/counter-doc.js';
import type { CounterConfig, CounterType } from '../../src/core/control/types.js';
import { createCounterService, type CounterEngine } from '../../src/core/counter/service.js';
import { ManualScheduler } from '../../src/core/counter/scheduler.js';
import { createTimeSeriesService, type TimeSeriesEngine } from '../../src/core/timeseries/service.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import { StoreCatalog } from '../../src/storage/catalog.js';
import type { StoreSet } from '../../src/storage/contracts.js';
import { LruRollupCache } from '../../src/storage/in-process/lru-rollup-cache.js';
import { createMemoryStores } from '../../src/storage/memory/stores.js';

interface Rig {
  clock: ManualClock;
  scheduler: ManualScheduler;
  config: CounterConfig;
  a: CounterEngine;
  b: CounterEngine;
  close(): Promise<void>;
}

/** Instances a and b: one shared store set ("db"), and a cache of their own each ("local"). */
function rig(type: CounterType): Rig {
  const clock = new ManualClock();
  const scheduler = new ManualScheduler(clock);
  const memory = createMemoryStores({ clock });
  const db: StoreSet = { ...memory, name: 'db', capabilities: { ...memory.capabilities, shared: true }, ping: () => memory.ping(), close: () => memory.close() };
  const engines: { counters: CounterEngine; timeseries: TimeSeriesEngine }[] = [];
  for (let i = 0; i < 2; i++) {
    const local: StoreSet = { name: 'local', capabilities: { durable: false, shared: false, ttl: false }, rollupCache: new LruRollupCache(), ping: async () => {}, close: async () => {} };
    const catalog = new StoreCatalog('db', [
      ['db', db],
      ['local', local],
    ]);
    const registry = new Registry();
    const timeseries = createTimeSeriesService({ clock, catalog, registry });
    engines.push({ timeseries, counters: createCounterService({ clock, catalog, timeseries, registry, pipeline: { scheduler } }) });
  }
  const parsed = parseCounterNamespace('shared_db', { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: type } }] }, createEmbeddedStoreResolver('db', { stores: ['db'] })).config;
  const config: CounterConfig = { ...parsed, cache: { storage: { ...parsed.cache.storage, store: 'local' } } };
  return {
    clock,
    scheduler,
    config,
    a: engines[0]!.counters,
    b: engines[1]!.counters,
    async close() {
      for (const e of engines) {
        await e.counters.shutdown();
        await e.timeseries.shutdown();
      }
      await memory.close();
    },
  };
}

describe('Rollup caches of two instances over one shared rollup store', () => {
  for (const type of ['EVENTUAL', 'ACCURATE'] as const) {
    it(`${type}: a counter read before its first write is read from the store again once the other instance wrote and rolled it up`, async () => {
      const r = rig(type);
      try {
        assert.equal(await r.a.getCount(r.config, 'x'), 0n, 'no row yet');
        await r.scheduler.advance(10_000);
        await r.b.addCount(r.config, { counterName: 'x', delta: 4n, token: { token: 't', generationTimeMicros: r.clock.nowMicros() } });
        await r.scheduler.advance(10_000); // b's pipeline rolls x up; a's has nothing queued
        assert.equal(await r.b.getCount(r.config, 'x'), 4n, 'b');
        assert.equal(await r.a.getCount(r.config, 'x'), 4n, 'a: its cache did not answer "never rolled up" for a counter it had only seen without a row');
      } finally {
        await r.close();
      }
    });
  }

  it('ACCURATE: a cached "never rolled up" with a rollup committed since counts the rollup\'s events once, not zero times', async () => {
    const r = rig('ACCURATE');
    try {
      await r.b.addCount(r.config, { counterName: 'x', delta: 4n, token: { token: 't', generationTimeMicros: r.clock.nowMicros() } });
      assert.equal(await r.a.getCount(r.config, 'x'), 4n, 'a reads the row (not rolled up yet) and caches it');
      r.clock.advance(10_000_000); // time passes, no window fires
      await r.b.rollupNow(r.config, 'x'); // b rolls up: the row says 4 at a later checkpoint; a's cache still says 0, never rolled up
      assert.equal(await r.a.getCount(r.config, 'x'), 4n, 'a: the row\'s count with the row\'s checkpoint');
      await r.a.addCount(r.config, { counterName: 'x', delta: 1n, token: { token: 'u', generationTimeMicros: r.clock.nowMicros() } });
      assert.equal(await r.a.getCount(r.config, 'x'), 5n);
    } finally {
      await r.close();
    }
  });
});
