/**
 * Counter mutations as TimeSeries events (DESIGN 4.3) and the rule that folds them into a
 * count. An add is an event with one item `d` holding the delta's decimal text (UTF-8);
 * a clear is an event with one item `c` (value "1"). The event's identity
 * `(counter_name, generation_time, token)` is the idempotency key.
 */
import type { EventRecord } from '../../domain/events.js';

/** Item key of an add event: the delta as decimal text. */
export const DELTA_ITEM_KEY = 'd';
/** Item key of a clear event. */
export const CLEAR_ITEM_KEY = 'c';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const CLEAR_VALUE = encoder.encode('1');
const DECIMAL = /^-?\d+$/;

/** A decoded counter event. */
export type CounterMutation = { kind: 'add'; timeMicros: number; delta: bigint } | { kind: 'clear'; timeMicros: number };

/** The event recording `delta` added to `counter` at `timeMicros` with id `eventId`. */
export function addEvent(counter: string, timeMicros: number, eventId: string, delta: bigint): EventRecord {
  return {
    timeSeriesId: counter,
    eventTimeMicros: timeMicros,
    eventId,
    items: [{ key: DELTA_ITEM_KEY, value: encoder.encode(delta.toString(10)) }],
  };
}

/** The event recording a clear of `counter` at `timeMicros` with id `eventId`. */
export function clearEvent(counter: string, timeMicros: number, eventId: string): EventRecord {
  return { timeSeriesId: counter, eventTimeMicros: timeMicros, eventId, items: [{ key: CLEAR_ITEM_KEY, value: CLEAR_VALUE }] };
}

/**
 * Decodes a stored counter event; undefined for an event that is neither an add nor a
 * clear (e.g. written into the counter's event namespace by hand), which counting ignores.
 * A clear item wins over a delta item in the same event.
 */
export function decodeCounterEvent(event: EventRecord): CounterMutation | undefined {
  let delta: bigint | undefined;
  for (const item of event.items) {
    if (item.key === CLEAR_ITEM_KEY) return { kind: 'clear', timeMicros: event.eventTimeMicros };
    if (item.key === DELTA_ITEM_KEY) delta = decodeDelta(item.value);
  }
  return delta === undefined ? undefined : { kind: 'add', timeMicros: event.eventTimeMicros, delta };
}

function decodeDelta(bytes: Uint8Array): bigint | undefined {
  try {
    const text = decoder.decode(bytes);
    return DECIMAL.test(text) ? BigInt(text) : undefined;
  } catch {
    return undefined;
  }
}

/** The result of folding a window of events onto a base count. */
export interface FoldResult {
  count: bigint;
  /** Time of the latest clear in the window, when there was one. */
  clearedAtMicros?: number;
  /** Events that were counted or applied (adds kept plus clears). */
  applied: number;
}

/**
 * The rollup rule (DESIGN 4.3): a clear at time T drops every add with eventTime <= T,
 * including adds at the same microsecond (ties go to the clear, whatever the arrival order,
 * so every instance computes the same count). With a clear in the window the result is the
 * sum of the adds after the latest clear; otherwise it is `base` plus every add, both
 * saturating at the int64 limits (see saturatingSum). Order of `events` does not matter.
 */
export function foldEvents(base: bigint, events: Iterable<CounterMutation>): FoldResult {
  let lastClear: number | undefined;
  const adds: { timeMicros: number; delta: bigint }[] = [];
  let clears = 0;
  for (const m of events) {
    if (m.kind === 'clear') {
      clears++;
      if (lastClear === undefined || m.timeMicros > lastClear) lastClear = m.timeMicros;
    } else {
      adds.push(m);
    }
  }
  const start = lastClear === undefined ? base : 0n;
  const kept = lastClear === undefined ? adds : adds.filter((a) => a.timeMicros > lastClear);
  const count = saturatingSum(start, kept);
  const applied = clears + kept.length;
  return lastClear === undefined ? { count, applied } : { count, clearedAtMicros: lastClear, applied };
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * `start` plus the deltas, **saturating** at the int64 limits (issue 14.6): the adds are
 * applied in time order (ties by delta, so the order is total) and a partial sum that
 * would leave int64 stops at the limit. A counter thus always stays readable. It is a
 * left fold in time order, so splitting a window at any checkpoint gives the same count:
 * rollups and ACCURATE reads agree. When no partial sum can leave int64 (the usual case)
 * it is the plain sum, without sorting.
 */
function saturatingSum(start: bigint, adds: readonly { timeMicros: number; delta: bigint }[]): bigint {
  let up = start;
  let down = start;
  for (const a of adds) {
    if (a.delta > 0n) up += a.delta;
    else down += a.delta;
  }
  if (up <= INT64_MAX && down >= INT64_MIN) return up + down - start;
  const ordered = [...adds].sort((a, b) => a.timeMicros - b.timeMicros || (a.delta < b.delta ? -1 : a.delta > b.delta ? 1 : 0));
  let count = start;
  for (const a of ordered) {
    count += a.delta;
    if (count > INT64_MAX) count = INT64_MAX;
    else if (count < INT64_MIN) count = INT64_MIN;
  }
  return count;
}
