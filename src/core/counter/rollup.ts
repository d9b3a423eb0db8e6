/**
 * Rollups and reads of event-based counters (DESIGN 4.3, 4.4). Safe without locks: every
 * rollup recomputes a count from a stored (count, checkpoint) pair over an immutable
 * window, and the checkpoint is written conditionally, only forward. Any number of
 * instances may roll the same counter up concurrently; they converge.
 */
import type { Clock } from '../../kernel/clock.js';
import type { CounterConfig } from '../control/types.js';
import { DgwError } from '../../kernel/errors.js';
import type { TimeSeriesService } from '../timeseries/api.js';
import type { RollupCheckpoint } from '../../domain/counters.js';
import type { StoresByKey, RollupAdvance } from '../../storage/contracts.js';
import { ResultGroupCommitter } from '../group-committer.js';
import { decodeCounterEvent, foldEvents, type CounterMutation } from './counter-events.js';
import { LiveWindows } from './live-window.js';
import { isInt64 } from './int64.js';
import type { CounterMetrics, RollupOutcome } from './metrics.js';
import type { RollupResult } from './rollup-pipeline.js';
import { offsetBeyondMargin, type CounterClockOffsets } from './types.js';

/** Live windows per event store object (see {@link CounterRollups.liveWindows}). */
const LIVE_WINDOWS = new WeakMap<object, LiveWindows>();

/** Checkpoint of a counter never rolled up: before any event that can be accepted. */
export const NEVER_ROLLED_UP_MICROS = 0;

/** An idle counter's checkpoint is advanced (one commit) at most this far behind `end`. */
export const IDLE_ADVANCE_MICROS = 60_000_000;

/**
 * Where a rollup's window really starts: the checkpoint, or just before the counter's
 * first write when that is later (every stored event is at or after the first write mark).
 */
function scanStart(checkpointMicros: number, firstWriteMicros: number | undefined): number {
  return firstWriteMicros !== undefined && firstWriteMicros > 0 ? Math.max(checkpointMicros, firstWriteMicros - 1) : checkpointMicros;
}

/**
 * The counter's name as the rollup cache knows it: qualified by the namespace incarnation
 * (`CounterConfig.incarnation`, issue 15), so a checkpoint cached for a namespace that was
 * deleted and re-created (by an instance that had not yet seen the re-create, or by a
 * rollup that straddled the delete) is never read as the new namespace's. Dropping the
 * namespace from the cache still drops every incarnation's entries.
 */
export function rollupCacheCounter(config: CounterConfig, counter: string): string {
  return config.incarnation ? `${config.incarnation}/${counter}` : counter;
}

/** What one rollup did. */
export interface CounterRollupResult extends RollupResult {
  outcome: RollupOutcome;
  /** The checkpoint the counter is at after this rollup (its own or a newer one). */
  checkpoint: RollupCheckpoint;
  /** The counter's write mark (lastWriteTs) as this rollup read it; 0 when none. */
  lastWriteMicros: number;
}

/**
 * Why {@link CounterRollups.rollupUnlessCovered} ran no rollup: `covered`, the checkpoint
 * is already at or past the writes it was asked to cover, or the counter is caught up and
 * a rollup would change nothing; `unwritten`, the counter has no rollup row.
 */
export type RollupSkip = 'covered' | 'unwritten';

/** Dependencies of {@link CounterRollups}. */
export interface CounterRollupsDeps {
  clock: Clock;
  catalog: StoresByKey;
  timeseries: TimeSeriesService;
  metrics: CounterMetrics;
  /** Measured clock offsets (issue 15): rollups pause while the rollup store's is beyond the skew margin. */
  offsets?: CounterClockOffsets;
}

/** Rollups, rollup reads and accurate reads of EVENTUAL / ACCURATE counters. */
export class CounterRollups {
  /** One group committer per rollup store: a pipeline batch's checkpoints share one commit. */
  private readonly advancers = new Map<string, ResultGroupCommitter<RollupAdvance, boolean>>();

  constructor(private readonly deps: CounterRollupsDeps) {}

  /**
   * The live windows of a counter namespace's event store, when every writer of that store
   * is in this process (the store is not `shared`): one per store object, so in-process
   * instances sharing a store share it. Undefined on a shared store.
   */
  liveWindows(config: CounterConfig): LiveWindows | undefined {
    const key = config.events.primary.storage.store;
    if (this.deps.catalog.capabilities(key, 'events').shared) return undefined;
    const store = this.deps.catalog.events(key);
    let windows = LIVE_WINDOWS.get(store);
    if (!windows) LIVE_WINDOWS.set(store, (windows = new LiveWindows()));
    return windows;
  }

  private advance(storeKey: string, item: RollupAdvance): Promise<boolean> {
    let committer = this.advancers.get(storeKey);
    if (!committer) {
      const store = this.deps.catalog.rollups(storeKey);
      committer = new ResultGroupCommitter<RollupAdvance, boolean>({ flush: (items) => store.advanceMany(items), maxBatchItems: 1000 });
      this.advancers.set(storeKey, committer);
    }
    return committer.submit([item]).then((r) => r[0] === true);
  }

  /**
   * Rolls one counter up: `end = now − acceptLimit − skewMargin`; folds the events in
   * `(lastRollupTs, end]` onto the stored count (clear semantics of {@link foldEvents});
   * advances the checkpoint to `end` if nobody advanced it further meanwhile; refreshes
   * the rollup cache. `caughtUp` is false while lastWriteTs is past the checkpoint.
   */
  async rollup(config: CounterConfig, counter: string): Promise<CounterRollupResult> {
    const result = await this.run(config, counter, undefined);
    if (typeof result === 'string') throw new Error('unreachable: a rollup without a cover was skipped');
    return result;
  }

  /**
   * {@link rollup}, unless the row read first shows there is nothing to do: the
   * checkpoint is at or past `coversMicros` (every write the caller asks about is in it),
   * or the counter is caught up and a rollup would neither fold an event nor move the
   * checkpoint (the idle advance of {@link IDLE_ADVANCE_MICROS} not due). Then it writes
   * nothing (not the checkpoint, not the cache) and says why.
   */
  rollupUnlessCovered(config: CounterConfig, counter: string, coversMicros: number | undefined): Promise<CounterRollupResult | RollupSkip> {
    return this.run(config, counter, { coversMicros });
  }

  private async run(config: CounterConfig, counter: string, skip: { coversMicros: number | undefined } | undefined): Promise<CounterRollupResult | RollupSkip> {
    const { clock, catalog, metrics } = this.deps;
    const ns = config.name;
    const store = catalog.rollups(config.rollup.storage.store);
    const cache = catalog.rollupCache(config.cache.storage.store);
    const offset = offsetBeyondMargin(this.deps.offsets, config.rollup.storage.store, config.skewMarginMicros);
    if (offset !== undefined) {
      // This instance's `now − acceptLimit − skewMargin` could pass writes other instances
      // still accept: leave the counter to instances whose clocks agree with the store's.
      // An error, so the pipeline retries it and a sweep keeps the slices (service.ts).
      throw new DgwError(
        'UNAVAILABLE',
        `rollups of "${ns}" paused on this instance: its clock is ${(-offset / 1e6).toFixed(3)} s off the rollup store's, beyond skew_margin (${config.skewMarginMicros / 1e6} s)`,
      );
    }
    const now = clock.nowMicros();
    const row = await store.readForRollup(ns, counter);
    let end = now - config.events.primary.acceptLimitMicros - config.skewMarginMicros;
    if (skip) {
      if (!row) return 'unwritten';
      const at = row.lastRollupTsMicros;
      if ((skip.coversMicros !== undefined && at >= skip.coversMicros) || (row.lastWriteTsMicros <= at && end - at <= IDLE_ADVANCE_MICROS)) return 'covered';
    }
    if (row && row.holdUntilMicros > row.readAtMicros && row.holdTsMicros <= end) {
      // A claimed write at holdTs may still be committing (service.ts): stop just before it.
      end = row.holdTsMicros - 1;
    }
    const prev: RollupCheckpoint = row
      ? { count: row.lastRollupCount, rollupTsMicros: row.lastRollupTsMicros }
      : { count: 0n, rollupTsMicros: NEVER_ROLLED_UP_MICROS };
    const lastWrite = row?.lastWriteTsMicros ?? NEVER_ROLLED_UP_MICROS;

    let outcome: RollupOutcome;
    let checkpoint = prev;
    if (!row) {
      // No write mark, so no event: marks are recorded before events (see service.ts).
      outcome = 'noop';
    } else if (end <= prev.rollupTsMicros) {
      outcome = 'noop';
      await cache.put(ns, rollupCacheCounter(config, counter), prev);
    } else {
      const folded = foldEvents(prev.count, await this.mutations(config, counter, scanStart(prev.rollupTsMicros, row.firstWriteTsMicros), end + 1));
      if (folded.applied === 0 && end - prev.rollupTsMicros <= IDLE_ADVANCE_MICROS && lastWrite <= prev.rollupTsMicros) {
        // Nothing happened in the window: the count is unchanged, so skip the durable write
        // (one commit per read counter per window adds up on SQLite). The checkpoint still
        // moves every IDLE_ADVANCE_MICROS so ACCURATE reads and later rollups scan little.
        // A counter whose write mark is past its checkpoint is always written, so that it
        // leaves the sweeper's lagging set once caught up.
        outcome = 'noop';
        await cache.put(ns, rollupCacheCounter(config, counter), prev);
      } else {
        const next: RollupCheckpoint = { count: folded.count, rollupTsMicros: end };
        if (!isInt64(next.count)) {
          throw new DgwError('OUT_OF_RANGE', `counter "${counter}" of "${ns}": count ${next.count} does not fit in int64`);
        }
        if (await this.advance(config.rollup.storage.store, { namespace: ns, counter, next, readAtMicros: row.readAtMicros, firstWriteTsMicros: row.firstWriteTsMicros })) {
          outcome = 'applied';
          checkpoint = next;
        } else {
          // Another rollup (this or another instance) got further: keep the cache in step.
          outcome = 'superseded';
          const current = await store.get(ns, counter);
          if (current) checkpoint = { count: current.lastRollupCount, rollupTsMicros: current.lastRollupTsMicros };
        }
        await cache.put(ns, rollupCacheCounter(config, counter), checkpoint);
      }
    }
    metrics.rollups.inc({ namespace: ns, outcome });
    if (outcome !== 'noop' || row) {
      const lagSeconds = Math.max(0, now - checkpoint.rollupTsMicros) / 1e6;
      metrics.rollupLag.observe({ namespace: ns }, lagSeconds);
      metrics.rollupLagCurrent.set({ namespace: ns }, lagSeconds);
    }
    return { outcome, checkpoint, lastWriteMicros: lastWrite, caughtUp: lastWrite <= Math.max(checkpoint.rollupTsMicros, end) };
  }

  /**
   * The last rollup of a counter when a cache in this process holds it (RollupCache.peek),
   * read now; undefined otherwise ({@link readRollup} then reads it). Not to be changed.
   */
  cachedRollup(config: CounterConfig, counter: string): Readonly<RollupCheckpoint> | undefined {
    return this.deps.catalog.rollupCache(config.cache.storage.store).peek?.(config.name, rollupCacheCounter(config, counter));
  }

  /**
   * The last rollup of a counter: the cache first; on a miss the rollup store, which then
   * fills the cache. A counter never rolled up reads `{ count: 0, rollupTs: 0 }`.
   */
  async readRollup(config: CounterConfig, counter: string): Promise<RollupCheckpoint> {
    const ns = config.name;
    const cache = this.deps.catalog.rollupCache(config.cache.storage.store);
    const cached = await cache.get(ns, rollupCacheCounter(config, counter));
    if (cached) return cached;
    const row = await this.deps.catalog.rollups(config.rollup.storage.store).get(ns, counter);
    if (!row) {
      const never = { count: 0n, rollupTsMicros: NEVER_ROLLED_UP_MICROS };
      // A counter never written reads as one never rolled up. When every writer and every
      // rollup of it is in this process (neither the rollup store nor the cache is shared:
      // the embedded server), the cache (bounded, least recently used out) remembers it as
      // that: polling a counter before its first write then costs no store read per call
      // (issue 9), and this process's first rollup of it after a write replaces the entry (a
      // later checkpoint). With a shared rollup store another instance may write and roll it
      // up without touching this cache, so nothing is remembered there; and a shared cache
      // (Redis) is never given entries for names without a row (a client could grow it
      // without bound).
      const { catalog } = this.deps;
      const local = !catalog.capabilities(config.rollup.storage.store, 'rollups').shared && !catalog.capabilities(config.cache.storage.store, 'rollupCache').shared;
      if (local) await cache.put(ns, rollupCacheCounter(config, counter), never);
      return never;
    }
    const value = { count: row.lastRollupCount, rollupTsMicros: row.lastRollupTsMicros };
    await cache.put(ns, rollupCacheCounter(config, counter), value);
    return value;
  }

  /**
   * The accurate count (DESIGN 4.4): last rollup plus every stored event after its
   * checkpoint, with clear semantics. The live window reaches `now + futureLimit` so an
   * accepted event stamped slightly ahead of this server's clock (client skew) is counted
   * too: read-your-write holds for every acknowledged add.
   */
  async accurateCount(config: CounterConfig, counter: string): Promise<bigint> {
    let base = await this.readRollup(config, counter);
    let from = base.rollupTsMicros;
    if (from === NEVER_ROLLED_UP_MICROS) {
      // Never rolled up: start at the first write instead of scanning from the epoch.
      const row = await this.deps.catalog.rollups(config.rollup.storage.store).get(config.name, counter);
      if (!row) return base.count;
      // Count and checkpoint of this one row read, together: a rollup may have committed
      // since the value read above (another instance's, whose cache is not this one's, or
      // this instance's between its commit and its cache update), and its checkpoint with
      // the older count would skip the events that rollup folded.
      base = { count: row.lastRollupCount, rollupTsMicros: row.lastRollupTsMicros };
      from = scanStart(row.lastRollupTsMicros, row.firstWriteTsMicros);
    }
    const now = this.deps.clock.nowMicros();
    const to = now + config.events.primary.futureLimitMicros + 1;
    const windows = this.liveWindows(config);
    if (windows) {
      // Only what may have changed since this process last read the counter (live-window.ts).
      const old = now - config.events.primary.acceptLimitMicros - config.skewMarginMicros;
      const start = { count: base.count, rollupTsMicros: from };
      return windows.count(config.events.name, counter, start, to - 1, old, (a, b) => this.mutations(config, counter, a - 1, b + 1));
    }
    const folded = foldEvents(base.count, await this.mutations(config, counter, from, to));
    if (!isInt64(folded.count)) {
      throw new DgwError('OUT_OF_RANGE', `counter "${counter}" of "${config.name}": count ${folded.count} does not fit in int64`);
    }
    return folded.count;
  }

  /** Decoded events of a counter in `(afterMicros, beforeMicros)`, i.e. scan `[after+1, before)`. */
  private async mutations(config: CounterConfig, counter: string, afterMicros: number, beforeMicros: number): Promise<CounterMutation[]> {
    const out: CounterMutation[] = [];
    for await (const event of this.deps.timeseries.scanSeries(config.events, counter, afterMicros + 1, beforeMicros)) {
      const m = decodeCounterEvent(event);
      if (m) out.push(m);
    }
    return out;
  }
}
