/**
 * EventStore.scanTimeBucket on PostgreSQL (issue 9): the newest-first merge of the event
 * buckets of one time bucket in one statement, one round trip per call. Each bucket's arm
 * is the ordered, dense_rank-bounded scan of scanPartition, bounded to `limit` whole events
 * (no bucket can give more to the first `limit` of the merge); the arms are merged and bounded
 * again by an outer dense_rank over at most `eventBuckets * limit` events. PostgreSQL does not
 * merge the arms itself (no Merge Append under the window, even with sorts disabled: EXPLAIN
 * shows a sort of what the arms return), which is why the arms are bounded.
 *
 * One statement instead of the earlier refills (chunks of `limit / eventBuckets` events,
 * read again whenever one bucket ran dry): on this machine each round trip costs the dgw
 * process a write that wakes PostgreSQL, about a fifth of a read's CPU in the profile, and a
 * page read took about two of them. Slices with more than {@link MAX_ARMS} event buckets
 * still merge here in chunks ({@link scanTimeBucketChunked}).
 *
 * The packed scan (domain/packed-events.ts) runs the same merge and returns one text per
 * event in array row mode: `time U+001F id U+001F items`, the id and each item key as
 * `to_json(text)::text`, which writes exactly what `JSON.stringify` does for every text
 * PostgreSQL can store (test/integration/packed-scan.postgres.test.ts checks every code point
 * up to U+FFFF and astral ones), each value as upper-case hex, items joined in key order.
 * One JS string per event instead of four parsed values and a Buffer per item.
 */
import type { EventItem, EventPosition, EventRecord, TimeBucketScan } from '../contracts.js';
import { emptyPacked, packEvents, type PackedEvents } from '../../domain/packed-events.js';
import type { PgDb } from './database.js';
import { hasSqlState, UNDEFINED_TABLE } from './errors.js';
import { compareNewestFirst } from '../slice-rules.js';

/** Most arms in one statement; a slice with more event buckets merges in chunks. */
export const MAX_ARMS = 64;

interface ArmRow {
  eb: number;
  event_time: string;
  event_id: string;
  event_item_key: string;
  event_item_value: Buffer;
}

/** One event bucket's chunk being merged. */
interface Stream {
  buffer: EventRecord[];
  next: number;
  cursor: EventPosition | undefined;
  done: boolean;
}

/** Statement texts by table, buckets, cursor and form: built once per slice, not per call. */
const texts = new Map<string, string>();
/** Bound of {@link texts} (a few per slice table read). */
const MAX_TEXTS = 1024;

/**
 * The one-statement merge over `table` of `buckets` event buckets. Parameters: $1 series,
 * $2 time bucket, $3..$4 the interval, $5 the limit in events, and with `cursor` $6..$7 the
 * exclusive cursor's time and id (also an index bound: `event_time <= $6`). Rows: `event_time,
 * event_id, event_item_key, event_item_value` in scan order, or with `packed` one text per event.
 */
function mergedText(table: string, buckets: number, cursor: boolean, packed: boolean): string {
  const key = `${table}/${buckets}/${cursor ? 1 : 0}/${packed ? 1 : 0}`;
  let text = texts.get(key);
  if (text !== undefined) return text;
  const after = cursor ? 'AND event_time <= $6 AND (event_time < $6 OR event_id > $7)' : '';
  const arms: string[] = [];
  for (let eb = 0; eb < buckets; eb++) {
    arms.push(
      `SELECT event_time, event_id, event_item_key, event_item_value FROM (` +
        'SELECT event_time, event_id, event_item_key, event_item_value, dense_rank() OVER (ORDER BY event_time DESC, event_id) AS n ' +
        `FROM ${table} WHERE time_series_id = $1 AND time_bucket = $2 AND event_bucket = ${eb} ` +
        `AND event_time >= $3 AND event_time < $4 ${after}) a${eb} WHERE n <= $5`,
    );
  }
  const merged =
    'SELECT event_time, event_id, event_item_key, event_item_value, dense_rank() OVER (ORDER BY event_time DESC, event_id) AS m ' +
    `FROM (${arms.join(' UNION ALL ')}) u`;
  text = packed
    ? "SELECT event_time::text || chr(31) || to_json(event_id)::text || chr(31) || string_agg(to_json(event_item_key)::text || chr(31) || upper(encode(event_item_value, 'hex')), chr(30) ORDER BY event_item_key) " +
      `FROM (${merged}) r WHERE m <= $5 GROUP BY event_time, event_id ORDER BY event_time DESC, event_id`
    : `SELECT event_time, event_id, event_item_key, event_item_value FROM (${merged}) r WHERE m <= $5 ORDER BY event_time DESC, event_id, event_item_key`;
  if (texts.size >= MAX_TEXTS) texts.clear();
  texts.set(key, text);
  return text;
}

/** The statement values of {@link mergedText} for `scan`. */
function mergedValues(scan: TimeBucketScan): unknown[] {
  const values: unknown[] = [scan.timeSeriesId, scan.timeBucket, scan.fromMicros, scan.toMicros, scan.limit];
  if (scan.after) values.push(scan.after.eventTimeMicros, scan.after.eventId);
  return values;
}

/** The merged scan of `scan` over the slice table `table` (quoted, schema-qualified). */
export async function scanTimeBucket(db: PgDb, table: string, scan: TimeBucketScan): Promise<EventRecord[]> {
  if (scan.eventBuckets > MAX_ARMS) return scanTimeBucketChunked(db, table, scan);
  let rows: unknown[][];
  try {
    rows = await db.rows(mergedText(table, scan.eventBuckets, scan.after !== undefined, false), mergedValues(scan));
  } catch (err) {
    if (hasSqlState(err, UNDEFINED_TABLE)) return []; // missing or dropped slice
    throw err;
  }
  const out: EventRecord[] = [];
  let current: EventRecord | undefined;
  for (const row of rows) {
    const time = Number(row[0] as string);
    const id = row[1] as string;
    if (!current || current.eventTimeMicros !== time || current.eventId !== id) {
      current = { timeSeriesId: scan.timeSeriesId, eventTimeMicros: time, eventId: id, items: [] };
      out.push(current);
    }
    current.items.push({ key: row[2] as string, value: new Uint8Array(row[3] as Buffer) });
  }
  return out;
}

/** {@link scanTimeBucket} in packed form: the same events, one text per event from the database. */
export async function scanTimeBucketPacked(db: PgDb, table: string, scan: TimeBucketScan): Promise<PackedEvents> {
  if (scan.eventBuckets > MAX_ARMS) return packEvents(await scanTimeBucketChunked(db, table, scan));
  let rows: unknown[][];
  try {
    rows = await db.rows(mergedText(table, scan.eventBuckets, scan.after !== undefined, true), mergedValues(scan));
  } catch (err) {
    if (hasSqlState(err, UNDEFINED_TABLE)) return emptyPacked(); // missing or dropped slice
    throw err;
  }
  const n = rows.length;
  const times = new Array<number>(n);
  const ids = new Array<string>(n);
  const items = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    // JSON literals hold no raw U+001F, so the first two separators are the fields'.
    const row = rows[i]![0] as string;
    const a = row.indexOf('\u001f');
    const b = row.indexOf('\u001f', a + 1);
    times[i] = Number(row.slice(0, a));
    ids[i] = row.slice(a + 1, b);
    items[i] = row.slice(b + 1);
  }
  return { times, ids, items };
}

/**
 * The merge of slices with more than {@link MAX_ARMS} event buckets: each bucket read in
 * chunks of about `limit / eventBuckets` whole events, the chunks of every bucket that needs
 * rows from one UNION ALL statement of at most MAX_ARMS arms per refill, merged here.
 */
async function scanTimeBucketChunked(db: PgDb, table: string, scan: TimeBucketScan): Promise<EventRecord[]> {
  const buckets = scan.eventBuckets;
  const chunk = buckets === 1 ? scan.limit : Math.max(4, Math.ceil((scan.limit * 1.25) / buckets) + 1);
  const streams: Stream[] = Array.from({ length: buckets }, () => ({ buffer: [], next: 0, cursor: scan.after, done: false }));
  const out: EventRecord[] = [];
  try {
    while (out.length < scan.limit) {
      const empty: number[] = [];
      for (let eb = 0; eb < buckets; eb++) {
        const st = streams[eb]!;
        if (!st.done && st.next >= st.buffer.length) empty.push(eb);
      }
      for (let i = 0; i < empty.length; i += MAX_ARMS) await refill(db, table, scan, streams, empty.slice(i, i + MAX_ARMS), chunk);
      let best: Stream | undefined;
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
async function refill(db: PgDb, table: string, scan: TimeBucketScan, streams: Stream[], ebs: readonly number[], chunk: number): Promise<void> {
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
      `SELECT ${eb} AS eb, event_time, event_id, event_item_key, event_item_value FROM (` +
      'SELECT event_time, event_id, event_item_key, event_item_value, dense_rank() OVER (ORDER BY event_time DESC, event_id) AS n ' +
      `FROM ${table} WHERE time_series_id = $1 AND time_bucket = $2 AND event_bucket = ${eb} ` +
      `AND event_time >= $3 AND event_time < $4 ${after}) r${eb} WHERE n <= $5`
    );
  });
  const { rows } = await db.query<ArmRow>(`${arms.join(' UNION ALL ')} ORDER BY eb, event_time DESC, event_id, event_item_key`, values, true);
  for (const eb of ebs) {
    const st = streams[eb]!;
    st.buffer = [];
    st.next = 0;
  }
  let current: EventRecord | undefined;
  let currentEb = -1;
  for (const row of rows) {
    const time = Number(row.event_time);
    if (!current || row.eb !== currentEb || current.eventTimeMicros !== time || current.eventId !== row.event_id) {
      current = { timeSeriesId: scan.timeSeriesId, eventTimeMicros: time, eventId: row.event_id, items: [] };
      currentEb = row.eb;
      streams[row.eb]!.buffer.push(current);
    }
    const item: EventItem = { key: row.event_item_key, value: new Uint8Array(row.event_item_value) };
    current.items.push(item);
  }
  for (const eb of ebs) {
    const st = streams[eb]!;
    if (st.buffer.length < chunk) st.done = true;
    const last = st.buffer[st.buffer.length - 1];
    if (last) st.cursor = { eventTimeMicros: last.eventTimeMicros, eventId: last.eventId };
  }
}
