/**
 * Core decides with capability flags, never adapter names (issue 12, item 1): a
 * BEST_EFFORT namespace with a ttl on a counter cache that cannot expire keys is refused
 * (FAILED_PRECONDITION) and changes nothing, while the same cache with native expiry
 * serves it. The flags are read per part, from the store that actually provides it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ManualClock } from '../../src/kernel/clock.js';
import { isDgwError } from '../../src/kernel/errors.js';
import { parseCounterNamespace } from '../../src/core/control/counter-doc.js';
import { createCounterService } from '../../src/core/counter/service.js';
import { createTimeSeriesService } from '../../src/core/timeseries/service.js';
import { StoreCatalog } from '../../src/storage/catalog.js';
import type { StoreCapabilities, StoreSet } from '../../src/storage/contracts.js';
import { TtlCounterCache } from '../../src/storage/in-process/ttl-counter-cache.js';
import { toDgwError } from '../../src/storage/native-errors.js';
import { wrapStoreSet } from '../../src/storage/store-wrapper.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';

function cacheStore(clock: ManualClock, capabilities: StoreCapabilities): StoreSet {
  return wrapStoreSet({ name: 'cache', capabilities, translate: toDgwError, parts: { counterCache: new TtlCounterCache({ clock }) } });
}

async function setup(ttl: boolean) {
  const clock = new ManualClock();
  // The default store has no counter cache (like PostgreSQL); the assembly names "cache" as its provider.
  const main = wrapStoreSet({ name: 'main', capabilities: { durable: true, shared: true, ttl: false }, translate: toDgwError, parts: {} });
  const catalog = new StoreCatalog('main', [['main', main], ['cache', cacheStore(clock, { durable: false, shared: true, ttl })]], {
    counterCache: 'cache',
  });
  const registry = new Registry();
  const timeseries = createTimeSeriesService({ clock, catalog, registry });
  const counters = createCounterService({ clock, catalog, timeseries, registry });
  const doc = { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: 'BEST_EFFORT' } }] };
  const base = parseCounterNamespace('cheap', doc, createEmbeddedStoreResolver('main', { stores: ['main'] })).config;
  return { catalog, counters, timeseries, config: { ...base, ttlMicros: 60_000_000 } };
}

describe('capability flags', () => {
  it('refuses a BEST_EFFORT ttl on a counter cache without native expiry, counting nothing', async () => {
    const { catalog, counters, timeseries, config } = await setup(false);
    try {
      assert.equal(catalog.capabilities('main', 'counterCache').ttl, false, 'the provider\'s flags, not the default store\'s');
      await assert.rejects(counters.addCount(config, { counterName: 'a', delta: 1n }), (err: unknown) => isDgwError(err) && err.code === 'FAILED_PRECONDITION' && /cannot expire/.test(err.message));
      assert.equal(await counters.getCount(config, 'a'), 0n);
      assert.equal(await counters.getCount({ ...config, ttlMicros: 0 }, 'a'), 0n);
      await counters.addCount({ ...config, ttlMicros: 0 }, { counterName: 'a', delta: 1n });
      assert.equal(await counters.getCount(config, 'a'), 1n, 'without a ttl the cache serves');
    } finally {
      await counters.shutdown();
      await timeseries.shutdown();
      await catalog.close();
    }
  });

  it('serves the same namespace on a cache with native expiry', async () => {
    const { catalog, counters, timeseries, config } = await setup(true);
    try {
      assert.equal(await counters.addAndGetCount(config, { counterName: 'a', delta: 2n }), 2n);
    } finally {
      await counters.shutdown();
      await timeseries.shutdown();
      await catalog.close();
    }
  });
});
