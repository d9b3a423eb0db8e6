/**
 * BEST_EFFORT counters (DESIGN 4.2): one value per counter in the namespace's cache store
 * under `<namespace>:<counter_name>`, incremented with the namespace TTL.
 *
 * NOT idempotent: a retried or hedged add is counted again (tokens are accepted and
 * ignored). NOT durable: the value lives in a cache (process memory in embedded mode, Redis
 * in server mode) and may be lost or evicted. Fast and cheap; use EVENTUAL when a count
 * must be exact.
 */
import { DgwError } from '../../kernel/errors.js';
import type { CounterConfig } from '../control/types.js';
import type { StoresByKey, CounterCache } from '../../storage/contracts.js';

/** The cache key of a best-effort counter. */
export function bestEffortKey(namespace: string, counter: string): string {
  return `${namespace}:${counter}`;
}

/** Best-effort counter operations over the catalog's counter caches. */
export class BestEffortCounters {
  constructor(private readonly catalog: StoresByKey) {}

  /** Adds `delta` (any sign) and refreshes the TTL; returns the new value. */
  add(config: CounterConfig, counter: string, delta: bigint): Promise<bigint> {
    const ttl = config.ttlMicros > 0 ? config.ttlMicros : undefined;
    // A cache without native expiry would keep the counter forever: refuse, never ignore the TTL.
    if (ttl !== undefined && !this.catalog.capabilities(config.cache.storage.store, 'counterCache').ttl) {
      return Promise.reject(
        new DgwError('FAILED_PRECONDITION', `namespace "${config.name}": its counter cache store "${config.cache.storage.store}" cannot expire keys, but the namespace has a ttl`),
      );
    }
    return this.cache(config).add(bestEffortKey(config.name, counter), delta, ttl);
  }

  /** Current value; 0 when absent or expired. */
  get(config: CounterConfig, counter: string): Promise<bigint> {
    return this.cache(config).get(bestEffortKey(config.name, counter));
  }

  /** Deletes the counter (reads 0 afterwards). */
  clear(config: CounterConfig, counter: string): Promise<void> {
    return this.cache(config).delete(bestEffortKey(config.name, counter));
  }

  /** Deletes every counter of the namespace (namespace names have no ':', so the prefix is its own). */
  dropNamespace(config: CounterConfig): Promise<void> {
    return this.cache(config).deletePrefix(bestEffortKey(config.name, ''));
  }

  private cache(config: CounterConfig): CounterCache {
    return this.catalog.counterCache(config.cache.storage.store);
  }
}
