/**
 * EventStore.scanTimeBucket on PostgreSQL (issue 9): the newest-first merge of the event
 * buckets of one time bucket with one round trip per refill instead of one query per
 * partition. Each bucket is read in chunks of about `limit / eventBuckets` whole events, as
 * the read path's own merge does (a page reads little more than it returns); the chunks of
 * every bucket that needs rows come from one UNION ALL statement, each arm the ordered,
 * dense_rank-bounded scan of scanPartition. PostgreSQL does not merge the arms itself (no
 * Merge Append under the window: EXPLAIN shows a sort of every row of the bucket), hence
 * the chunks.
 */
import type { EventItem, EventPosition, EventRecord, TimeBucketScan } from '../contracts.js';
import type { PgDb } from './database.js';
import { hasSqlState, UNDEFINED_TABLE } from './errors.js';
import { compareNewestFirst } from '../slice-rules.js';

/** Most arms in one statement; a slice with more event buckets refills in several. */
const MAX_ARMS = 64;

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

/** The merged scan of `scan` over the slice table `table` (quoted, schema-qualified). */
export async function scanTimeBucket(db: PgDb, table: string, scan: TimeBucketScan): Promise<EventRecord[]> {
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
