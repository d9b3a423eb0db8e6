/**
 * In-process rollup cache: an LRU bounded by entry count, used by the memory adapter and
 * by the embedded SQLite mode (no Redis there).
 */
import type { RollupCache, RollupCheckpoint } from '../contracts.js';

/** Options of {@link LruRollupCache}. */
export interface LruRollupCacheOptions {
  /** Maximum number of cached counters; the least recently used is evicted. Default 100,000. */
  maxEntries?: number;
}

const SEP = '\u0000';

/** A RollupCache keeping at most `maxEntries` checkpoints, least recently used evicted first. */
export class LruRollupCache implements RollupCache {
  private readonly entries = new Map<string, RollupCheckpoint>();
  private readonly maxEntries: number;

  constructor(options: LruRollupCacheOptions = {}) {
    this.maxEntries = Math.max(1, options.maxEntries ?? 100_000);
  }

  async get(namespace: string, counter: string): Promise<RollupCheckpoint | undefined> {
    const key = namespace + SEP + counter;
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return { count: value.count, rollupTsMicros: value.rollupTsMicros };
  }

  async put(namespace: string, counter: string, value: RollupCheckpoint): Promise<void> {
    const key = namespace + SEP + counter;
    const current = this.entries.get(key);
    if (current !== undefined && current.rollupTsMicros >= value.rollupTsMicros) return;
    this.entries.delete(key);
    this.entries.set(key, { count: value.count, rollupTsMicros: value.rollupTsMicros });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  async dropNamespace(namespace: string): Promise<void> {
    const prefix = namespace + SEP;
    for (const key of this.entries.keys()) {
      if (key.startsWith(prefix)) this.entries.delete(key);
    }
  }

  /** Number of cached entries (for metrics and tests). */
  get size(): number {
    return this.entries.size;
  }
}
