/**
 * ACCURATE reads without rescanning the live window (issue 9): what a process already
 * read of a counter's events after its checkpoint, kept as folded time segments, so a
 * read scans only the part that may have changed since.
 *
 * Exactness rests on one rule: **every write of a counter event into the store passes
 * through {@link LiveWindows.touch} before it starts and after it ends** (service.ts
 * `writeMutation`, the only writer of counter events). A touch at time T drops every
 * segment that could hold T, so the next read scans that part again from the store (the
 * truth: idempotent retries, failed or in-doubt writes need no special case). A read that
 * raced with writes (touches while it scanned) saves what it found only after applying
 * those touches to it, as if they came after its save: what could hold a touched time is
 * dropped, what lies before it stays (a write at T stores one event, at T). So under
 * concurrent adds a read still keeps the older part of its scan, and the next read scans
 * from the first touched time, not from where the last undisturbed read ended. Touches
 * are remembered per counter by version ({@link TOUCH_LOG}); a read older than that log
 * saves nothing.
 *
 * That is only true when every writer shares this object, i.e. every writer is in this
 * process: one LiveWindows per event store object (in-process instances sharing a store
 * share it), and only for stores that are not `shared` between processes. On a shared
 * store (PostgreSQL, Cassandra) other processes' writes are invisible here, so reads scan
 * the whole live window as before (docs/counters.md, "ACCURATE reads").
 *
 * Everything else only discards: a newer checkpoint drops the segments it covers, a slice
 * drop or a namespace drop forgets the namespace. An older checkpoint (a stale cache read,
 * or a first rollup that ended before the counter's first write) scans the gap between
 * the two from the store.
 */
import type { RollupCheckpoint } from '../../domain/counters.js';
import { foldEvents, type CounterMutation } from './counter-events.js';

/** Grid of the segments a scan is cut into: a touch rescans about this much. */
export const CELL_MICROS = 100_000;

/** Most counters remembered per event store (least recently used first out). */
export const MAX_LIVE_COUNTERS = 10_000;

/** Touches remembered per counter for the reads running across them. */
export const TOUCH_LOG = 64;

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** The fold of one segment's events: the adds after its last clear (if any), split by sign. */
interface SegmentFold {
  cleared: boolean;
  up: bigint;
  down: bigint;
}

/** The events with time in [from, to] (inclusive, microseconds); fold undefined = none. */
interface Segment {
  from: number;
  to: number;
  fold: SegmentFold | undefined;
}

interface Entry {
  /** The checkpoint the segments start after: they cover (checkpoint, last.to], contiguous. */
  checkpoint: number;
  segments: readonly Segment[];
  /** Bumped by every touch. */
  version: number;
  /** The last touches, oldest first: `times[i]` is the time of the touch that made version `firstVersion + i`. */
  times: number[];
  firstVersion: number;
}

/** Reads a counter's mutations with time in [from, to] (inclusive). */
export type MutationScan = (fromMicros: number, toMicros: number) => Promise<CounterMutation[]>;

/** The live windows of the counters of one event store. */
export class LiveWindows {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxCounters = MAX_LIVE_COUNTERS) {}

  /** Counters remembered (memory accounting, tests). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * A mutation event of `counter` at `timeMicros` is about to be written, or its write just
   * ended (either way): forget what could hold it.
   */
  touch(namespace: string, counter: string, timeMicros: number): void {
    const k = key(namespace, counter);
    const entry = this.entries.get(k);
    if (!entry) return;
    entry.version++;
    if (entry.times.length === TOUCH_LOG) {
      entry.times.shift();
      entry.firstVersion++;
    }
    entry.times.push(timeMicros);
    entry.segments = truncate(entry.segments, timeMicros);
  }

  /** Forgets a namespace (dropped, re-created, or slices dropped by the lifecycle). */
  forgetNamespace(namespace: string): void {
    const prefix = `${namespace}\u0000`;
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }

  /**
   * The count of `counter`: `base` plus its events in `(base.rollupTs, to]`, with the clear
   * and saturation rules of {@link foldEvents}. Scans only what is not remembered.
   * `oldBefore`: segments ending before it are merged into one (no write can reach them
   * any more but a touch still would drop it).
   */
  async count(namespace: string, counter: string, base: RollupCheckpoint, toMicros: number, oldBefore: number, scan: MutationScan): Promise<bigint> {
    const k = key(namespace, counter);
    let entry = this.entries.get(k);
    if (!entry) {
      entry = { checkpoint: base.rollupTsMicros, segments: [], version: 0, times: [], firstVersion: 1 };
      this.entries.set(k, entry);
      this.evict();
    } else {
      // Recency: Map order is insertion order.
      this.entries.delete(k);
      this.entries.set(k, entry);
    }
    // What the entry holds now (touches and other reads replace the array, never change it).
    const version = entry.version;
    const checkpoint = entry.checkpoint;
    const remembered = entry.segments;
    const segments: Segment[] = [];
    if (checkpoint > base.rollupTsMicros) {
      // A checkpoint older than the entry's: a cache read racing a rollup, or a counter's
      // first rollup ending before its first write, where a never-rolled-up read started
      // (rollup.ts scanStart). The events between the two are read in front.
      segments.push(...cut(base.rollupTsMicros + 1, checkpoint, await scan(base.rollupTsMicros + 1, checkpoint)));
    }
    let hole: Segment | undefined;
    for (const s of remembered) {
      if (s.to <= base.rollupTsMicros) continue;
      if (s.from <= base.rollupTsMicros) {
        if (s.fold === undefined) segments.push({ from: base.rollupTsMicros + 1, to: s.to, fold: undefined });
        else hole = { from: base.rollupTsMicros + 1, to: s.to, fold: undefined }; // rescanned below
        continue;
      }
      segments.push(s);
    }
    if (hole) segments.unshift(...cut(hole.from, hole.to, await scan(hole.from, hole.to)));
    const known = segments.length > 0 ? segments[segments.length - 1]!.to : base.rollupTsMicros;
    if (known < toMicros) segments.push(...cut(known + 1, toMicros, await scan(known + 1, toMicros)));

    const merged = mergeOld(segments, oldBefore);
    if (this.entries.get(k) === entry) {
      const saved = touchedSince(entry, version, merged);
      if (saved !== undefined) {
        entry.checkpoint = base.rollupTsMicros;
        entry.segments = saved;
      }
    }
    const count = combine(base.count, merged);
    if (count !== undefined) return count;
    // A partial sum could leave int64: the exact saturating fold needs every add in order.
    return fullFold(base, await scan(base.rollupTsMicros + 1, toMicros));
  }

  private evict(): void {
    while (this.entries.size > this.maxCounters) {
      const oldest = this.entries.keys().next();
      if (oldest.done) return;
      this.entries.delete(oldest.value);
    }
  }
}

/** Drops the segments that could hold `timeMicros` (and every later one). */
function truncate(segments: readonly Segment[], timeMicros: number): Segment[] {
  // Writes are mostly recent: look for the first segment reaching T from the end.
  let i = segments.length;
  while (i > 0 && segments[i - 1]!.to >= timeMicros) i--;
  const kept = segments.slice(0, i);
  const s = segments[i];
  // An empty segment reaching T stays empty up to T − 1.
  if (s !== undefined && s.fold === undefined && s.from < timeMicros) kept.push({ from: s.from, to: timeMicros - 1, fold: undefined });
  return kept;
}

/**
 * What a read that started at `version` may save of its `segments`: all of them when no
 * touch happened since, else them with every touch since applied; undefined when the log
 * no longer holds every touch since.
 */
function touchedSince(entry: Entry, version: number, segments: Segment[]): Segment[] | undefined {
  if (entry.version === version) return segments;
  if (version + 1 < entry.firstVersion) return undefined;
  let saved = segments;
  for (let v = version + 1; v <= entry.version; v++) saved = truncate(saved, entry.times[v - entry.firstVersion]!);
  return saved;
}

function key(namespace: string, counter: string): string {
  return `${namespace}\u0000${counter}`;
}

function fullFold(base: RollupCheckpoint, events: CounterMutation[]): bigint {
  return foldEvents(base.count, events).count;
}

/** Cuts the events of [from, to] into segments on the CELL_MICROS grid (empty runs as one segment). */
function cut(from: number, to: number, events: readonly CounterMutation[]): Segment[] {
  if (events.length === 0) return [{ from, to, fold: undefined }];
  const cells = new Map<number, CounterMutation[]>();
  for (const e of events) {
    const c = Math.floor(e.timeMicros / CELL_MICROS);
    const list = cells.get(c);
    if (list) list.push(e);
    else cells.set(c, [e]);
  }
  const out: Segment[] = [];
  let next = from;
  for (const c of [...cells.keys()].sort((a, b) => a - b)) {
    const cellFrom = Math.max(from, c * CELL_MICROS);
    const cellTo = Math.min(to, (c + 1) * CELL_MICROS - 1);
    if (cellFrom > next) out.push({ from: next, to: cellFrom - 1, fold: undefined });
    out.push({ from: cellFrom, to: cellTo, fold: foldSegment(cells.get(c)!) });
    next = cellTo + 1;
  }
  if (next <= to) out.push({ from: next, to, fold: undefined });
  return out;
}

function foldSegment(events: readonly CounterMutation[]): SegmentFold {
  let lastClear: number | undefined;
  for (const e of events) if (e.kind === 'clear' && (lastClear === undefined || e.timeMicros > lastClear)) lastClear = e.timeMicros;
  let up = 0n;
  let down = 0n;
  for (const e of events) {
    if (e.kind !== 'add' || (lastClear !== undefined && e.timeMicros <= lastClear)) continue;
    if (e.delta > 0n) up += e.delta;
    else down += e.delta;
  }
  return { cleared: lastClear !== undefined, up, down };
}

/** f1 then f2. */
function then(f1: SegmentFold | undefined, f2: SegmentFold | undefined): SegmentFold | undefined {
  if (f1 === undefined || f2?.cleared) return f2;
  if (f2 === undefined) return f1;
  return { cleared: f1.cleared, up: f1.up + f2.up, down: f1.down + f2.down };
}

/** Merges the segments ending before `before` into one (fewer objects per hot counter). */
function mergeOld(segments: Segment[], before: number): Segment[] {
  let n = 0;
  while (n < segments.length && segments[n]!.to < before) n++;
  if (n <= 1) return segments;
  let fold: SegmentFold | undefined;
  for (let i = 0; i < n; i++) fold = then(fold, segments[i]!.fold);
  return [{ from: segments[0]!.from, to: segments[n - 1]!.to, fold }, ...segments.slice(n)];
}

/**
 * The count over the segments, as foldEvents would compute it; undefined when a partial
 * sum could leave int64 (then only the ordered saturating fold is exact).
 */
function combine(base: bigint, segments: readonly Segment[]): bigint | undefined {
  let fold: SegmentFold | undefined;
  for (const s of segments) fold = then(fold, s.fold);
  if (fold === undefined) return base;
  const start = fold.cleared ? 0n : base;
  if (start + fold.up > INT64_MAX || start + fold.down < INT64_MIN) return undefined;
  return start + fold.up + fold.down;
}
