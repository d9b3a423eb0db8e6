/** The memory adapter: every storage contract held in process memory (not durable). */
import type { Clock } from '../../kernel/clock.js';
import type { StoreSet } from '../contracts.js';
import { toDgwError } from '../native-errors.js';
import { wrapStoreSet } from '../store-wrapper.js';
import { LruRollupCache } from '../in-process/lru-rollup-cache.js';
import { MemoryEventStore } from './event-store.js';
import { MemoryIndexStore } from './index-store.js';
import { MemoryNamespaceRegistry } from './namespace-registry.js';
import { MemoryRollupStore } from './rollup-store.js';
import { TtlCounterCache } from '../in-process/ttl-counter-cache.js';

export { LruRollupCache, type LruRollupCacheOptions } from '../in-process/lru-rollup-cache.js';
export { TtlCounterCache, type TtlCounterCacheOptions } from '../in-process/ttl-counter-cache.js';

/** Options of {@link createMemoryStores}. */
export interface MemoryStoresOptions {
  /** Time source of counter-cache expiry; SystemClock by default. */
  clock?: Clock;
  /** Bound of the rollup cache LRU; default 100,000 entries. */
  rollupCacheEntries?: number;
}

/**
 * A StoreSet with every part, held in memory: `{ durable: false, shared: false, ttl: true,
 * atomicIndex: true }`.
 * Data lives as long as the returned object; close() releases it.
 */
export function createMemoryStores(options: MemoryStoresOptions = {}): StoreSet {
  const index = new MemoryIndexStore();
  return wrapStoreSet({
    name: 'memory',
    capabilities: { durable: false, shared: false, ttl: true, atomicIndex: true, indexOutbox: true },
    translate: toDgwError,
    parts: {
      events: new MemoryEventStore(index),
      index,
      rollups: new MemoryRollupStore(options.clock),
      rollupCache: new LruRollupCache(
        options.rollupCacheEntries === undefined ? {} : { maxEntries: options.rollupCacheEntries },
      ),
      counterCache: new TtlCounterCache(options.clock ? { clock: options.clock } : {}),
      namespaces: new MemoryNamespaceRegistry(),
    },
  });
}
