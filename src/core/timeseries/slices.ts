/**
 * Slice management: finds or creates the time slices a write needs, caches each
 * namespace's slice metadata, and applies the retention lifecycle (DESIGN 3.2).
 */
import { DgwError } from '../errors.js';
import { MICROS_PER_SECOND } from '../clock.js';
import type { EventStore, SliceInfo, SliceStatus } from '../../storage/contracts.js';
import type { TimeSeriesConfig } from '../control/types.js';
import { alignedSliceStart, findSlice, sliceIdOf } from './partitioning.js';

/** How long a cached slice list is trusted before re-reading it (other instances may change it). */
const SLICE_CACHE_MICROS = 5 * MICROS_PER_SECOND;
/** Most slices one write may create at once (a bound on what a client can make us do). */
const MAX_SLICES_PER_WRITE = 64;

interface CachedSlices {
  slices: SliceInfo[];
  loadedAtMicros: number;
}

/** Outcome of one lifecycle pass over a namespace. */
export interface LifecycleResult {
  created: number;
  closed: number;
  dropped: number;
}

/** Per-namespace slice metadata, cached, over an EventStore. */
export class SliceManager {
  private readonly cache = new Map<string, CachedSlices>();

  constructor(private readonly now: () => number) {}

  /** Every slice row of the namespace, start ascending (cached for a few seconds). */
  async slices(store: EventStore, namespace: string, fresh = false): Promise<SliceInfo[]> {
    const hit = this.cache.get(namespace);
    if (hit && !fresh && this.now() - hit.loadedAtMicros < SLICE_CACHE_MICROS) return hit.slices;
    const slices = await store.listSlices(namespace);
    this.cache.set(namespace, { slices, loadedAtMicros: this.now() });
    return slices;
  }

  /**
   * The slices overlapping `[from, to)`, re-reading the store when the cached list does
   * not cover the whole interval and is older than `maxStaleMicros`. Slices tile time and
   * are never replaced, so a covered interval cannot hide a slice another instance made;
   * an uncovered one may (multi-instance: a slice created elsewhere moments ago).
   */
  async covering(store: EventStore, namespace: string, from: number, to: number, maxStaleMicros: number): Promise<SliceInfo[]> {
    let slices = await this.slices(store, namespace);
    const first = slices[0];
    const last = slices[slices.length - 1];
    const covered = first !== undefined && last !== undefined && first.startMicros <= from && last.endMicros >= to;
    const age = this.now() - (this.cache.get(namespace)?.loadedAtMicros ?? 0);
    if (!covered && age > maxStaleMicros) slices = await this.slices(store, namespace, true);
    return slices;
  }

  /** Slices by status over the namespaces this instance has seen (for metrics). */
  statusCounts(): Record<SliceStatus, number> {
    const counts: Record<SliceStatus, number> = { ACTIVE: 0, CLOSED: 0, DROPPED: 0 };
    for (const { slices } of this.cache.values()) for (const s of slices) counts[s.status]++;
    return counts;
  }

  /** Forgets a namespace's cached slices. */
  forget(namespace: string): void {
    this.cache.delete(namespace);
  }

  /**
   * The slice containing each time, creating missing slices with the namespace's current
   * settings. New slices extend the existing tiling (no gaps, no overlaps); the first slice
   * of a namespace is aligned to the epoch.
   */
  async ensure(store: EventStore, config: TimeSeriesConfig, times: readonly number[]): Promise<SliceInfo[]> {
    const ns = config.name;
    let slices = await this.slices(store, ns);
    const missing = times.filter((t) => !findSlice(slices, t));
    if (missing.length > 0) {
      slices = await this.slices(store, ns, true);
      const plan = planSlices(slices, config, missing);
      if (plan.length > 0) {
        for (const slice of plan) {
          try {
            await store.createSlice(ns, slice);
          } catch (err) {
            // Another instance may have created a different tiling first: re-read and use it.
            if (!(err instanceof DgwError && err.code === 'FAILED_PRECONDITION')) throw err;
          }
        }
        slices = await this.slices(store, ns, true);
      }
    }
    return times.map((t, i) => {
      const s = findSlice(slices, t);
      if (!s) throw new DgwError('INTERNAL', `no time slice for event ${i} after creating slices`);
      return s;
    });
  }

  /**
   * One lifecycle pass: creates the slices covering now..now+futureLimit ahead of need,
   * closes slices whose end is older than close_after and drops those older than
   * delete_after. Returns what changed.
   */
  async lifecycle(store: EventStore, config: TimeSeriesConfig): Promise<LifecycleResult> {
    const p = config.primary;
    const now = this.now();
    const result: LifecycleResult = { created: 0, closed: 0, dropped: 0 };
    const before = (await this.slices(store, config.name, true)).length;
    // Ahead of need: the slice of now, and the one of the furthest future write accepted.
    await this.ensure(store, config, [now, now + p.futureLimitMicros]);
    const slices = await this.slices(store, config.name, true);
    result.created = slices.length - before;
    for (const s of slices) {
      const age = now - s.endMicros;
      let next: SliceStatus = s.status;
      if (p.deleteAfterMicros > 0 && age >= p.deleteAfterMicros) next = 'DROPPED';
      else if (p.closeAfterMicros > 0 && age >= p.closeAfterMicros && s.status === 'ACTIVE') next = 'CLOSED';
      if (next !== s.status && s.status !== 'DROPPED') {
        await store.setSliceStatus(config.name, s.sliceId, next);
        if (next === 'DROPPED') result.dropped++;
        else result.closed++;
      }
    }
    if (result.closed + result.dropped > 0) this.forget(config.name);
    return result;
  }
}

/** The slices to create so that every time in `missing` is covered. */
function planSlices(existing: readonly SliceInfo[], config: TimeSeriesConfig, missing: readonly number[]): SliceInfo[] {
  const p = config.primary;
  const width = p.secondsPerTimeSlice * MICROS_PER_SECOND;
  const make = (start: number, end: number): SliceInfo => ({
    sliceId: sliceIdOf(start),
    startMicros: start,
    endMicros: end,
    status: 'ACTIVE',
    secondsPerTimeBucket: Math.min(p.secondsPerTimeBucket, Math.max(1, Math.round((end - start) / MICROS_PER_SECOND))),
    eventBuckets: p.eventBuckets,
  });
  const lo = Math.min(...missing);
  const hi = Math.max(...missing);
  const plan: SliceInfo[] = [];
  if (existing.length === 0) {
    const first = alignedSliceStart(lo, p.secondsPerTimeSlice);
    for (let start = first; start <= hi; start += width) plan.push(make(start, start + width));
  } else {
    const first = existing[0]!;
    const last = existing[existing.length - 1]!;
    // Backward from the first slice (older events inside the accept window).
    for (let end = first.startMicros; lo < end; end -= width) plan.push(make(end - width, end));
    // Forward from the last slice.
    for (let start = last.endMicros; start <= hi; start += width) plan.push(make(start, start + width));
  }
  if (plan.length > MAX_SLICES_PER_WRITE) {
    throw new DgwError(
      'FAILED_PRECONDITION',
      `writing these events would create ${plan.length} time slices (at most ${MAX_SLICES_PER_WRITE} at once)`,
    );
  }
  return plan;
}
