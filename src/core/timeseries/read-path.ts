/**
 * The read path (DESIGN 3.4): scatter-gather over the slices and time buckets that
 * overlap the interval, each time bucket fanning out to its event-bucket partitions, merged
 * newest first. Partitions are scanned in waves whose width adapts to how dense the
 * namespace's series are: narrow for dense series (the first bucket fills the page), wide
 * for sparse ones (most partitions come back empty).
 */
import { DgwError } from '../../kernel/errors.js';
import type { EventRecord, SliceInfo } from '../../domain/events.js';
import type { EventPosition, EventStore, TimeBucketScan } from '../../storage/contracts.js';
import { appendPacked, emptyPacked, packedPosition, truncatePacked, type PackedEvents } from '../../domain/packed-events.js';
import { appendJoinedJson, emptyJoinedJson, eventJsonPosition, joinedEventText, truncateJoinedJson, type JoinedEventJson } from '../../domain/event-json.js';
import type { TimeSeriesConfig } from '../control/types.js';
import type { EventPage, PackedPage, ReadQuery } from './api.js';
import { fingerprintOf, type PageState, type PageTokens } from './page-token.js';
import { overlappingTimeBuckets } from './partitioning.js';
import type { SliceManager } from './slices.js';
import { MICROS_PER_SECOND } from '../../kernel/clock.js';
import { compareCodePoints } from '../../kernel/code-points.js';

/** Partitions scanned in the first wave of a read (DESIGN 3.4). */
export const START_FANOUT = 8;
/**
 * How stale a cached slice list a client read may use when it does not cover the read's
 * interval (bounds the metadata reads of reads reaching into the future).
 */
const READ_SLICE_STALENESS_MICROS = 250_000;
/** Upper bound of partitions scanned at once by one read. */
export const MAX_FANOUT = 64;

/** Newest-first order: later time first, then eventId ascending by code point (the stores' byte order, kernel/code-points.ts). */
export function compareNewestFirst(a: EventPosition, b: EventPosition): number {
  if (a.eventTimeMicros !== b.eventTimeMicros) return b.eventTimeMicros - a.eventTimeMicros;
  return compareCodePoints(a.eventId, b.eventId);
}

/** One time bucket of one slice, clipped to the query interval. */
interface Group {
  slice: SliceInfo;
  timeBucket: number;
  from: number;
  to: number;
}

/** Remembers, per namespace, how many partitions a read should scan at once. */
export class FanoutTuner {
  private readonly widths = new Map<string, number>();

  /** Current fanout (in partitions) for a namespace. */
  get(namespace: string): number {
    return this.widths.get(namespace) ?? START_FANOUT;
  }

  /** Feeds back one wave: how many partitions it scanned and whether the page filled. */
  observe(namespace: string, scanned: number, found: number, filled: boolean): void {
    const cur = this.get(namespace);
    let next = cur;
    if (filled && found >= scanned) next = Math.max(1, Math.floor(cur / 2));
    else if (!filled && found < scanned) next = Math.min(MAX_FANOUT, cur * 2);
    this.widths.set(namespace, next);
  }

  forget(namespace: string): void {
    this.widths.delete(namespace);
  }
}

/** What the read path needs from the engine. */
export interface ReadDeps {
  store: EventStore;
  slices: SliceManager;
  fanout: FanoutTuner;
  tokens: PageTokens;
  now(): number;
}

/**
 * How a page is collected: as records, or packed (issue 9). The read path below is the same
 * for both; only the scan of a time bucket and the list operations differ.
 */
interface PageForm<P> {
  empty(): P;
  scan(g: Group, after: EventPosition | undefined, limit: number): Promise<P>;
  size(p: P): number;
  append(into: P, from: P): void;
  truncate(p: P, n: number): void;
  position(p: P, i: number): EventPosition;
}

/** One page of ReadEventRecords. */
export async function readEvents(deps: ReadDeps, config: TimeSeriesConfig, q: ReadQuery): Promise<EventPage> {
  const matches = filterOf(q.eventFilters);
  const form: PageForm<EventRecord[]> = {
    empty: () => [],
    scan: (g, after, limit) => scanGroup(deps.store, config.name, q.timeSeriesId, g, after, limit, matches),
    size: (p) => p.length,
    append: (into, from) => {
      for (const e of from) into.push(e);
    },
    truncate: (p, n) => {
      p.length = n;
    },
    position: (p, i) => ({ eventTimeMicros: p[i]!.eventTimeMicros, eventId: p[i]!.eventId }),
  };
  const page = await readPage(deps, config, q, form);
  return { events: page.events, partial: page.partial, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) };
}

/**
 * {@link readEvents} in packed form: the same page, token and errors, without an object per
 * event (issue 9): each event's JSON text when the store has `scanTimeBucketJson`, else
 * packed events. Undefined when the store has neither or the query has filters (they
 * match on decoded items): then {@link readEvents} answers.
 */
export async function readEventsPacked(deps: ReadDeps, config: TimeSeriesConfig, q: ReadQuery): Promise<PackedPage | undefined> {
  if (q.eventFilters.length > 0) return undefined;
  const scanJson = deps.store.scanTimeBucketJson?.bind(deps.store);
  if (scanJson) {
    // The events as their answer texts, joined already: the page is that text.
    const json: PageForm<JoinedEventJson> = {
      empty: emptyJoinedJson,
      scan: (g, after, limit) => scanJson(bucketScan(config.name, q.timeSeriesId, g, after, limit)),
      size: (p) => p.ends.length,
      append: appendJoinedJson,
      truncate: truncateJoinedJson,
      position: (p, i) => {
        const { eventTimeMicros, eventId } = eventJsonPosition(joinedEventText(p, i));
        return { eventTimeMicros, eventId };
      },
    };
    return readPage(deps, config, q, json);
  }
  const scanPacked = deps.store.scanTimeBucketPacked?.bind(deps.store);
  if (!scanPacked) return undefined;
  const form: PageForm<PackedEvents> = {
    empty: emptyPacked,
    scan: (g, after, limit) => scanPacked(bucketScan(config.name, q.timeSeriesId, g, after, limit)),
    size: (p) => p.times.length,
    append: appendPacked,
    truncate: truncatePacked,
    position: packedPosition,
  };
  return readPage(deps, config, q, form);
}

async function readPage<P>(deps: ReadDeps, config: TimeSeriesConfig, q: ReadQuery, form: PageForm<P>): Promise<{ events: P; partial: boolean; nextPageToken?: string }> {
  const fingerprint = fingerprintOf([
    'read',
    config.name,
    q.timeSeriesId,
    q.startMicros,
    q.endMicros,
    q.eventFilters.map((f) => [f.key, Buffer.from(f.value).toString('base64')]),
  ]);
  const state: PageState = q.pageToken ? deps.tokens.decode(q.pageToken, fingerprint) : { query: fingerprint, returned: 0 };
  const remaining = q.totalRecordLimit > 0 ? q.totalRecordLimit - state.returned : Number.MAX_SAFE_INTEGER;
  const need = Math.min(q.pageSize, remaining);
  const out = form.empty();
  if (need <= 0) return { events: out, partial: false };

  // Resume bound: events strictly after position p, or strictly older than b.
  const upper = state.after ? state.after.eventTimeMicros + 1 : (state.below ?? q.endMicros);
  const groups = await groupsOf(deps, config, q.startMicros, Math.min(q.endMicros, upper), READ_SLICE_STALENESS_MICROS);
  const after = state.after ? { eventTimeMicros: state.after.eventTimeMicros, eventId: state.after.eventId } : undefined;

  let more = false;
  let gi = 0;
  let partial = false;
  while (gi < groups.length && form.size(out) <= need) {
    if (q.deadlineMicros !== undefined && deps.now() >= q.deadlineMicros) {
      if (!q.allowPartial) throw new DgwError('DEADLINE_EXCEEDED', 'ReadEventRecords: deadline exceeded before the read completed');
      partial = true;
      break;
    }
    const perGroup = Math.max(1, config.primary.eventBuckets);
    const width = Math.max(1, Math.floor(deps.fanout.get(config.name) / perGroup));
    const wave = groups.slice(gi, gi + width);
    const left = need + 1 - form.size(out);
    const results = await Promise.all(wave.map((g) => form.scan(g, after, left)));
    let found = 0;
    for (const events of results) {
      found += form.size(events);
      form.append(out, events);
    }
    gi += wave.length;
    deps.fanout.observe(config.name, wave.length * perGroup, found, form.size(out) > need);
  }
  if (form.size(out) > need) {
    form.truncate(out, need);
    more = true;
  } else if (gi < groups.length) {
    more = true;
  }
  const count = form.size(out);
  const emitted = state.returned + count;
  let nextPageToken: string | undefined;
  if (more && emitted < (q.totalRecordLimit > 0 ? q.totalRecordLimit : Number.MAX_SAFE_INTEGER)) {
    const next: PageState = { query: fingerprint, returned: emitted };
    if (count > 0) next.after = form.position(out, count - 1);
    else if (state.after) next.after = state.after;
    else next.below = groups[gi]?.to ?? upper;
    nextPageToken = deps.tokens.encode(next);
  }
  return { events: out, partial, ...(nextPageToken ? { nextPageToken } : {}) };
}

/**
 * Every event of a series in `[start, end)`, newest first, page by page (no filters, no
 * deadline). Used by counter rollups.
 */
export async function* scanSeriesEvents(
  deps: ReadDeps,
  config: TimeSeriesConfig,
  timeSeriesId: string,
  start: number,
  end: number,
  pageSize = 1000,
): AsyncGenerator<EventRecord> {
  // Exact scans (counter rollups) never trust a cached slice list that misses part of the
  // window, and read CLOSED slices too (DESIGN 4.5): an acknowledged increment counts as
  // long as its events exist, whatever the retention did to reads.
  const groups = await groupsOf(deps, config, start, end, 0, true);
  for (const g of groups) {
    let after: EventPosition | undefined;
    for (;;) {
      const events = await scanGroup(deps.store, config.name, timeSeriesId, g, after, pageSize, undefined);
      for (const e of events) yield e;
      if (events.length < pageSize) break;
      const last = events[events.length - 1]!;
      after = { eventTimeMicros: last.eventTimeMicros, eventId: last.eventId };
    }
  }
}

/**
 * The readable time buckets overlapping `[from, to)`, newest first: those of ACTIVE slices,
 * and of CLOSED ones too with `includeClosed` (never DROPPED: their tables are gone).
 */
async function groupsOf(
  deps: ReadDeps,
  config: TimeSeriesConfig,
  from: number,
  to: number,
  maxStaleMicros: number,
  includeClosed = false,
): Promise<Group[]> {
  if (from >= to) return [];
  const slices = await deps.slices.covering(deps.store, config.name, from, to, maxStaleMicros);
  const groups: Group[] = [];
  for (let i = slices.length - 1; i >= 0; i--) {
    const slice = slices[i]!;
    const readable = slice.status === 'ACTIVE' || (includeClosed && slice.status === 'CLOSED');
    if (!readable || slice.endMicros <= from || slice.startMicros >= to) continue;
    const width = slice.secondsPerTimeBucket * MICROS_PER_SECOND;
    for (const b of overlappingTimeBuckets(slice, from, to)) {
      const bucketStart = slice.startMicros + b * width;
      groups.push({
        slice,
        timeBucket: b,
        from: Math.max(from, bucketStart),
        to: Math.min(to, bucketStart + width, slice.endMicros),
      });
    }
  }
  return groups;
}

/** One event-bucket partition read lazily in chunks, for the k-way merge. */
interface PartitionStream {
  partition: { timeSeriesId: string; timeBucket: number; eventBucket: number };
  buffer: EventRecord[];
  next: number;
  cursor: EventPosition | undefined;
  done: boolean;
}

/**
 * Up to `limit` matching events of one time bucket, merged newest first across its event
 * buckets: by the store in one query when it has `scanTimeBucket`; otherwise here, each
 * partition read lazily in chunks of about `limit / eventBuckets`, so a page reads little
 * more than it returns instead of `limit` rows from every partition.
 */
async function scanGroup(
  store: EventStore,
  namespace: string,
  timeSeriesId: string,
  g: Group,
  after: EventPosition | undefined,
  limit: number,
  matches: ((e: EventRecord) => boolean) | undefined,
): Promise<EventRecord[]> {
  const start = startIn(g, after);
  if (store.scanTimeBucket) return scanMerged(store.scanTimeBucket.bind(store), namespace, timeSeriesId, g, start, limit, matches);
  const buckets = g.slice.eventBuckets;
  const chunk = buckets === 1 ? limit : Math.max(4, Math.ceil((limit * 1.25) / buckets) + 1);
  const streams: PartitionStream[] = [];
  for (let eb = 0; eb < buckets; eb++) {
    streams.push({ partition: { timeSeriesId, timeBucket: g.timeBucket, eventBucket: eb }, buffer: [], next: 0, cursor: start, done: false });
  }
  const refill = async (st: PartitionStream): Promise<void> => {
    // With filters a whole chunk may match nothing: keep reading until something matches.
    while (!st.done && st.next >= st.buffer.length) {
      const rows = await store.scanPartition({
        namespace,
        sliceId: g.slice.sliceId,
        partition: st.partition,
        fromMicros: g.from,
        toMicros: g.to,
        ...(st.cursor ? { after: st.cursor } : {}),
        limit: chunk,
      });
      if (rows.length < chunk) st.done = true;
      const last = rows[rows.length - 1];
      if (last) st.cursor = { eventTimeMicros: last.eventTimeMicros, eventId: last.eventId };
      st.buffer = matches ? rows.filter(matches) : rows;
      st.next = 0;
    }
  };
  const out: EventRecord[] = [];
  while (out.length < limit) {
    const empty = streams.filter((st) => !st.done && st.next >= st.buffer.length);
    if (empty.length > 0) await Promise.all(empty.map(refill));
    let best: PartitionStream | undefined;
    for (const st of streams) {
      const head = st.buffer[st.next];
      if (head && (!best || compareNewestFirst(head, best.buffer[best.next]!) < 0)) best = st;
    }
    if (!best) break;
    out.push(best.buffer[best.next++]!);
  }
  return out;
}

/**
 * {@link scanGroup} on a store that merges the event buckets of a time bucket itself (one
 * query per time bucket instead of one per partition, issue 9). With filters, reads on in
 * pages of `limit` until enough events match.
 */
async function scanMerged(
  scanTimeBucket: NonNullable<EventStore['scanTimeBucket']>,
  namespace: string,
  timeSeriesId: string,
  g: Group,
  start: EventPosition | undefined,
  limit: number,
  matches: ((e: EventRecord) => boolean) | undefined,
): Promise<EventRecord[]> {
  const scan = scanOf(namespace, timeSeriesId, g);
  if (!matches) return scanTimeBucket({ ...scan, ...(start ? { after: start } : {}), limit });
  const out: EventRecord[] = [];
  let cursor = start;
  for (;;) {
    const rows = await scanTimeBucket({ ...scan, ...(cursor ? { after: cursor } : {}), limit });
    for (const e of rows) {
      if (!matches(e)) continue;
      out.push(e);
      if (out.length === limit) return out;
    }
    const last = rows[rows.length - 1];
    if (!last || rows.length < limit) return out;
    cursor = { eventTimeMicros: last.eventTimeMicros, eventId: last.eventId };
  }
}

/** The resume position within group `g`: `after` when it lies inside it, else none (read from the top). */
function startIn(g: Group, after: EventPosition | undefined): EventPosition | undefined {
  return after && after.eventTimeMicros < g.to ? after : undefined;
}

/** The time-bucket scan of group `g`, without cursor and limit. */
function scanOf(namespace: string, timeSeriesId: string, g: Group): Omit<TimeBucketScan, 'limit'> {
  return { namespace, sliceId: g.slice.sliceId, timeSeriesId, timeBucket: g.timeBucket, eventBuckets: g.slice.eventBuckets, fromMicros: g.from, toMicros: g.to };
}

/** The scan of `g` from `after` (when it falls in `g`) for at most `limit` events. */
function bucketScan(namespace: string, timeSeriesId: string, g: Group, after: EventPosition | undefined, limit: number): TimeBucketScan {
  const start = startIn(g, after);
  return { ...scanOf(namespace, timeSeriesId, g), ...(start ? { after: start } : {}), limit };
}

function filterOf(filters: ReadQuery['eventFilters']): ((e: EventRecord) => boolean) | undefined {
  if (filters.length === 0) return undefined;
  return (e) =>
    filters.every((f) => e.items.some((item) => item.key === f.key && Buffer.from(item.value).equals(Buffer.from(f.value))));
}
