/**
 * An event as its wire JSON text (issue 9): exactly what `JSON.stringify` writes for the
 * event in a ReadEventRecords or SearchEventRecords answer (server/wire/timeseries-wire.ts
 * `encodePage`), kept with the event where it is read many times (the SQLite index stores
 * it with each document), so a search page is its events' texts joined with commas; the
 * SQLite read scan writes the same texts from its rows (storage/sqlite/packed-reads.ts).
 */
import { formatTimestampMicros, parseTimestampMicros } from '../kernel/time.js';
import type { EventRecord } from './events.js';

/**
 * `JSON.stringify` of the event's wire form `{timeSeriesId, eventTime, eventId,
 * eventItems: [{eventItemKey, eventItemValue}]}` (values standard padded base64).
 * test/unit/event-json.test.ts compares it with the generic encoding on seeded events.
 */
export function eventJson(e: EventRecord): string {
  let items = '';
  for (const item of e.items) items += `${items === '' ? '' : ','}${itemJson(item.key, item.value)}`;
  return `${seriesJsonHead(e.timeSeriesId)}${eventJsonHead(e.eventTimeMicros, e.eventId)}${items}]}`;
}

/** What every event of series `timeSeriesId` starts with in {@link eventJson}: `{"timeSeriesId":<series>,`. */
export function seriesJsonHead(timeSeriesId: string): string {
  return `{"timeSeriesId":${JSON.stringify(timeSeriesId)},`;
}

/**
 * What follows {@link seriesJsonHead} in an event's {@link eventJson}, up to its first
 * item: `"eventTime":"<RFC 3339>","eventId":<id>,"eventItems":[`.
 */
export function eventJsonHead(eventTimeMicros: number, eventId: string): string {
  return `"eventTime":"${formatTimestampMicros(eventTimeMicros)}","eventId":${JSON.stringify(eventId)},"eventItems":[`;
}

/** One item in {@link eventJson}: `{"eventItemKey":<key>,"eventItemValue":"<base64>"}`. */
export function itemJson(key: string, value: Uint8Array): string {
  return `{"eventItemKey":${JSON.stringify(key)},"eventItemValue":"${base64(value)}"}`;
}

/**
 * Events as their {@link eventJson} texts joined with commas, as one string (issue 9: a
 * read page crosses from a SQLite reader thread as one string, not one per event), and
 * where each event's text ends in it.
 */
export interface JoinedEventJson {
  /** The events' texts, joined with `,`. */
  text: string;
  /** `ends[i]`: the offset just past event i's text (event i + 1 starts at `ends[i] + 1`). */
  ends: number[];
}

/** No events. */
export function emptyJoinedJson(): JoinedEventJson {
  return { text: '', ends: [] };
}

/** Joins event texts into a {@link JoinedEventJson}. */
export function joinEventJson(texts: readonly string[]): JoinedEventJson {
  const ends: number[] = new Array<number>(texts.length);
  let at = -1;
  for (let i = 0; i < texts.length; i++) ends[i] = at += 1 + texts[i]!.length;
  return { text: texts.join(','), ends };
}

/** The text of event `i` of `j`. */
export function joinedEventText(j: JoinedEventJson, i: number): string {
  return j.text.slice(i === 0 ? 0 : j.ends[i - 1]! + 1, j.ends[i]);
}

/** Appends every event of `from` to `into`. */
export function appendJoinedJson(into: JoinedEventJson, from: JoinedEventJson): void {
  if (from.ends.length === 0) return;
  const shift = into.ends.length === 0 ? 0 : into.text.length + 1;
  into.text = shift === 0 ? from.text : `${into.text},${from.text}`;
  for (const end of from.ends) into.ends.push(shift + end);
}

/** Keeps the first `n` events. */
export function truncateJoinedJson(j: JoinedEventJson, n: number): void {
  if (n >= j.ends.length) return;
  j.text = n === 0 ? '' : j.text.slice(0, j.ends[n - 1]);
  j.ends.length = n;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Up to this many bytes, base64 is written here: cheaper than a call into Buffer (~250 ns). */
const SMALL_BASE64_BYTES = 48;

/**
 * Standard base64 (padded) of an item value, as Buffer writes it (issue 9: every item of a
 * read page): short values are encoded here, longer ones by Buffer over the same memory
 * (no copy of the bytes first, as `Buffer.from(value)` made).
 */
export function base64(value: Uint8Array): string {
  const n = value.length;
  if (n > SMALL_BASE64_BYTES) return (Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)).toString('base64');
  const A = BASE64_ALPHABET;
  let out = '';
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (value[i]! << 16) | (value[i + 1]! << 8) | value[i + 2]!;
    out += A[v >> 18]! + A[(v >> 12) & 63]! + A[(v >> 6) & 63]! + A[v & 63]!;
  }
  if (i < n) {
    const two = i + 1 < n;
    const v = (value[i]! << 16) | ((two ? value[i + 1]! : 0) << 8);
    out += `${A[v >> 18]!}${A[(v >> 12) & 63]!}${two ? A[(v >> 6) & 63]! : '='}=`;
  }
  return out;
}

/**
 * The identity of the event written as `text` by {@link eventJson}: its series, id and
 * time (the time read back from its RFC 3339 text, which keeps every microsecond). Reads
 * only the text's head: for a page's last event.
 */
export function eventJsonPosition(text: string): { eventTimeMicros: number; timeSeriesId: string; eventId: string } {
  // A JSON string literal writes every '"' in it as '\"', so each of these markers first
  // occurs right after the literal before it (the time between them is plain digits).
  const timeAt = text.indexOf(',"eventTime":"');
  const idAt = text.indexOf('","eventId":', timeAt + 14);
  const itemsAt = text.indexOf(',"eventItems":[', idAt + 12);
  const time = text.slice(timeAt + 14, idAt);
  const eventTimeMicros = parseTimestampMicros(time);
  if (timeAt < 0 || idAt < 0 || itemsAt < 0 || eventTimeMicros === undefined) throw new Error(`not an event's JSON text: ${text.slice(0, 200)}`);
  return {
    eventTimeMicros,
    timeSeriesId: JSON.parse(text.slice(16, timeAt)) as string, // after '{"timeSeriesId":'
    eventId: JSON.parse(text.slice(idAt + 12, itemsAt)) as string,
  };
}

/** Nibble of each upper-case hex digit. */
const HEX_NIBBLE = new Uint8Array(128);
for (let i = 0; i < 10; i++) HEX_NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_NIBBLE[65 + i] = 10 + i;

/** Byte of the two hex digits at `i`. */
function hexByte(hex: string, i: number): number {
  return (HEX_NIBBLE[hex.charCodeAt(i)]! << 4) | HEX_NIBBLE[hex.charCodeAt(i + 1)]!;
}

/** {@link base64} of the bytes written as upper-case hex in `hex[from, to)`. */
export function hexToBase64(hex: string, from: number, to: number): string {
  if (to - from > 2 * SMALL_BASE64_BYTES) return Buffer.from(hex.slice(from, to), 'hex').toString('base64');
  const A = BASE64_ALPHABET;
  let out = '';
  let i = from;
  for (; i + 6 <= to; i += 6) {
    const v = (hexByte(hex, i) << 16) | (hexByte(hex, i + 2) << 8) | hexByte(hex, i + 4);
    out += A[v >> 18]! + A[(v >> 12) & 63]! + A[(v >> 6) & 63]! + A[v & 63]!;
  }
  if (i < to) {
    const two = i + 4 <= to;
    const v = (hexByte(hex, i) << 16) | ((two ? hexByte(hex, i + 2) : 0) << 8);
    out += `${A[v >> 18]!}${A[(v >> 12) & 63]!}${two ? A[(v >> 6) & 63]! : '='}=`;
  }
  return out;
}
