/**
 * An event as its wire JSON text (issue 9): exactly what `JSON.stringify` writes for the
 * event in a ReadEventRecords or SearchEventRecords answer (server/wire/timeseries-wire.ts
 * `encodePage`), kept with the event where it is read many times (the SQLite index stores
 * it with each document), so a search page is its events' texts joined with commas.
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
  for (const item of e.items) {
    const v = item.value;
    const value = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    items += `${items === '' ? '' : ','}{"eventItemKey":${JSON.stringify(item.key)},"eventItemValue":"${value}"}`;
  }
  return `{"timeSeriesId":${JSON.stringify(e.timeSeriesId)},"eventTime":"${formatTimestampMicros(e.eventTimeMicros)}","eventId":${JSON.stringify(e.eventId)},"eventItems":[${items}]}`;
}

/**
 * The identity of the event written as `text` by {@link eventJson}: its series, id and
 * time (the time read back from its RFC 3339 text, which keeps every microsecond). Parses
 * the whole text: for a page's last event only.
 */
export function eventJsonPosition(text: string): { eventTimeMicros: number; timeSeriesId: string; eventId: string } {
  const e = JSON.parse(text) as { timeSeriesId: string; eventTime: string; eventId: string };
  const eventTimeMicros = parseTimestampMicros(e.eventTime);
  if (eventTimeMicros === undefined) throw new Error(`event JSON with an unreadable eventTime: ${e.eventTime}`);
  return { eventTimeMicros, timeSeriesId: e.timeSeriesId, eventId: e.eventId };
}
