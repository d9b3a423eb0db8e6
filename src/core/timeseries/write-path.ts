/**
 * The write path (DESIGN 3.3): validates a batch as a whole, places each event in its
 * slice and partition, and hands the writes to group commit. Events outside the accept
 * window are refused unless they are retries of events already stored.
 */
import { DgwError, invalidArgument } from '../../kernel/errors.js';
import { formatDurationMicros } from '../../kernel/time.js';
import type { EventRecord, EventWrite, SliceInfo } from '../../domain/events.js';
import type { IndexDoc } from '../../domain/search.js';
import type { EventStore } from '../../storage/contracts.js';
import { checkStorableText } from '../text.js';
import type { TimeSeriesConfig } from '../control/types.js';
import type { TimeSeriesLimits } from './limits.js';
import { extractIndexFields } from './index-values.js';
import { findSlice, partitionOf } from './partitioning.js';
import type { SliceManager } from './slices.js';
import { compareCodePoints } from '../../kernel/code-points.js';

/** The writes of a validated batch, ready for group commit. */
export interface PreparedBatch {
  writes: EventWrite[];
  docs: IndexDoc[];
  /** Estimated bytes (for buffer accounting). */
  bytes: number;
}

/** Checks limits and shape of every event; throws naming `events[i]...` for the first bad one. */
export function validateEventShapes(events: readonly EventRecord[], limits: TimeSeriesLimits): void {
  if (events.length === 0) throw invalidArgument('events', 'must hold at least one event');
  if (events.length > limits.maxEventsPerBatch) {
    throw invalidArgument('events', `${events.length} events exceed the limit of ${limits.maxEventsPerBatch} per batch`);
  }
  events.forEach((e, i) => {
    const at = `events[${i}]`;
    checkId(`${at}.timeSeriesId`, e.timeSeriesId, limits);
    checkId(`${at}.eventId`, e.eventId, limits);
    if (!Number.isSafeInteger(e.eventTimeMicros) || e.eventTimeMicros < 0) {
      throw invalidArgument(`${at}.eventTime`, 'must be a timestamp at or after 1970-01-01T00:00:00Z');
    }
    if (e.items.length === 0) throw invalidArgument(`${at}.eventItems`, 'must hold at least one item');
    if (e.items.length > limits.maxItemsPerEvent) {
      throw invalidArgument(`${at}.eventItems`, `${e.items.length} items exceed the limit of ${limits.maxItemsPerEvent}`);
    }
    const keys = new Set<string>();
    e.items.forEach((item, j) => {
      checkId(`${at}.eventItems[${j}].eventItemKey`, item.key, limits);
      if (keys.has(item.key)) throw invalidArgument(`${at}.eventItems[${j}].eventItemKey`, `duplicate key "${item.key}"`);
      keys.add(item.key);
      if (item.value.byteLength > limits.maxValueBytes) {
        throw invalidArgument(
          `${at}.eventItems[${j}].eventItemValue`,
          `${item.value.byteLength} bytes exceed the limit of ${limits.maxValueBytes}`,
        );
      }
    });
  });
}

function checkId(field: string, value: string, limits: TimeSeriesLimits): void {
  if (value.length === 0) throw invalidArgument(field, 'must not be empty');
  if (value.length > limits.maxIdLength) throw invalidArgument(field, `longer than ${limits.maxIdLength} characters`);
  // NUL and lone surrogates: refused here, before a 202, rather than by the store later.
  checkStorableText(field, value);
}

/** Estimated in-memory size of an event, for buffer capacity accounting. */
export function eventBytes(e: EventRecord): number {
  let n = 64 + e.timeSeriesId.length + e.eventId.length;
  for (const item of e.items) n += 16 + item.key.length + item.value.byteLength;
  return n;
}

/**
 * Validates a batch against the namespace (accept window, future limit, index types)
 * and places every event. Throws for the first bad event; nothing of the batch is written.
 * Events older than the accept limit pass only when already stored, and are then left out
 * of the writes (a retry is a no-op success).
 */
export async function prepareBatch(
  store: EventStore,
  slices: SliceManager,
  config: TimeSeriesConfig,
  events: readonly EventRecord[],
  nowMicros: number,
  inFlight: InFlightWrites = new InFlightWrites(),
): Promise<PreparedBatch> {
  const p = config.primary;
  const oldest = nowMicros - p.acceptLimitMicros;
  const newest = nowMicros + p.futureLimitMicros;
  const fresh: number[] = [];
  const late: number[] = [];
  events.forEach((e, i) => {
    if (e.eventTimeMicros > newest) {
      throw new DgwError(
        'FAILED_PRECONDITION',
        `events[${i}].eventTime: more than ${formatDurationMicros(p.futureLimitMicros)} in the future`,
        { details: [{ field: `events[${i}].eventTime`, reason: 'future limit' }] },
      );
    }
    (e.eventTimeMicros < oldest ? late : fresh).push(i);
  });
  let docs: IndexDoc[] = [];
  if (config.index) {
    const mapping = config.index.fieldMapping;
    docs = events.map((event, i) => {
      const r = extractIndexFields(mapping, event);
      if ('error' in r) {
        throw invalidArgument(
          `events[${i}].eventItems[${r.error.itemIndex}].eventItemValue`,
          r.error.problem ?? `not a valid ${r.error.type} for indexed field "${r.error.key}"`,
        );
      }
      return { namespace: config.name, event, fields: r.fields };
    });
  }
  if (late.length > 0) await checkRetries(store, slices, config, events, late, p.acceptLimitMicros, inFlight);
  const freshEvents = fresh.map((i) => events[i]!);
  const placed = await slices.ensure(
    store,
    config,
    freshEvents.map((e) => e.eventTimeMicros),
  );
  let writes: EventWrite[] = [];
  let bytes = 0;
  freshEvents.forEach((event, k) => {
    const slice = placed[k]!;
    if (slice.status !== 'ACTIVE') {
      throw new DgwError('FAILED_PRECONDITION', `events[${fresh[k]}].eventTime: its time slice is ${slice.status}`);
    }
    // A copy only when there is an order to make (most events carry one item).
    const sorted = event.items.length < 2 ? event : { ...event, items: [...event.items].sort((a, b) => compareCodePoints(a.key, b.key)) };
    writes.push({
      namespace: config.name,
      sliceId: slice.sliceId,
      partition: partitionOf(slice, event.timeSeriesId, event.eventTimeMicros, event.eventId),
      event: sorted,
    });
    bytes += eventBytes(event);
  });
  const freshSet = new Set(fresh);
  docs = docs.filter((_, i) => freshSet.has(i));
  // Grouped by partition so each partition's rows reach the store together; an event's
  // index document stays at the same position as its write (docs[i] indexes writes[i]).
  // Each write's key is built once, not twice per comparison (issue 9: building them in the
  // comparator was ~5 % of a WriteEventRecordsSync batch of 100's CPU).
  const keys = writes.map(partitionKeyOf);
  const order = writes.map((_, i) => i).sort((a, b) => compareKeys(keys[a]!, keys[b]!));
  writes = order.map((i) => writes[i]!);
  if (docs.length > 0) docs = order.map((i) => docs[i]!);
  return { writes, docs, bytes };
}

/**
 * The write of one event dgw built and checked itself (a counter mutation, issue 9): what
 * {@link validateEventShapes} and {@link prepareBatch} do for a one-event batch, reduced to
 * what such an event can fail. The caller has checked its ids and item key as storable text
 * (core/text.ts); the lengths, the time and the item are checked here. Undefined when the
 * event needs the generic path (not exactly one item, an index, a limit exceeded, outside
 * the accept window: a retry check or the future-limit refusal), which the caller then takes.
 */
export async function prepareOwnEvent(
  store: EventStore,
  slices: SliceManager,
  config: TimeSeriesConfig,
  event: EventRecord,
  nowMicros: number,
  limits: TimeSeriesLimits,
): Promise<EventWrite | undefined> {
  const p = config.primary;
  const t = event.eventTimeMicros;
  const item = event.items.length === 1 ? event.items[0]! : undefined;
  if (
    item === undefined ||
    config.index !== undefined ||
    !Number.isSafeInteger(t) ||
    t < nowMicros - p.acceptLimitMicros ||
    t > nowMicros + p.futureLimitMicros ||
    !ownId(event.timeSeriesId, limits) ||
    !ownId(event.eventId, limits) ||
    !ownId(item.key, limits) ||
    item.value.byteLength > limits.maxValueBytes ||
    limits.maxItemsPerEvent < 1
  ) {
    return undefined;
  }
  const [slice] = await slices.ensure(store, config, [t]);
  if (slice!.status !== 'ACTIVE') throw new DgwError('FAILED_PRECONDITION', `events[0].eventTime: its time slice is ${slice!.status}`);
  return { namespace: config.name, sliceId: slice!.sliceId, partition: partitionOf(slice!, event.timeSeriesId, t, event.eventId), event };
}

function ownId(value: string, limits: TimeSeriesLimits): boolean {
  return value.length > 0 && value.length <= limits.maxIdLength;
}

function partitionKeyOf(w: EventWrite): string {
  return `${w.sliceId}\u0000${w.partition.timeSeriesId}\u0000${w.partition.timeBucket}\u0000${w.partition.eventBucket}`;
}

function compareKeys(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The events of this instance whose commit may still happen: queued in a write buffer or
 * inside a store call (issue 14 item 2). A retry that arrives past the accept window while
 * its first attempt is still here is answered "outcome unknown" (UNAVAILABLE, retry), not
 * "too old": the first attempt may yet commit, so "not stored" would be a lie.
 */
export class InFlightWrites {
  private readonly counts = new Map<string, number>();

  private static key(namespace: string, e: EventRecord): string {
    return `${namespace}\u0000${e.timeSeriesId}\u0000${e.eventTimeMicros}\u0000${e.eventId}`;
  }

  /**
   * Marks writes as in flight (counted: the same event may be in flight twice); returns
   * their keys for {@link settle}, so a commit builds each key once.
   */
  add(writes: readonly EventWrite[]): string[] {
    const keys = new Array<string>(writes.length);
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i]!;
      const k = (keys[i] = InFlightWrites.key(w.namespace, w.event));
      this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    }
    return keys;
  }

  /** Marks writes as settled (committed or definitely not). */
  delete(writes: readonly EventWrite[]): void {
    for (const w of writes) this.settleKey(InFlightWrites.key(w.namespace, w.event));
  }

  /** {@link delete} by the keys {@link add} returned. */
  settle(keys: readonly string[]): void {
    for (const k of keys) this.settleKey(k);
  }

  private settleKey(k: string): void {
    const n = (this.counts.get(k) ?? 0) - 1;
    if (n > 0) this.counts.set(k, n);
    else this.counts.delete(k);
  }

  /** Whether an attempt of this event may still commit. */
  has(namespace: string, e: EventRecord): boolean {
    return this.counts.has(InFlightWrites.key(namespace, e));
  }
}

async function checkRetries(
  store: EventStore,
  slices: SliceManager,
  config: TimeSeriesConfig,
  events: readonly EventRecord[],
  late: readonly number[],
  acceptLimitMicros: number,
  inFlight: InFlightWrites,
): Promise<void> {
  const times = late.map((i) => events[i]!.eventTimeMicros);
  const all = await slices.covering(store, config.name, Math.min(...times), Math.max(...times) + 1, 0);
  const located: { i: number; slice: SliceInfo }[] = [];
  for (const i of late) {
    const e = events[i]!;
    const slice = findSlice(all, e.eventTimeMicros);
    if (!slice || slice.status === 'DROPPED') throw tooOld(i, acceptLimitMicros);
    located.push({ i, slice });
  }
  const found = await store.findEvents(
    located.map(({ i, slice }) => {
      const e = events[i]!;
      return {
        namespace: config.name,
        sliceId: slice.sliceId,
        partition: partitionOf(slice, e.timeSeriesId, e.eventTimeMicros, e.eventId),
        eventTimeMicros: e.eventTimeMicros,
        eventId: e.eventId,
      };
    }),
  );
  found.forEach((stored, k) => {
    if (stored) return;
    const i = located[k]!.i;
    if (inFlight.has(config.name, events[i]!)) throw outcomeUnknown(i);
    throw tooOld(i, acceptLimitMicros);
  });
}

function outcomeUnknown(i: number): DgwError {
  return new DgwError(
    'UNAVAILABLE',
    `events[${i}].eventTime: past the accept limit, but an earlier attempt of this write is still being ` +
      'committed, so its outcome is unknown (not stored yet, but it may still be): retry shortly for a definite answer',
    { details: [{ field: `events[${i}].eventTime`, reason: 'outcome unknown' }] },
  );
}

function tooOld(i: number, acceptLimitMicros: number): DgwError {
  return new DgwError(
    'FAILED_PRECONDITION',
    `events[${i}].eventTime: older than the accept limit of ${formatDurationMicros(acceptLimitMicros)}`,
    { details: [{ field: `events[${i}].eventTime`, reason: 'accept limit' }] },
  );
}
