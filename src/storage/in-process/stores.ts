/**
 * The in-process caches as a store of their own: the rollup cache (LRU) and the
 * best-effort counter cache (TTL) held in this process. Embedded adapters include them;
 * a server deployment without Redis gets its caches from here (per instance).
 */
import type { Clock } from '../../kernel/clock.js';
import type { StoreSet } from '../contracts.js';
import { toDgwError } from '../native-errors.js';
import { wrapStoreSet } from '../store-wrapper.js';
import { LruRollupCache } from './lru-rollup-cache.js';
import { TtlCounterCache } from './ttl-counter-cache.js';

/** Options of {@link createInProcessCacheStores}. */
export interface InProcessCacheStoresOptions {
  /** Time source of counter-cache expiry; SystemClock by default. */
  clock?: Clock;
  /** Bound of the rollup cache LRU; default 100,000 entries. */
  rollupCacheEntries?: number;
}

/** A StoreSet with the two caches only: `{ durable: false, shared: false, ttl: true }`. */
export function createInProcessCacheStores(options: InProcessCacheStoresOptions = {}): StoreSet {
  return wrapStoreSet({
    name: 'in-process',
    capabilities: { durable: false, shared: false, ttl: true },
    translate: toDgwError,
    parts: {
      rollupCache: new LruRollupCache(options.rollupCacheEntries === undefined ? {} : { maxEntries: options.rollupCacheEntries }),
      counterCache: new TtlCounterCache(options.clock ? { clock: options.clock } : {}),
    },
  });
}
