/**
 * In-process best-effort counters with per-key expiry (DESIGN 4.2), for the memory adapter
 * and the embedded mode. Expiry follows an injected Clock, so tests advance time.
 */
import { SystemClock, type Clock } from '../../kernel/clock.js';
import { invalidArgument } from '../../kernel/errors.js';
import type { CounterCache } from '../contracts.js';

/** Options of {@link TtlCounterCache}. */
export interface TtlCounterCacheOptions {
  clock?: Clock;
  /**
   * Most counters held (default 1,000,000, about 150 MB at most). Beyond it the least
   * recently written counter is evicted, like Redis with `maxmemory-policy allkeys-lru`:
   * clients cannot grow the server's memory without bound through new counter names.
   */
  maxEntries?: number;
}

interface Entry {
  value: bigint;
  /** Epoch micros after which the entry is gone; undefined: never expires. */
  expiresAt: number | undefined;
}

const SWEEP_EVERY = 4096;

/**
 * Counters in a Map. Like Redis INCRBY + PEXPIRE: a given ttl (re)sets the expiry, no ttl
 * keeps the current one. Expired keys read as absent and are swept lazily.
 */
export class TtlCounterCache implements CounterCache {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;
  private opsSinceSweep = 0;
  private readonly maxEntries: number;

  constructor(options: TtlCounterCacheOptions = {}) {
    this.clock = options.clock ?? new SystemClock();
    this.maxEntries = options.maxEntries ?? 1_000_000;
  }

  async add(key: string, delta: bigint, ttlMicros?: number): Promise<bigint> {
    if (ttlMicros !== undefined && (!Number.isFinite(ttlMicros) || ttlMicros <= 0)) {
      throw invalidArgument('ttlMicros', 'must be a positive number of microseconds');
    }
    const now = this.clock.nowMicros();
    this.maybeSweep(now);
    const current = this.live(key, now);
    const entry: Entry = {
      value: (current?.value ?? 0n) + delta,
      expiresAt: ttlMicros !== undefined ? now + ttlMicros : current?.expiresAt,
    };
    // Delete then set: Map order becomes write order, so the first key is the least recent.
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    return entry.value;
  }

  async get(key: string): Promise<bigint> {
    return this.live(key, this.clock.nowMicros())?.value ?? 0n;
  }

  async deletePrefix(prefix: string): Promise<void> {
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }

  private live(key: string, now: number): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  // Bounded memory: expired keys would otherwise stay until read again.
  private maybeSweep(now: number): void {
    if (++this.opsSinceSweep < SWEEP_EVERY) return;
    this.opsSinceSweep = 0;
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.entries.delete(key);
    }
  }
}
