/**
 * Events in packed form (issue 9): a page of ReadEventRecords as a few parallel arrays of
 * strings and numbers instead of an object per event, per item and a byte array per value,
 * in the shape the wire needs. The SQLite store produces it in its query (one text per row:
 * ids and keys already as JSON string literals, values as hex), the read path pages it, and
 * the HTTP answer is written from it without the generic `JSON.stringify` of a page
 * (server/wire/timeseries-wire.ts `encodePackedPageJson`).
 */
import type { EventRecord } from './events.js';

/** Separates the items of one event in {@link PackedEvents.items}. */
export const ITEM_SEPARATOR = '\u001e';
/** Separates an item's key from its value in {@link PackedEvents.items}. */
export const KEY_SEPARATOR = '\u001f';

/**
 * Whole events of one series, newest first, as parallel arrays (index i is event i).
 * JSON string literals are exactly `JSON.stringify` of the text, so they hold no raw
 * control character and the separators cannot occur inside them.
 */
export interface PackedEvents {
  /** Event times, microseconds. */
  times: number[];
  /** Event ids as JSON string literals. */
  ids: string[];
  /**
   * The items of each event, in key order: per item its key as a JSON string literal,
   * {@link KEY_SEPARATOR} and the value's bytes as upper-case hex (empty for an empty
   * value); items joined by {@link ITEM_SEPARATOR}.
   */
  items: string[];
}

/** No events. */
export function emptyPacked(): PackedEvents {
  return { times: [], ids: [], items: [] };
}

/** The position of event `i` (its id parsed back from JSON: done for a page's last event only). */
export function packedPosition(p: PackedEvents, i: number): { eventTimeMicros: number; eventId: string } {
  return { eventTimeMicros: p.times[i]!, eventId: JSON.parse(p.ids[i]!) as string };
}

/** Appends every event of `from` to `into`. */
export function appendPacked(into: PackedEvents, from: PackedEvents): void {
  for (let i = 0; i < from.times.length; i++) {
    into.times.push(from.times[i]!);
    into.ids.push(from.ids[i]!);
    into.items.push(from.items[i]!);
  }
}

/** Keeps the first `n` events. */
export function truncatePacked(p: PackedEvents, n: number): void {
  p.times.length = n;
  p.ids.length = n;
  p.items.length = n;
}

/** The packed form of records (a store without a packed scan of its own). */
export function packEvents(records: readonly EventRecord[]): PackedEvents {
  const out = emptyPacked();
  for (const e of records) {
    out.times.push(e.eventTimeMicros);
    out.ids.push(JSON.stringify(e.eventId));
    out.items.push(e.items.map((i) => `${JSON.stringify(i.key)}${KEY_SEPARATOR}${Buffer.from(i.value.buffer, i.value.byteOffset, i.value.byteLength).toString('hex').toUpperCase()}`).join(ITEM_SEPARATOR));
  }
  return out;
}

/** The records of packed events of series `timeSeriesId` (tests, and callers that need objects). */
export function unpackEvents(p: PackedEvents, timeSeriesId: string): EventRecord[] {
  return p.times.map((time, i) => ({
    timeSeriesId,
    eventTimeMicros: time,
    eventId: JSON.parse(p.ids[i]!) as string,
    items:
      p.items[i] === ''
        ? []
        : p.items[i]!.split(ITEM_SEPARATOR).map((item) => {
            const at = item.lastIndexOf(KEY_SEPARATOR);
            return { key: JSON.parse(item.slice(0, at)) as string, value: new Uint8Array(Buffer.from(item.slice(at + 1), 'hex')) };
          }),
  }));
}

/**
 * Events of several series in search order (SearchEventRecords, issue 9): {@link PackedEvents}
 * plus each event's series id as a JSON string literal.
 */
export interface PackedSeriesEvents extends PackedEvents {
  series: string[];
}

/** No events of any series. */
export function emptyPackedSeries(): PackedSeriesEvents {
  return { series: [], times: [], ids: [], items: [] };
}

/** The search position of event `i` (series and id parsed back from JSON: a page's last event only). */
export function packedSeriesPosition(p: PackedSeriesEvents, i: number): { eventTimeMicros: number; timeSeriesId: string; eventId: string } {
  return { eventTimeMicros: p.times[i]!, timeSeriesId: JSON.parse(p.series[i]!) as string, eventId: JSON.parse(p.ids[i]!) as string };
}

/** The packed form of records of any series. */
export function packSeriesEvents(records: readonly EventRecord[]): PackedSeriesEvents {
  return { series: records.map((e) => JSON.stringify(e.timeSeriesId)), ...packEvents(records) };
}

/** The records of packed events of several series. */
export function unpackSeriesEvents(p: PackedSeriesEvents): EventRecord[] {
  return p.series.map((series, i) => unpackEvents({ times: [p.times[i]!], ids: [p.ids[i]!], items: [p.items[i]!] }, JSON.parse(series) as string)[0]!);
}
