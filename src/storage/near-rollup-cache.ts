/**
 * A near cache in front of a shared rollup cache (issue 9): on a deployment whose rollup
 * cache is over the network (Redis), each instance keeps the checkpoints it read or wrote
 * for `ttlMs` (default {@link NEAR_CACHE_MS}), so a hot counter's GetCounts within that time
 * are answered from this process, at once (`peek`), instead of one Redis round trip each.
 *
 * What it changes: an EVENTUAL GetCount may be up to `ttlMs` staler than the shared cache,
 * on top of the `accept_limit + skew_margin + coalesce` a rollup already lags by. Nothing
 * else: this instance's own rollups update it at once; an ACCURATE read folds the events
 * after whatever checkpoint it is given, so an older one only lengthens its scan; entries
 * are keyed by the namespace incarnation like the shared cache's, so a re-created
 * namespace never reads the old one's.
 *
 * Bounded by entry count: when full, it starts over (its entries live `ttlMs` anyway).
 */
import type { RollupCache, RollupCheckpoint } from './contracts.js';

/** How long a checkpoint read from (or written to) the shared cache is reused by this instance. */
export const NEAR_CACHE_MS = 100;

/** Options of {@link nearRollupCache}. */
export interface NearRollupCacheOptions {
  /** How long an entry is reused, in ms (default {@link NEAR_CACHE_MS}). */
  ttlMs?: number;
  /** Most entries kept (default 100,000). */
  maxEntries?: number;
  /** Milliseconds, injected for tests (default `performance.now`). */
  nowMs?: () => number;
}

interface Entry {
  value: RollupCheckpoint;
  /** When the value was read or written (the start of the read). */
  at: number;
}

/** Wraps `inner` (a shared cache, failures already degraded to misses) with a near cache. */
export function nearRollupCache(inner: RollupCache, options: NearRollupCacheOptions = {}): RollupCache {
  const ttlMs = options.ttlMs ?? NEAR_CACHE_MS;
  const maxEntries = Math.max(1, options.maxEntries ?? 100_000);
  const nowMs = options.nowMs ?? (() => performance.now());
  const byNamespace = new Map<string, Map<string, Entry>>();
  let count = 0;

  const fresh = (namespace: string, counter: string): Entry | undefined => {
    const entry = byNamespace.get(namespace)?.get(counter);
    return entry !== undefined && nowMs() - entry.at < ttlMs ? entry : undefined;
  };
  /** Keeps `value` unless a newer checkpoint is kept and still fresh. */
  const remember = (namespace: string, counter: string, value: RollupCheckpoint, at: number): void => {
    let counters = byNamespace.get(namespace);
    const current = counters?.get(counter);
    if (current !== undefined) {
      if (current.value.rollupTsMicros > value.rollupTsMicros && nowMs() - current.at < ttlMs) return;
      current.value = { count: value.count, rollupTsMicros: value.rollupTsMicros };
      current.at = at;
      return;
    }
    if (count >= maxEntries) {
      byNamespace.clear();
      count = 0;
    }
    if (counters === undefined) byNamespace.set(namespace, (counters = new Map()));
    counters.set(counter, { value: { count: value.count, rollupTsMicros: value.rollupTsMicros }, at });
    count++;
  };

  return {
    peek(namespace: string, counter: string): Readonly<RollupCheckpoint> | undefined {
      return fresh(namespace, counter)?.value;
    },
    async get(namespace: string, counter: string): Promise<RollupCheckpoint | undefined> {
      const entry = fresh(namespace, counter);
      if (entry !== undefined) return { count: entry.value.count, rollupTsMicros: entry.value.rollupTsMicros };
      const at = nowMs();
      const value = await inner.get(namespace, counter);
      if (value !== undefined) remember(namespace, counter, value, at);
      return value;
    },
    async put(namespace: string, counter: string, value: RollupCheckpoint): Promise<void> {
      const at = nowMs();
      await inner.put(namespace, counter, value);
      remember(namespace, counter, value, at);
    },
    async dropNamespace(namespace: string): Promise<void> {
      const counters = byNamespace.get(namespace);
      if (counters !== undefined) {
        count -= counters.size;
        byNamespace.delete(namespace);
      }
      await inner.dropNamespace(namespace);
    },
  };
}
