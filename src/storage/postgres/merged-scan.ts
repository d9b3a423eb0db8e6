/**
 * EventStore.scanTimeBucket on PostgreSQL (issue 9). In a time-ordered slice table
 * (schema.ts `SliceLayout`, keyed without the event bucket) a time bucket of a series is
 * one index range already in read order: one statement walks it with a row LIMIT, no
 * merge ({@link readRange}; a second one only when an event's items cross the limit). In
 * a bucketed table (created before schema version 5) it is the newest-first
 * merge of the event buckets of one time bucket with one round trip per refill instead of one query per
 * partition. Each bucket is read in chunks of about `limit / eventBuckets` whole events, as
 * the read path's own merge does (a page reads little more than it returns); the chunks of
 * every bucket that needs rows come from one UNION ALL statement, each arm the ordered,
 * dense_rank-bounded scan of scanPartition. PostgreSQL does not merge the arms itself (no
 * Merge Append under the window: EXPLAIN shows a sort of every row of the bucket), hence
 * the chunks. Merging in SQL with each arm bounded to `limit` events instead (one round trip
 * always) was measured and dropped: PostgreSQL's CPU grows with the rows it reads (about 3 µs
 * each here, the heap fetch), and it read 2.4 times the rows of a page, halving throughput.
 *
 * The packed scan (domain/packed-events.ts) runs the same statements in array row mode with
 * the value as hex text (`encode(value, 'hex')`): no Buffer per value, no object per row.
 * Ids and keys are quoted here with `JSON.stringify` and the hex upper-cased: PostgreSQL's
 * `to_json(text)::text` writes the same literals (checked over every code point in
 * test/integration/packed-scan.postgres.test.ts) but costs the database more CPU per row
 * than the quoting costs dgw.
 */
import type { EventPosition, EventRecord, TimeBucketScan } from '../contracts.js';
import { emptyPacked, ITEM_SEPARATOR, KEY_SEPARATOR, type PackedEvents } from '../../domain/packed-events.js';
import type { PgDb } from './database.js';
import { hasSqlState, UNDEFINED_TABLE } from './errors.js';
import { compareNewestFirst } from '../slice-rules.js';

/** Most arms in one statement; a slice with more event buckets refills in several. */
const MAX_ARMS = 64;

/**
 * How rows become events, for records or packed events. An item is its key and its value,
 * the value as the SQL of {@link EventForm.value} gives it.
 */
interface EventForm<E extends EventPosition> {
  /** The SQL of a statement's value column. */
  value: string;
  /** A new event holding the row's item. */
  start(key: string, value: unknown, eventTimeMicros: number, eventId: string): E;
  /** Adds the row's item to the event it belongs to. */
  add(event: E, key: string, value: unknown): void;
}

/** One event bucket's chunk being merged. */
interface Stream<E> {
  buffer: E[];
  next: number;
  cursor: EventPosition | undefined;
  done: boolean;
}

/** The records form: items with their values as byte arrays. */
function recordForm(timeSeriesId: string): EventForm<EventRecord> {
  return {
    value: 'event_item_value',
    start: (key, value, eventTimeMicros, eventId) => ({
      timeSeriesId,
      eventTimeMicros,
      eventId,
      items: [{ key, value: new Uint8Array(value as Buffer) }],
    }),
    add: (event, key, value) => {
      event.items.push({ key, value: new Uint8Array(value as Buffer) });
    },
  };
}

/** An event of the packed form while it is merged: its id also as a JSON literal, its items packed. */
interface PackedEvent extends EventPosition {
  id: string;
  items: string;
}

/** The packed form: `JSON.stringify` of id and key, the value's hex upper-cased. */
const PACKED_FORM: EventForm<PackedEvent> = {
  value: "encode(event_item_value, 'hex')",
  start: (key, value, eventTimeMicros, eventId) => ({
    eventTimeMicros,
    eventId,
    id: JSON.stringify(eventId),
    items: `${JSON.stringify(key)}${KEY_SEPARATOR}${(value as string).toUpperCase()}`,
  }),
  add: (event, key, value) => {
    event.items += `${ITEM_SEPARATOR}${JSON.stringify(key)}${KEY_SEPARATOR}${(value as string).toUpperCase()}`;
  },
};

/** The merged scan of `scan` over the slice table `table` (quoted, schema-qualified). */
export function scanTimeBucket(db: PgDb, table: string, scan: TimeBucketScan): Promise<EventRecord[]> {
  return mergeBuckets(db, table, scan, recordForm(scan.timeSeriesId));
}

/** {@link scanTimeBucket} in packed form: the same statements and events. */
export async function scanTimeBucketPacked(db: PgDb, table: string, scan: TimeBucketScan): Promise<PackedEvents> {
  return packed(await mergeBuckets(db, table, scan, PACKED_FORM));
}

/** The scan of `scan` over the time-ordered slice table `table`: one statement, no merge. */
export function scanTimeOrdered(db: PgDb, table: string, scan: TimeBucketScan): Promise<EventRecord[]> {
  return readRange(db, table, scan, recordForm(scan.timeSeriesId));
}

/** {@link scanTimeOrdered} in packed form: the same statement and events. */
export async function scanTimeOrderedPacked(db: PgDb, table: string, scan: TimeBucketScan): Promise<PackedEvents> {
  return packed(await readRange(db, table, scan, PACKED_FORM));
}

function packed(events: readonly PackedEvent[]): PackedEvents {
  const out = emptyPacked();
  for (const e of events) {
    out.times.push(e.eventTimeMicros);
    out.ids.push(e.id);
    out.items.push(e.items);
  }
  return out;
}

/**
 * The time bucket's range of a time-ordered table, read in key order with a row LIMIT:
 * `limit + 1` rows hold `limit` whole events when events have one item; when the LIMIT is
 * reached, the last event may miss items past it, so it is dropped and read again from the
 * last whole event with a doubled row limit. A row LIMIT, not the dense_rank bound of the
 * merged arms and scanPartition: PostgreSQL does not cost a window's run condition as a
 * limit, so it plans that statement as a bitmap scan of the whole range and a sort (EXPLAIN
 * on 1,000 events of a series: 1.0-1.7 ms), while with the LIMIT it walks the key's index
 * and stops (0.12-0.16 ms), custom or generic plan alike. A row is `[event_time, event_id,
 * event_item_key, value]`.
 */
async function readRange<E extends EventPosition>(db: PgDb, table: string, scan: TimeBucketScan, form: EventForm<E>): Promise<E[]> {
  const out: E[] = [];
  let after = scan.after;
  let rowLimit = scan.limit + 1;
  const range = `SELECT event_time, event_id, event_item_key, ${form.value} FROM ${table} WHERE time_series_id = $1 AND time_bucket = $2 AND event_time >= $3 AND event_time < $4`;
  const order = 'ORDER BY event_time DESC, event_id, event_item_key LIMIT $5';
  try {
    for (;;) {
      const values: unknown[] = [scan.timeSeriesId, scan.timeBucket, scan.fromMicros, scan.toMicros, rowLimit];
      let text = `${range} ${order}`;
      if (after) {
        values.push(after.eventTimeMicros, after.eventId);
        text = `${range} AND (event_time < $6 OR (event_time = $6 AND event_id > $7)) ${order}`;
      }
      const rows = await db.rows(text, values);
      let complete = out.length;
      let current: E | undefined;
      for (const row of rows) {
        const time = Number(row[0] as string);
        const id = row[1] as string;
        if (current && current.eventTimeMicros === time && current.eventId === id) {
          form.add(current, row[2] as string, row[3]);
          continue;
        }
        complete = out.length;
        if (complete === scan.limit) return out;
        current = form.start(row[2] as string, row[3], time, id);
        out.push(current);
      }
      if (rows.length < rowLimit) return out;
      // Drop the event that may be cut and read on from the last whole one.
      out.length = complete;
      const last = out[complete - 1];
      if (last) after = { eventTimeMicros: last.eventTimeMicros, eventId: last.eventId };
      rowLimit *= 2;
    }
  } catch (err) {
    if (hasSqlState(err, UNDEFINED_TABLE)) return []; // dropped slice
    throw err;
  }
}

async function mergeBuckets<E extends EventPosition>(db: PgDb, table: string, scan: TimeBucketScan, form: EventForm<E>): Promise<E[]> {
  const buckets = scan.eventBuckets;
  const chunk = buckets === 1 ? scan.limit : Math.max(4, Math.ceil((scan.limit * 1.25) / buckets) + 1);
  const streams: Stream<E>[] = Array.from({ length: buckets }, () => ({ buffer: [], next: 0, cursor: scan.after, done: false }));
  const out: E[] = [];
  try {
    while (out.length < scan.limit) {
      const empty: number[] = [];
      for (let eb = 0; eb < buckets; eb++) {
        const st = streams[eb]!;
        if (!st.done && st.next >= st.buffer.length) empty.push(eb);
      }
      for (let i = 0; i < empty.length; i += MAX_ARMS) await refill(db, table, scan, form, streams, empty.slice(i, i + MAX_ARMS), chunk);
      let best: Stream<E> | undefined;
      for (const st of streams) {
        const head = st.buffer[st.next];
        if (head && (!best || compareNewestFirst(head, best.buffer[best.next]!) < 0)) best = st;
      }
      if (!best) break;
      out.push(best.buffer[best.next++]!);
    }
  } catch (err) {
    if (hasSqlState(err, UNDEFINED_TABLE)) return []; // missing or dropped slice
    throw err;
  }
  return out;
}

/** Reads the next chunk of each bucket of `ebs` in one statement. */
async function refill<E extends EventPosition>(
  db: PgDb,
  table: string,
  scan: TimeBucketScan,
  form: EventForm<E>,
  streams: Stream<E>[],
  ebs: readonly number[],
  chunk: number,
): Promise<void> {
  const values: unknown[] = [scan.timeSeriesId, scan.timeBucket, scan.fromMicros, scan.toMicros, chunk];
  const arms = ebs.map((eb) => {
    const cursor = streams[eb]!.cursor;
    let after = '';
    if (cursor) {
      values.push(cursor.eventTimeMicros, cursor.eventId);
      const t = values.length - 1;
      after = `AND (event_time < $${t} OR (event_time = $${t} AND event_id > $${t + 1}))`;
    }
    return (
      `SELECT ${eb} AS eb, event_time, event_id, event_item_key, ${form.value} FROM (` +
      'SELECT event_time, event_id, event_item_key, event_item_value, dense_rank() OVER (ORDER BY event_time DESC, event_id) AS n ' +
      `FROM ${table} WHERE time_series_id = $1 AND time_bucket = $2 AND event_bucket = ${eb} ` +
      `AND event_time >= $3 AND event_time < $4 ${after}) r${eb} WHERE n <= $5`
    );
  });
  const rows = await db.rows(`${arms.join(' UNION ALL ')} ORDER BY eb, event_time DESC, event_id, event_item_key`, values);
  for (const eb of ebs) {
    const st = streams[eb]!;
    st.buffer = [];
    st.next = 0;
  }
  let current: E | undefined;
  let currentEb = -1;
  for (const row of rows) {
    const eb = row[0] as number;
    const time = Number(row[1] as string);
    const id = row[2] as string;
    if (!current || eb !== currentEb || current.eventTimeMicros !== time || current.eventId !== id) {
      current = form.start(row[3] as string, row[4], time, id);
      currentEb = eb;
      streams[eb]!.buffer.push(current);
    } else {
      form.add(current, row[3] as string, row[4]);
    }
  }
  for (const eb of ebs) {
    const st = streams[eb]!;
    if (st.buffer.length < chunk) st.done = true;
    const last = st.buffer[st.buffer.length - 1];
    if (last) st.cursor = { eventTimeMicros: last.eventTimeMicros, eventId: last.eventId };
  }
}
