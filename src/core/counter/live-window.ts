/**
 * ACCURATE reads without rescanning the live window (issue 9): what a process already
 * knows of a counter's events after its checkpoint, kept as folded time segments, so a
 * read scans only the part that may have changed since.
 *
 * Exactness rests on one rule: **every write of a counter event into the store is
 * bracketed by {@link LiveWindows.beginWrite} before it starts and
 * {@link LiveWindows.endWrite} after it ends** (service.ts `writeMutation`, the only
 * writer of counter events; {@link LiveWindows.touch} is a begin and end with nothing in
 * between, for a write whose outcome is not known). The invariant it keeps: *a remembered
 * segment holds the fold of exactly the stored events in its time range, except the
 * events that writes still in flight are about to newly store.*
 *
 * - A begin only records the write's time as in flight (per counter, whether or not the
 *   counter is remembered). Its event is not stored yet, so every remembered segment
 *   already excludes it.
 * - An end whose store said its commit **newly stored** the event (every item: not an
 *   idempotent no-op of a stored event, timeseries `writeOwnEventSync`, storage
 *   `AppendResult.allNew`) applies the event to the segment covering its time: by the
 *   invariant that segment did not hold it, and now the store does. An add at T is kept
 *   unless the segment's last clear is at or after T (ties go to the clear); a clear at
 *   T empties a segment whose kept adds are all at or before T, and is a no-op under a
 *   later clear. A clear the fold cannot place exactly (kept adds after T), and an
 *   event before the first segment, drop as below. An event past the last segment needs
 *   nothing: the next read scans there. An event stored with other items of the same
 *   identity already there is still exact item by item: a clear item wins over a delta
 *   in the same event, as a clear at T wins over an add at T.
 * - Any other end (failed, in doubt, a duplicate, a store that cannot tell) **drops**
 *   every segment that could hold its time (and every later one), so the next read scans
 *   that part again from the store, the truth: retries and in-doubt writes need no
 *   special case.
 * - A read saves what it found only after making it safe against the writes that overlapped
 *   it. Every end bumps the counter's version and is logged ({@link TOUCH_LOG}): a read
 *   applies the ends logged since it began as drops, as if they came after its save (a
 *   write at T stores one event, at T, so what lies before T stays valid); a read older
 *   than the log saves nothing. And a segment the read **scanned** that covers the time of
 *   a write still in flight at the save, and holds events, may or may not hold that
 *   write's (it may have committed during the scan): it is dropped with every later one.
 *   A scanned segment without events excludes it, and segments the read took from memory
 *   exclude it by the invariant (an end that changed them since is in the log): both are
 *   kept. So a counter's own writes, committed, never make the next read rescan;
 *   concurrent reads still keep the older part of their scan.
 *
 * That is only true when every writer shares this object, i.e. every writer is in this
 * process: one LiveWindows per event store object (in-process instances sharing a store
 * share it), and only for stores that are not `shared` between processes. On a shared
 * store (PostgreSQL, Cassandra) other processes' writes are invisible here, so reads scan
 * the whole live window as before (docs/counters.md, "ACCURATE reads").
 *
 * Everything else only discards: a newer checkpoint drops the segments it covers, a slice
 * drop or a namespace drop forgets the namespace (not the writes in flight, which still
 * end). An older checkpoint (a stale cache read, or a first rollup that ended before the
 * counter's first write) scans the gap between the two from the store.
 */
import type { RollupCheckpoint } from '../../domain/counters.js';
import type { EventRecord } from '../../domain/events.js';
import { decodeCounterEvent, foldEvents, type CounterMutation } from './counter-events.js';

/** Grid of the segments a scan is cut into: a touch rescans about this much. */
export const CELL_MICROS = 100_000;

/**
 * How far past a read's end (`now + future_limit`) its scan of what is not remembered goes,
 * kept apart from what it counts: the next reads of the counter within this time find their
 * end already remembered and scan nothing.
 */
export const TAIL_MICROS = 1_000_000;

/** Most counters remembered per event store (least recently used first out). */
export const MAX_LIVE_COUNTERS = 10_000;

/** Write ends (and touches) remembered per counter for the reads running across them. */
export const TOUCH_LOG = 64;

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** The fold of one segment's events: the adds after its last clear (if any), split by sign. */
interface SegmentFold {
  /** Time of the segment's last clear; undefined: no clear. */
  clearedAt: number | undefined;
  up: bigint;
  down: bigint;
  /** Time of the latest add kept (after the last clear); undefined: none. */
  lastAdd: number | undefined;
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
  /** Bumped by every write end (and touch). */
  version: number;
  /** The last ends, oldest first: `times[i]` is the time of the end that made version `firstVersion + i`. */
  times: number[];
  firstVersion: number;
}

/** Reads a counter's mutations with time in [from, to] (inclusive). */
export type MutationScan = (fromMicros: number, toMicros: number) => Promise<CounterMutation[]>;

/** The live windows of the counters of one event store. */
export class LiveWindows {
  private readonly entries = new Map<string, Entry>();
  /** Per counter key, the times of its writes begun and not yet ended (remembered or not). */
  private readonly inFlight = new Map<string, number[]>();

  constructor(private readonly maxCounters = MAX_LIVE_COUNTERS) {}

  /** Counters remembered (memory accounting, tests). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * A mutation event of `counter` at `timeMicros` is about to be written. Must be followed
   * by exactly one {@link endWrite} with the same time, whatever happens.
   */
  beginWrite(namespace: string, counter: string, timeMicros: number): void {
    const k = key(namespace, counter);
    const times = this.inFlight.get(k);
    if (times) times.push(timeMicros);
    else this.inFlight.set(k, [timeMicros]);
  }

  /**
   * The write begun by {@link beginWrite} at `timeMicros` ended. `stored`: the event its
   * commit newly stored, when the store said so (not a duplicate, not failed, not in
   * doubt); it is then added to what is remembered, as a read decodes it. Undefined: what
   * could hold it is forgotten (rescanned by the next read).
   */
  endWrite(namespace: string, counter: string, timeMicros: number, stored: EventRecord | undefined): void {
    const k = key(namespace, counter);
    const times = this.inFlight.get(k);
    if (times) {
      const i = times.indexOf(timeMicros);
      if (i >= 0) times.splice(i, 1);
      if (times.length === 0) this.inFlight.delete(k);
    }
    const entry = this.entries.get(k);
    if (!entry) return;
    logEnd(entry, timeMicros);
    // Decoded only here: most writes (EVENTUAL counters, counters not read) are not remembered.
    const m = stored !== undefined && stored.eventTimeMicros === timeMicros ? decodeCounterEvent(stored) : undefined;
    const applied = m !== undefined ? apply(entry.segments, m) : undefined;
    entry.segments = applied ?? truncate(entry.segments, timeMicros);
  }

  /**
   * A mutation event of `counter` at `timeMicros` is about to be written, or its write just
   * ended, with an outcome not known here: forget what could hold it.
   */
  touch(namespace: string, counter: string, timeMicros: number): void {
    const entry = this.entries.get(key(namespace, counter));
    if (!entry) return;
    logEnd(entry, timeMicros);
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
    // What the entry holds now (write ends and other reads replace the array, never change it).
    const version = entry.version;
    const checkpoint = entry.checkpoint;
    const remembered = entry.segments;
    const segments: Segment[] = [];
    // Segments read from the store by this call (the others come from memory).
    const scanned = new Set<Segment>();
    /** Scans [from, to], cut into segments none of which straddles `toMicros`. */
    const read = async (from: number, to: number): Promise<Segment[]> => {
      const events = await scan(from, to);
      const cells =
        to <= toMicros
          ? cut(from, to, events)
          : [...cut(from, toMicros, events.filter((e) => e.timeMicros <= toMicros)), ...cut(toMicros + 1, to, events.filter((e) => e.timeMicros > toMicros))];
      for (const c of cells) scanned.add(c);
      return cells;
    };
    if (checkpoint > base.rollupTsMicros) {
      // A checkpoint older than the entry's: a cache read racing a rollup, or a counter's
      // first rollup ending before its first write, where a never-rolled-up read started
      // (rollup.ts scanStart). The events between the two are read in front.
      segments.push(...(await read(base.rollupTsMicros + 1, checkpoint)));
    }
    let hole: Segment | undefined;
    for (const s of remembered) {
      if (s.to <= base.rollupTsMicros) continue;
      if (s.from <= base.rollupTsMicros) {
        if (s.fold === undefined) segments.push({ from: base.rollupTsMicros + 1, to: s.to, fold: undefined });
        else hole = { from: base.rollupTsMicros + 1, to: s.to, fold: undefined }; // rescanned below
        continue;
      }
      // Reaching past this read's end with events after it (a clock stepped back, a lower
      // future limit): that part is read again, cut at the end.
      if (s.from <= toMicros && s.to > toMicros && !endsBy(s.fold, toMicros)) break;
      segments.push(s);
    }
    if (hole) segments.unshift(...(await read(hole.from, hole.to)));
    const known = segments.length > 0 ? segments[segments.length - 1]!.to : base.rollupTsMicros;
    if (known < toMicros) segments.push(...(await read(known + 1, toMicros + TAIL_MICROS)));

    if (this.entries.get(k) === entry) {
      // Scanned while a write was in flight: may or may not hold its event (header).
      const flying = this.inFlight.get(k);
      const safe = flying === undefined ? segments : dropScannedInFlight(segments, scanned, flying);
      const saved = touchedSince(entry, version, mergeOld(safe, oldBefore));
      if (saved !== undefined) {
        entry.checkpoint = base.rollupTsMicros;
        entry.segments = saved;
      }
    }
    const count = combine(base.count, segments, toMicros);
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

/** Logs a write end (or touch) at `timeMicros` for the reads running across it. */
function logEnd(entry: Entry, timeMicros: number): void {
  entry.version++;
  if (entry.times.length === TOUCH_LOG) {
    entry.times.shift();
    entry.firstVersion++;
  }
  entry.times.push(timeMicros);
}

/**
 * The segments with `m`, newly stored, folded into the one covering its time (a new
 * array; the segments themselves are never changed: reads hold them). Undefined when that
 * cannot be done exactly (the caller drops instead): `m` before the first segment, or a
 * clear the fold cannot place.
 */
function apply(segments: readonly Segment[], m: CounterMutation): readonly Segment[] | undefined {
  const t = m.timeMicros;
  let i = segments.length - 1;
  while (i >= 0 && segments[i]!.from > t) i--;
  if (i < 0) return segments.length === 0 ? segments : undefined;
  const s = segments[i]!;
  // Past what is remembered: the next read scans it.
  if (s.to < t) return segments;
  const fold = foldIn(s.fold, m);
  if (fold === undefined) return undefined;
  const out = segments.slice();
  out[i] = { from: s.from, to: s.to, fold };
  return out;
}

/** The fold of a segment's events plus `m` (a time inside it); undefined when not exactly known. */
function foldIn(f: SegmentFold | undefined, m: CounterMutation): SegmentFold | undefined {
  const t = m.timeMicros;
  if (m.kind === 'add') {
    // Ties go to the clear (counter-events.ts foldEvents).
    if (f?.clearedAt !== undefined && t <= f.clearedAt) return f;
    const up = (f?.up ?? 0n) + (m.delta > 0n ? m.delta : 0n);
    const down = (f?.down ?? 0n) + (m.delta > 0n ? 0n : m.delta);
    return { clearedAt: f?.clearedAt, up, down, lastAdd: f?.lastAdd === undefined || f.lastAdd < t ? t : f.lastAdd };
  }
  if (f?.clearedAt !== undefined && f.clearedAt >= t) return f;
  // Drops every kept add at or before t: exact only when none is after it.
  if (f?.lastAdd !== undefined && f.lastAdd > t) return undefined;
  return { clearedAt: t, up: 0n, down: 0n, lastAdd: undefined };
}

/**
 * Drops, with every later one, a segment this read scanned with events in it that covers
 * the time of a write in flight: one of them may be that write's, committed during the
 * scan. A scanned segment without events excludes it, as the invariant wants (header).
 */
function dropScannedInFlight(segments: Segment[], scanned: ReadonlySet<Segment>, flying: readonly number[]): Segment[] {
  let out = segments;
  for (const t of flying) {
    const s = out.find((x) => x.from <= t && t <= x.to);
    if (s !== undefined && s.fold !== undefined && scanned.has(s)) out = truncate(out, t);
  }
  return out;
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
  let lastAdd: number | undefined;
  for (const e of events) {
    if (e.kind !== 'add' || (lastClear !== undefined && e.timeMicros <= lastClear)) continue;
    if (e.delta > 0n) up += e.delta;
    else down += e.delta;
    if (lastAdd === undefined || e.timeMicros > lastAdd) lastAdd = e.timeMicros;
  }
  return { clearedAt: lastClear, up, down, lastAdd };
}

/** Whether every event of a fold is at or before `timeMicros` (none, or its last clear and last kept add are). */
function endsBy(f: SegmentFold | undefined, timeMicros: number): boolean {
  return f === undefined || ((f.clearedAt === undefined || f.clearedAt <= timeMicros) && (f.lastAdd === undefined || f.lastAdd <= timeMicros));
}

/** f1 then f2 (f2's segment after f1's). */
function then(f1: SegmentFold | undefined, f2: SegmentFold | undefined): SegmentFold | undefined {
  if (f1 === undefined || f2?.clearedAt !== undefined) return f2;
  if (f2 === undefined) return f1;
  return { clearedAt: f1.clearedAt, up: f1.up + f2.up, down: f1.down + f2.down, lastAdd: f2.lastAdd ?? f1.lastAdd };
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
function combine(base: bigint, segments: readonly Segment[], toMicros: number): bigint | undefined {
  let fold: SegmentFold | undefined;
  // Segments past the end hold no event to count; one reaching past it has none after it (count()).
  for (const s of segments) {
    if (s.from > toMicros) break;
    fold = then(fold, s.fold);
  }
  if (fold === undefined) return base;
  const start = fold.clearedAt !== undefined ? 0n : base;
  if (start + fold.up > INT64_MAX || start + fold.down < INT64_MIN) return undefined;
  return start + fold.up + fold.down;
}
