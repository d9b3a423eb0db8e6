/**
 * The statements of the packed reads (issue 9) and the loops that run them on a
 * connection: the time-bucket scan of ReadEventRecords and the search of
 * SearchEventRecords, each row one text. Written once and run by both the main connection
 * (event-store.ts, index-store.ts) and the reader threads (reader-thread.ts,
 * docs/storage.md "Reads in reader threads"), so both answer the same bytes.
 */
import type { TimeBucketScan } from '../contracts.js';
import { emptyPacked, ITEM_SEPARATOR, type PackedEvents } from '../../domain/packed-events.js';
import {
  appendJoinedJson,
  emptyJoinedJson,
  eventJson,
  eventJsonPosition,
  hexToBase64,
  joinedEventText,
  joinEventJson,
  seriesJsonHead,
  truncateJoinedJson,
  type JoinedEventJson,
} from '../../domain/event-json.js';
import { formatTimestampMicros } from '../../kernel/time.js';
import type { SqliteDatabase } from './database.js';
import { itemsOf } from './hex-bytes.js';
import type { CompiledSql } from './search-sql.js';
import { TIME_ORDERED_LAYOUT, type SliceTable } from './schema.js';

/** Row limits of merged scans are rounded up to a multiple of this: few statement texts. */
export const ROW_LIMIT_STEP = 8;

/**
 * Most event buckets merged by one statement (a compound SELECT of one arm per bucket;
 * SQLite refuses more than 500 arms). A slice table of the bucketed layout (schema.ts
 * `BUCKETED_LAYOUT`) with more is merged from partition scans.
 */
export const MAX_MERGED_BUCKETS = 64;

/** Merged-scan texts kept before the cache starts over. */
const MAX_CACHED_STATEMENTS_TEXTS = 512;

/** Bound values of a merged scan (named parameters); the cursor as in scanPartition. */
export interface MergedScanParams {
  series: string;
  timeBucket: number;
  from: number;
  hi: number;
  cursorTime: number;
  cursorId: string;
}

/** The bound values of one merged scan from `hi` down, resuming after `after` when set. */
export function mergedScanParams(scan: TimeBucketScan, hi: number, after: TimeBucketScan['after']): MergedScanParams {
  return {
    series: scan.timeSeriesId,
    timeBucket: scan.timeBucket,
    from: scan.fromMicros,
    hi,
    cursorTime: after ? after.eventTimeMicros : hi + 1,
    cursorId: after ? after.eventId : '',
  };
}

/**
 * The WHERE of a time-bucket scan's rows of `table` from `hi` down after the cursor (named
 * parameters, see {@link mergedScanParams}); of event bucket `eb` only when set.
 */
function bucketWhere(eb: number | undefined): string {
  return (
    `WHERE time_series_id = @series AND time_bucket = @timeBucket${eb === undefined ? '' : ` AND event_bucket = ${eb}`} ` +
    'AND event_time >= @from AND event_time <= @hi AND (event_time < @cursorTime OR event_id > @cursorId)'
  );
}

/**
 * The newest-first rows of one time bucket of `table`, at most `rows`, each row's columns
 * `select`. A {@link TIME_ORDERED_LAYOUT} table holds the time bucket as one range of its
 * key: one SELECT walks it in order. A `BUCKETED_LAYOUT` table holds one range per
 * event bucket `0 .. buckets - 1`: one arm per bucket, each walking the key in order, and
 * the ORDER BY of the compound makes SQLite merge the arms as co-routines (EXPLAIN QUERY
 * PLAN: MERGE (UNION ALL), no temp B-tree), so the LIMIT stops every arm after the rows it
 * needs; the compound's ORDER BY names result columns, so `select` must end with
 * `event_time, event_id, event_item_key` there. The LIMIT is written into the text: with
 * a bound LIMIT the same page cost ~50 % more in SQLite (measured: 121 vs 80 µs for 101
 * rows).
 */
export function timeBucketSql(table: SliceTable, buckets: number, rows: number, select: string): string {
  const order = `ORDER BY event_time DESC, event_id, event_item_key LIMIT ${rows}`;
  if (table.layout === TIME_ORDERED_LAYOUT) return `SELECT ${select} FROM "${table.name}" ${bucketWhere(undefined)} ${order}`;
  const arms: string[] = [];
  for (let eb = 0; eb < buckets; eb++) arms.push(`SELECT ${select} FROM "${table.name}" ${bucketWhere(eb)}`);
  return `${arms.join(' UNION ALL ')} ${order}`;
}

/**
 * The newest-first rows of one time bucket (issue 9, {@link timeBucketSql}) with each row
 * as one text: `time U+001F id U+001F key U+001F value`, the id and key as JSON string
 * literals (`json_quote`, which writes exactly what `JSON.stringify` does: checked over
 * every code point up to U+07FF and astral ones in test/unit/packed-events.test.ts) and the
 * value as upper-case hex. One JS string per row instead of four values and a byte array:
 * better-sqlite3 makes each value of a row in C++, the most expensive part of a read
 * (BENCHMARKS.md, issue 9). The text is the first result column (read with `pluck`).
 */
export function packedScanSql(table: SliceTable, buckets: number, rows: number): string {
  return timeBucketSql(
    table,
    buckets,
    rows,
    "event_time || char(31) || json_quote(event_id) || char(31) || json_quote(event_item_key) || char(31) || hex(event_item_value) AS r, " +
      'event_time, event_id, event_item_key',
  );
}

/** Statement texts by a key, built once (a reused string is hashed once by the statement cache). */
export class ScanTexts {
  private readonly texts = new Map<string, string>();

  /** The text under `key`, built by `build` the first time. */
  get(key: string, build: () => string): string {
    let text = this.texts.get(key);
    if (text === undefined) {
      if (this.texts.size >= MAX_CACHED_STATEMENTS_TEXTS) this.texts.clear();
      text = build();
      this.texts.set(key, text);
    }
    return text;
  }
}

/**
 * The packed time-bucket scan of live slice table `table` on `sql` (the caller resolved the
 * table and, for a bucketed one, checked `scan.eventBuckets <= MAX_MERGED_BUCKETS`). Rows
 * come from {@link joinedScanSql} with a row LIMIT (one native call, one string):
 * `limit + 1` rows (rounded up to {@link ROW_LIMIT_STEP}) hold `limit` whole events when
 * events have one item; otherwise the last, possibly cut, event is read again from a
 * cursor with a doubled row limit. Each statement is its own read transaction, as inline.
 */
export function packedTimeBucketScan(sql: SqliteDatabase, texts: ScanTexts, table: SliceTable, scan: TimeBucketScan): PackedEvents {
  const out = emptyPacked();
  const { times, ids, items } = out;
  scanRounds(sql, texts, table, scan, 'joined', (joined, cut) => {
    const rows = joined ?? '';
    let complete = times.length;
    let time = NaN;
    let id = '';
    for (let at = 0; at < rows.length; ) {
      const a = rows.indexOf('\u001f', at);
      const b = rows.indexOf('\u001f', a + 1);
      const end = rowEnd(rows, rows.indexOf('\u001f', b + 1));
      const t = Number(rows.slice(at, a));
      const i = rows.slice(a + 1, b);
      const item = rows.slice(b + 1, end);
      at = end + 1;
      if (t === time && i === id) {
        items[items.length - 1] += ITEM_SEPARATOR + item;
        continue;
      }
      complete = times.length;
      if (complete === scan.limit) return DONE;
      time = t;
      id = i;
      times.push(t);
      ids.push(i);
      items.push(item);
    }
    if (!cut) return DONE;
    // Drop the event that may be cut and read on from the last whole one.
    times.length = ids.length = items.length = complete;
    return complete > 0 ? { eventTimeMicros: times[complete - 1]!, eventId: JSON.parse(ids[complete - 1]!) as string } : AGAIN;
  });
  return out;
}

/**
 * {@link packedScanSql}'s rows as one text, joined with U+001E, and their count (issue 9):
 * better-sqlite3 makes one string per page instead of one per row (measured on the bench's
 * 1,000,000-event file: a page of 100 rows read and written as event texts cost 117–149 µs
 * of CPU this way against 131–171 µs row by row). Neither separator can occur in a row: the
 * time is digits, the id and key are JSON literals (`json_quote` writes control
 * characters as escapes) and the value is hex. The rows are those of the subquery in its
 * order: SQLite runs a subquery with ORDER BY and LIMIT as a co-routine the aggregate
 * reads in that order (test/integration/read-merged.sqlite.test.ts compares every page, ties
 * on time included, with the read path's own merge).
 */
export function joinedScanSql(table: SliceTable, buckets: number, rows: number): string {
  return `SELECT group_concat(r, char(30)), count(*) FROM (${packedScanSql(table, buckets, rows)})`;
}

/** Where the row of joined scan text `rows` whose value starts after `valueSeparator` ends (U+001E or the text's end). */
function rowEnd(rows: string, valueSeparator: number): number {
  const end = rows.indexOf('\u001e', valueSeparator + 1);
  return end < 0 ? rows.length : end;
}

/** What a round of {@link scanRounds} answers: the scan is complete. */
const DONE = 'done';
/** What a round of {@link scanRounds} answers: read again from the same cursor (no whole event yet). */
const AGAIN = 'again';

/**
 * The statement a round of {@link scanRounds} runs: {@link joinedScanSql}, or
 * {@link pageJsonScanSql} (its first column NULL when the extension declines the rows).
 */
type RoundStatement = 'joined' | 'pageJson';

/**
 * The rounds of a packed time-bucket scan (see {@link packedTimeBucketScan}): runs the
 * `statement` from `scan.after` with a row limit and hands its first column (one text, or
 * null) to `round`, which answers DONE, AGAIN, or the last whole event to read on after;
 * each further round doubles the row limit.
 */
function scanRounds(
  sql: SqliteDatabase,
  texts: ScanTexts,
  table: SliceTable,
  scan: TimeBucketScan,
  statement: RoundStatement,
  round: (rows: string | null, cut: boolean) => typeof DONE | typeof AGAIN | NonNullable<TimeBucketScan['after']>,
): void {
  if (scan.limit < 1 || scan.eventBuckets < 1) return;
  const base = scan.toMicros - 1;
  if (base < scan.fromMicros) return;
  let after = scan.after;
  let rowLimit = Math.ceil((scan.limit + 1) / ROW_LIMIT_STEP) * ROW_LIMIT_STEP;
  const seriesJson = statement === 'pageJson' ? JSON.stringify(scan.timeSeriesId) : '';
  for (;;) {
    const hi = after ? Math.min(base, after.eventTimeMicros) : base;
    if (hi < scan.fromMicros) return;
    const params: MergedScanParams & { seriesJson?: string } = mergedScanParams(scan, hi, after);
    const buckets = scan.eventBuckets;
    let text: string;
    if (statement === 'pageJson') {
      params.seriesJson = seriesJson;
      text = texts.get(`p/${table.name}/${table.layout}/${buckets}/${rowLimit}`, () => pageJsonScanSql(table, buckets, rowLimit));
    } else {
      text = texts.get(`j/${table.name}/${table.layout}/${buckets}/${rowLimit}`, () => joinedScanSql(table, buckets, rowLimit));
    }
    const [rows, count] = sql.stmt(text).raw(true).get(params) as [string | null, number];
    // The last event may miss items past the limit.
    const next = round(rows, count === rowLimit);
    if (next === DONE) return;
    if (next !== AGAIN) after = next;
    rowLimit *= 2;
  }
}

/**
 * The newest-first rows of one time bucket (as {@link packedScanSql}) written as their
 * page by the page-JSON extension's aggregate (page-json-extension.ts, native/page-json.c):
 * the events' wire JSON texts joined with ',', U+001E, each event's end offset; plus the
 * row count. The aggregate reads the subquery's rows in its order, as group_concat does in
 * {@link joinedScanSql}. `@seriesJson` is the series as a JSON string literal.
 */
export function pageJsonScanSql(table: SliceTable, buckets: number, rows: number): string {
  const select = 'event_item_value, event_time, event_id, event_item_key';
  return `SELECT dgw_page_json(@seriesJson, event_time, event_id, event_item_key, event_item_value), count(*) FROM (${timeBucketSql(table, buckets, rows, select)})`;
}

/**
 * {@link jsonTimeBucketScan} by the page-JSON extension: the same events, limits and
 * cut-event rule, the page written in SQLite. Undefined when the aggregate declined the
 * rows (page-json.c says when: text that is not UTF-8, times JavaScript cannot format the
 * same way); the caller then reads the scan again on the JavaScript path.
 */
function pageJsonTimeBucketScan(sql: SqliteDatabase, texts: ScanTexts, table: SliceTable, scan: TimeBucketScan): JoinedEventJson | undefined {
  const out = emptyJoinedJson();
  let declined = false;
  scanRounds(sql, texts, table, scan, 'pageJson', (result, cut) => {
    if (result === null) {
      declined = true;
      return DONE;
    }
    const page = splitPageJson(result);
    const room = scan.limit - out.ends.length;
    if (page.ends.length > room) {
      truncateJoinedJson(page, room);
      appendJoinedJson(out, page);
      return DONE;
    }
    if (!cut) {
      appendJoinedJson(out, page);
      return DONE;
    }
    // Drop the event that may be cut and read on from the last whole one.
    truncateJoinedJson(page, page.ends.length - 1);
    appendJoinedJson(out, page);
    const whole = out.ends.length;
    if (whole === 0) return AGAIN;
    const { eventTimeMicros, eventId } = eventJsonPosition(joinedEventText(out, whole - 1));
    return { eventTimeMicros, eventId };
  });
  return declined ? undefined : out;
}

/** The aggregate's text as events and their ends (see {@link pageJsonScanSql}). */
function splitPageJson(result: string): JoinedEventJson {
  const at = result.lastIndexOf('\u001e');
  if (at <= 0) return emptyJoinedJson();
  // Digits and commas only: JSON.parse reads them 2–3× faster than split and Number.
  return { text: result.slice(0, at), ends: JSON.parse(`[${result.slice(at + 1)}]`) as number[] };
}

/**
 * {@link packedTimeBucketScan} with each event as its wire JSON text (domain/event-json.ts
 * `eventJson`), joined: the same statement, limits and cut-event rule, the texts written
 * from its rows here (on a reader thread when there are some), so the main thread does no
 * work per event and receives one string.
 */
export function jsonTimeBucketScan(sql: SqliteDatabase, texts: ScanTexts, table: SliceTable, scan: TimeBucketScan): JoinedEventJson {
  if (sql.pageJson) {
    const page = pageJsonTimeBucketScan(sql, texts, table, scan);
    if (page) return page;
  }
  return joinEventJson(eventTexts(sql, texts, table, scan));
}

/** The event texts of {@link jsonTimeBucketScan}. */
function eventTexts(sql: SqliteDatabase, texts: ScanTexts, table: SliceTable, scan: TimeBucketScan): string[] {
  const out: string[] = [];
  const series = seriesJsonHead(scan.timeSeriesId);
  let lastTime = 0; // out's last event
  let lastId = '';
  scanRounds(sql, texts, table, scan, 'joined', (joined, cut) => {
    const rows = joined ?? '';
    let open = ''; // the open event's text so far (without its closing ']}'); '' when none
    let time = NaN;
    let id = '';
    for (let at = 0; at < rows.length; ) {
      const a = rows.indexOf('\u001f', at);
      const b = rows.indexOf('\u001f', a + 1);
      const c = rows.indexOf('\u001f', b + 1);
      const end = rowEnd(rows, c);
      const t = Number(rows.slice(at, a));
      const i = rows.slice(a + 1, b);
      // eventJson's item: the key's literal as json_quote wrote it (what JSON.stringify writes).
      const item = `{"eventItemKey":${rows.slice(b + 1, c)},"eventItemValue":"${hexToBase64(rows, c + 1, end)}"}`;
      at = end + 1;
      if (t === time && i === id) {
        open += `,${item}`;
        continue;
      }
      if (open !== '') {
        out.push(`${open}]}`);
        lastTime = time;
        lastId = id;
      }
      if (out.length === scan.limit) return DONE;
      time = t;
      id = i;
      open = `${series}"eventTime":"${formatTimestampMicros(t)}","eventId":${i},"eventItems":[${item}`;
    }
    if (!cut) {
      if (open !== '') out.push(`${open}]}`);
      return DONE;
    }
    // Drop the event that may be cut (the open one) and read on from the last whole one.
    return out.length > 0 ? { eventTimeMicros: lastTime, eventId: JSON.parse(lastId) as string } : AGAIN;
  });
  return out;
}

/**
 * Runs a packed search statement (index-store.ts `searchSql(…, true)`) on `sql`: each
 * event's wire JSON text, as stored (schema v6) or built from a pre-v6 document's columns,
 * joined (one string crosses from a reader thread, not one per event).
 */
export function packedSearch(sql: SqliteDatabase, statement: CompiledSql): JoinedEventJson {
  const rows = sql.stmt(statement.sql).pluck(true).all(...statement.params) as string[];
  for (let i = 0; i < rows.length; i++) {
    if (rows[i]!.charCodeAt(0) !== 123 /* { */) rows[i] = fromColumnsText(rows[i]!);
  }
  return joinEventJson(rows);
}

/** The wire JSON of a pre-v6 document's row text (index-store.ts `PACKED_ROW`: JSON literals, time, items' hex). */
function fromColumnsText(r: string): string {
  const a = r.indexOf('\u001f');
  const b = r.indexOf('\u001f', a + 1);
  const c = r.indexOf('\u001f', b + 1);
  return eventJson({
    timeSeriesId: JSON.parse(r.slice(0, a)) as string,
    eventTimeMicros: Number(r.slice(a + 1, b)),
    eventId: JSON.parse(r.slice(b + 1, c)) as string,
    items: itemsOf(r.slice(c + 1)),
  });
}

/** Whether `err` is SQLite's "no such table" for a slice table (dropped after the caller resolved it). */
export function isMissingSliceTable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_ERROR' && err instanceof Error && /^no such table: ev_/.test(err.message);
}
