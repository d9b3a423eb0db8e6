/**
 * Slice management: finds or creates the time slices a write needs, caches each
 * namespace's slice metadata, and applies the retention lifecycle (DESIGN 3.2).
 */
import { DgwError } from '../../kernel/errors.js';
import { MICROS_PER_SECOND } from '../../kernel/clock.js';
import type { SliceInfo, SliceStatus } from '../../domain/events.js';
import type { EventStore } from '../../storage/contracts.js';
import type { TimeSeriesConfig } from '../control/types.js';
import { alignedSliceStart, findSlice, sliceIdOf } from './partitioning.js';

/** How long a cached slice list is trusted before re-reading it (other instances may change it). */
const SLICE_CACHE_MICROS = 5 * MICROS_PER_SECOND;
/**
 * Most new slices one request may need (a bound on the DDL one client request can cause).
 * Only slices holding an event of the request count, never the ones in between, so a
 * request over the bound can always be split: it never fails forever (issue 14 item 7).
 */
const MAX_SLICES_PER_WRITE = 64;
/** A gap of at most this many slices next to an existing slice is filled when a write needs a slice beyond it. */
const GAP_FILL_SLICES = 4;
/** Slices the lifecycle pass creates ahead of need, at most (the write path makes the rest). */
const MAX_SLICES_AHEAD = 8;

interface CachedSlices {
  slices: SliceInfo[];
  loadedAtMicros: number;
}

/** Outcome of one lifecycle pass over a namespace. */
export interface LifecycleResult {
  created: number;
  closed: number;
  dropped: number;
  /** CLOSED slices made readable again because retention was extended. */
  reopened: number;
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
    const covered = coversWithoutGaps(slices, from, to);
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
   * settings. Only the slices holding one of `times` are created: new slices sit on the
   * grid of their nearest existing neighbour (never overlapping it), the first slice of a
   * namespace on the epoch-aligned grid; slices between them are left for when a write
   * needs them.
   */
  async ensure(store: EventStore, config: TimeSeriesConfig, times: readonly number[]): Promise<SliceInfo[]> {
    const ns = config.name;
    let slices = await this.slices(store, ns);
    let missing = times.filter((t) => !findSlice(slices, t));
    // Another instance may create slices at the same time on another grid: an overlap is
    // refused by the store, so re-read and plan again around what it made (a few rounds).
    for (let round = 0; missing.length > 0 && round < 3; round++) {
      slices = await this.slices(store, ns, true);
      const plan = planSlices(slices, config, missing.filter((t) => !findSlice(slices, t)));
      for (const slice of plan) {
        try {
          await store.createSlice(ns, slice);
        } catch (err) {
          if (!(err instanceof DgwError && err.code === 'FAILED_PRECONDITION')) throw err;
        }
      }
      if (plan.length > 0) slices = await this.slices(store, ns, true);
      missing = missing.filter((t) => !findSlice(slices, t));
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
    const result: LifecycleResult = { created: 0, closed: 0, dropped: 0, reopened: 0 };
    const before = (await this.slices(store, config.name, true)).length;
    // Ahead of need: the slice of now and the next few within the future limit (and the
    // furthest one); a write creates any other slice it needs itself.
    const width = p.secondsPerTimeSlice * MICROS_PER_SECOND;
    const ahead = [now];
    for (let t = now + width; t < now + p.futureLimitMicros && ahead.length < MAX_SLICES_AHEAD; t += width) ahead.push(t);
    ahead.push(now + p.futureLimitMicros);
    await this.ensure(store, config, ahead);
    const slices = await this.slices(store, config.name, true);
    result.created = slices.length - before;
    for (const s of slices) {
      const age = now - s.endMicros;
      let next: SliceStatus = s.status;
      if (p.deleteAfterMicros > 0 && age >= p.deleteAfterMicros) next = 'DROPPED';
      else if (p.closeAfterMicros > 0 && age >= p.closeAfterMicros) next = s.status === 'ACTIVE' ? 'CLOSED' : s.status;
      // Retention extended (or removed) since the slice closed: its table is still there,
      // so it becomes readable again, as a user extending retention expects.
      else if (s.status === 'CLOSED') next = 'ACTIVE';
      if (next !== s.status && s.status !== 'DROPPED') {
        await store.setSliceStatus(config.name, s.sliceId, next);
        if (next === 'DROPPED') result.dropped++;
        else if (next === 'CLOSED') result.closed++;
        else result.reopened++;
      }
    }
    if (result.closed + result.dropped + result.reopened > 0) this.forget(config.name);
    return result;
  }
}

/** Whether the slices (start ascending) cover `[from, to)` with no gap. */
function coversWithoutGaps(slices: readonly SliceInfo[], from: number, to: number): boolean {
  let reached = from;
  for (const s of slices) {
    if (s.endMicros <= reached) continue;
    if (s.startMicros > reached) return false;
    reached = s.endMicros;
    if (reached >= to) return true;
  }
  return reached >= to;
}

/**
 * The slices to create so that every time in `missing` is covered: for each time, one
 * slice of the current width on the grid of the nearest existing slice before it (or,
 * with none before, of the nearest after it; with none at all, of the epoch), cut short
 * where it would overlap the next existing slice.
 */
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
  const all = [...existing];
  const plan: SliceInfo[] = [];
  for (const t of [...missing].sort((a, b) => a - b)) {
    if (findSlice(all, t)) continue; // covered by a slice planned for an earlier time
    let prev: SliceInfo | undefined;
    let next: SliceInfo | undefined;
    for (const s of all) {
      if (s.endMicros <= t) prev = s;
      else if (s.startMicros > t) {
        next = s;
        break;
      }
    }
    let start: number;
    if (prev) start = prev.endMicros + Math.floor((t - prev.endMicros) / width) * width;
    else if (next) start = next.startMicros - Math.ceil((next.startMicros - t) / width) * width;
    else start = alignedSliceStart(t, p.secondsPerTimeSlice);
    // A short gap to a neighbour is filled too, so steady writing keeps one contiguous
    // tiling (cached slice lists then cover whole read intervals); a long one is left.
    let from = start;
    if (prev && !next && (start - prev.endMicros) / width <= GAP_FILL_SLICES) from = prev.endMicros;
    let to = next ? Math.min(start + width, next.startMicros) : start + width;
    if (next && !prev && (next.startMicros - to) / width <= GAP_FILL_SLICES) to = next.startMicros;
    for (let a = from; a < to; a += width) {
      const slice = make(a, Math.min(a + width, to));
      plan.push(slice);
      all.push(slice);
    }
    all.sort((a, b) => a.startMicros - b.startMicros);
  }
  if (plan.length > MAX_SLICES_PER_WRITE) {
    throw new DgwError(
      'FAILED_PRECONDITION',
      `these events need ${plan.length} time slices that do not exist yet (at most ${MAX_SLICES_PER_WRITE} new slices per request); ` +
        'send them in smaller batches, grouped by time',
    );
  }
  return plan;
}
