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
 *
 * A hot counter's entry does not expire under its readers: the first `peek` that finds it
 * at least `refreshAfterMs` old (default {@link REFRESH_AHEAD} of `ttlMs`) still answers
 * from it and starts one read of the shared cache in the background, which renews it
 * before it expires (a read that finds nothing leaves it to expire). And a `get` that
 * misses while a read of the same counter is under way, begun less than `ttlMs` before,
 * waits for that read instead of sending another. Without them, every `ttlMs` each hot
 * counter's next GetCounts all missed at once, each waited for its own Redis round trip,
 * and the shared cache was asked once per such call (issue 9). The staleness bound is
 * unchanged: an entry is used, and a read joined, for at most `ttlMs` from the read's start.
 */
import type { RollupCache, RollupCheckpoint } from './contracts.js';

/** How long a checkpoint read from (or written to) the shared cache is reused by this instance. */
export const NEAR_CACHE_MS = 100;

/** The fraction of `ttlMs` after which a `peek` renews an entry in the background. */
export const REFRESH_AHEAD = 0.8;

/** Options of {@link nearRollupCache}. */
export interface NearRollupCacheOptions {
  /** How long an entry is reused, in ms (default {@link NEAR_CACHE_MS}). */
  ttlMs?: number;
  /** Most entries kept (default 100,000). */
  maxEntries?: number;
  /**
   * How old an entry is when a `peek` that uses it also renews it in the background
   * (default {@link REFRESH_AHEAD} × `ttlMs`; at or above `ttlMs`: never).
   */
  refreshAfterMs?: number;
  /** Milliseconds, injected for tests (default `performance.now`). */
  nowMs?: () => number;
}

interface Entry {
  value: RollupCheckpoint;
  /** When the value was read or written (the start of the read). */
  at: number;
  /** When a `peek` may renew it: `at + refreshAfterMs`; Infinity once a renewal was sent. */
  renewAt: number;
}

/** A read of the shared cache in flight. */
interface Flight {
  /** When it started: a caller joins it only within `ttlMs` of that. */
  at: number;
  promise: Promise<RollupCheckpoint | undefined>;
}

/** Wraps `inner` (a shared cache, failures already degraded to misses) with a near cache. */
export function nearRollupCache(inner: RollupCache, options: NearRollupCacheOptions = {}): RollupCache {
  const ttlMs = options.ttlMs ?? NEAR_CACHE_MS;
  const maxEntries = Math.max(1, options.maxEntries ?? 100_000);
  const refreshAfterMs = options.refreshAfterMs ?? ttlMs * REFRESH_AHEAD;
  const nowMs = options.nowMs ?? (() => performance.now());
  const byNamespace = new Map<string, Map<string, Entry>>();
  let count = 0;
  /** The read of the shared cache in flight per namespace and counter (at most one each). */
  const reading = new Map<string, Map<string, Flight>>();

  /** The entry when it is younger than `ttlMs` at `now`. */
  const fresh = (namespace: string, counter: string, now: number): Entry | undefined => {
    const entry = byNamespace.get(namespace)?.get(counter);
    return entry !== undefined && now - entry.at < ttlMs ? entry : undefined;
  };
  /** Keeps `value` unless a newer checkpoint is kept and still fresh. */
  const remember = (namespace: string, counter: string, value: RollupCheckpoint, at: number): void => {
    let counters = byNamespace.get(namespace);
    const current = counters?.get(counter);
    if (current !== undefined) {
      if (current.value.rollupTsMicros > value.rollupTsMicros && nowMs() - current.at < ttlMs) return;
      current.value = { count: value.count, rollupTsMicros: value.rollupTsMicros };
      current.at = at;
      current.renewAt = at + refreshAfterMs;
      return;
    }
    if (count >= maxEntries) {
      byNamespace.clear();
      count = 0;
    }
    if (counters === undefined) byNamespace.set(namespace, (counters = new Map()));
    counters.set(counter, { value: { count: value.count, rollupTsMicros: value.rollupTsMicros }, at, renewAt: at + refreshAfterMs });
    count++;
  };

  /**
   * The read of the shared cache for this counter: the one in flight when it started
   * within `ttlMs` of `now` (its answer is then as fresh as an entry may be), else a new
   * one, which replaces it. A read remembers its value as of its start, unless the
   * namespace was dropped or a newer read replaced it meanwhile, and leaves the in-flight map.
   */
  const read = (namespace: string, counter: string, now: number): Promise<RollupCheckpoint | undefined> => {
    let counters = reading.get(namespace);
    const pending = counters?.get(counter);
    if (pending !== undefined && now - pending.at < ttlMs) return pending.promise;
    if (counters === undefined) reading.set(namespace, (counters = new Map()));
    const own = counters;
    /** Leaves the in-flight map; true unless the namespace was dropped or the read replaced. */
    const settle = (): boolean => {
      if (own.get(counter) !== flight) return false;
      own.delete(counter);
      const current = reading.get(namespace) === own;
      if (current && own.size === 0) reading.delete(namespace);
      return current;
    };
    const flight: Flight = {
      at: now,
      promise: inner.get(namespace, counter).then(
        (value) => {
          if (settle() && value !== undefined) remember(namespace, counter, value, now);
          return value;
        },
        (err: unknown) => {
          settle();
          throw err;
        },
      ),
    };
    counters.set(counter, flight);
    return flight.promise;
  };

  return {
    peek(namespace: string, counter: string): Readonly<RollupCheckpoint> | undefined {
      const now = nowMs();
      const entry = fresh(namespace, counter, now);
      if (entry === undefined) return undefined;
      if (now >= entry.renewAt) {
        // One renewal per entry, in the background (a read that finds nothing leaves the
        // entry to expire); the caller is answered from the entry now.
        entry.renewAt = Infinity;
        read(namespace, counter, now).catch(() => undefined);
      }
      return entry.value;
    },
    async get(namespace: string, counter: string): Promise<RollupCheckpoint | undefined> {
      const now = nowMs();
      const entry = fresh(namespace, counter, now);
      if (entry !== undefined) return { count: entry.value.count, rollupTsMicros: entry.value.rollupTsMicros };
      const value = await read(namespace, counter, now);
      return value === undefined ? undefined : { count: value.count, rollupTsMicros: value.rollupTsMicros };
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
      // A read in flight is not remembered once it lands (its map is no longer the namespace's).
      reading.delete(namespace);
      await inner.dropNamespace(namespace);
    },
  };
}
