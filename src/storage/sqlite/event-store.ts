/**
 * The SQLite EventStore (DESIGN 3.2): one WITHOUT ROWID table per time slice named from the
 * namespace's numeric id, clustered newest first; slice metadata in `slices`. Slice rows are
 * cached in process (the store is not shared between processes). Appends are checked here
 * and committed by the writer thread when there is one (file databases, append-writer.ts),
 * else inline; packed and JSON time-bucket scans run on the reader threads when there are some
 * (reader-pool.ts), else inline; everything else runs on the main connection.
 */
import { DgwError } from '../../kernel/errors.js';
import type {
  AppendOptions,
  AppendResult,
  EventItem,
  EventLocator,
  EventRecord,
  EventStore,
  EventWrite,
  IndexDoc,
  PartitionScan,
  SliceInfo,
  SliceStatus,
  PackedEvents,
  TimeBucketScan,
} from '../contracts.js';
import { emptyPacked, packEvents } from '../../domain/packed-events.js';
import { emptyJoinedJson, eventJson, joinEventJson, type JoinedEventJson } from '../../domain/event-json.js';
import { checkAppendTime, checkWrite, compareNewestFirst, overlapError, slicesOverlap, validateSlice, validateStatus } from '../slice-rules.js';
import { BUCKETED_LAYOUT, sliceTableDdl, sliceTableName, TIME_ORDERED_LAYOUT, type SliceLayout, type SliceTable } from './schema.js';
import type { SqliteDatabase } from './database.js';
import type { SqliteIndexStore } from './index-store.js';
import { decodeOutboxDoc } from '../index-outbox.js';
import { bytesOf, shortHexSql } from './hex-bytes.js';
import { writeAppendRows, type AppendRows } from './append-rows.js';
import type { SqliteAppendWriter } from './append-writer.js';
import { jsonTimeBucketScan, MAX_MERGED_BUCKETS, mergedScanParams, packedTimeBucketScan, ROW_LIMIT_STEP, ScanTexts, timeBucketSql } from './packed-reads.js';
import type { SqliteReaderPool } from './reader-pool.js';

interface SliceRow {
  namespace_id: number;
  slice_id: number;
  start_micros: number;
  end_micros: number;
  status: SliceStatus;
  seconds_per_time_bucket: number;
  event_buckets: number;
  layout: SliceLayout;
}

function toInfo(r: SliceRow): SliceInfo {
  return {
    sliceId: r.slice_id,
    startMicros: r.start_micros,
    endMicros: r.end_micros,
    status: r.status,
    secondsPerTimeBucket: r.seconds_per_time_bucket,
    eventBuckets: r.event_buckets,
  };
}

type ScanRow = [number, string, string, Buffer];
/** A row of {@link mergedScanSql}: the value as hex text when short (hex-bytes.ts). */
type MergedRow = [number, string, string, string | Buffer];

/**
 * The newest-first rows of one time bucket (packed-reads.ts `timeBucketSql`: one range, or
 * the merge of the event buckets of a bucketed table), short values as hex (hex-bytes.ts).
 */
function mergedScanSql(table: SliceTable, buckets: number, rows: number): string {
  return timeBucketSql(table, buckets, rows, `event_time, event_id, event_item_key, ${shortHexSql('event_item_value')} AS v`);
}

/** Whether a time-bucket scan of `table` over `buckets` event buckets needs partition scans (too many arms). */
function tooManyArms(table: SliceTable, buckets: number): boolean {
  return table.layout === BUCKETED_LAYOUT && buckets > MAX_MERGED_BUCKETS;
}

function view(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** An EventStore on a SqliteDatabase. */
export class SqliteEventStore implements EventStore {
  /** Texts of merged and packed scans by table, buckets and row limit. */
  private readonly texts = new ScanTexts();
  /** namespace -> sliceId -> slice, loaded lazily from `slices`. */
  private readonly sliceCache = new Map<string, Map<number, SliceInfo>>();
  /** The key of each slice table whose slice is in {@link sliceCache}, by table name. */
  private readonly layouts = new Map<string, SliceLayout>();

  /**
   * @param index the index of the same database: `indexDocs` of an append commit with the events.
   * @param writer the writer thread that commits appends; without one they commit inline.
   * @param readers the reader threads that run packed scans; without them they run inline.
   * @param newSliceLayout the key of slice tables this store creates (schema.ts SliceLayout).
   */
  constructor(
    private readonly sql: SqliteDatabase,
    private readonly index?: SqliteIndexStore,
    private readonly writer?: SqliteAppendWriter,
    private readonly readers?: SqliteReaderPool,
    private readonly newSliceLayout: SliceLayout = TIME_ORDERED_LAYOUT,
  ) {}

  private slices(namespace: string): Map<number, SliceInfo> {
    let slices = this.sliceCache.get(namespace);
    if (slices) return slices;
    slices = new Map();
    const id = this.sql.namespaceId(namespace, false);
    if (id !== undefined) {
      const rows = this.sql.stmt('SELECT * FROM slices WHERE namespace_id = ? ORDER BY start_micros').all(id) as SliceRow[];
      for (const r of rows) {
        slices.set(r.slice_id, toInfo(r));
        this.layouts.set(sliceTableName(id, r.slice_id), r.layout);
      }
    }
    this.sliceCache.set(namespace, slices);
    return slices;
  }

  /** Table of a live slice, or undefined when the slice is missing or dropped. */
  private liveTable(namespace: string, sliceId: number): SliceTable | undefined {
    const slice = this.slices(namespace).get(sliceId);
    if (!slice || slice.status === 'DROPPED') return undefined;
    const name = sliceTableName(this.sql.namespaceId(namespace, true), sliceId);
    return { name, layout: this.layouts.get(name) ?? BUCKETED_LAYOUT };
  }

  async listSlices(namespace: string): Promise<SliceInfo[]> {
    return [...this.slices(namespace).values()].sort((a, b) => a.startMicros - b.startMicros).map((s) => ({ ...s }));
  }

  async createSlice(namespace: string, slice: SliceInfo): Promise<void> {
    validateSlice(slice);
    const slices = this.slices(namespace);
    if (slices.has(slice.sliceId)) return;
    for (const existing of slices.values()) {
      if (slicesOverlap(existing, slice)) throw overlapError(namespace, slice, existing);
    }
    // Allocated outside the transaction: a rollback must not leave a cached id without its row.
    const id = this.sql.namespaceId(namespace, true);
    const table = sliceTableName(id, slice.sliceId);
    const layout = this.newSliceLayout;
    this.sql.transaction(() => {
      this.sql
        .stmt('INSERT INTO slices VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(id, slice.sliceId, slice.startMicros, slice.endMicros, slice.status, slice.secondsPerTimeBucket, slice.eventBuckets, layout);
      if (slice.status !== 'DROPPED') this.sql.db.exec(sliceTableDdl(table, layout));
    });
    slices.set(slice.sliceId, { ...slice });
    this.layouts.set(table, layout);
  }

  async setSliceStatus(namespace: string, sliceId: number, status: SliceStatus): Promise<void> {
    validateStatus(status);
    const slice = this.slices(namespace).get(sliceId);
    if (!slice) throw new DgwError('NOT_FOUND', `namespace ${namespace} has no slice ${sliceId}`);
    if (slice.status === status) return;
    if (slice.status === 'DROPPED') {
      throw new DgwError('FAILED_PRECONDITION', `slice ${sliceId} of ${namespace} is DROPPED; it cannot become ${status}`);
    }
    const id = this.sql.namespaceId(namespace, true);
    const table = sliceTableName(id, sliceId);
    this.sql.transaction(() => {
      this.sql.stmt('UPDATE slices SET status = ? WHERE namespace_id = ? AND slice_id = ?').run(status, id, sliceId);
      if (status === 'DROPPED') this.sql.db.exec(`DROP TABLE IF EXISTS "${table}"`);
    });
    if (status === 'DROPPED') this.sql.forgetTable(table);
    slice.status = status;
  }

  async appendEvents(writes: readonly EventWrite[], options?: AppendOptions): Promise<AppendResult> {
    checkAppendTime(options);
    const docs = options?.indexDocs ?? [];
    const outbox = options?.outboxDocs ?? [];
    if (docs.length > 0 && !this.index) throw new DgwError('INTERNAL', 'sqlite event store: no index to commit indexDocs to');
    if (writes.length === 0 && docs.length === 0 && outbox.length === 0) return { allNew: true };
    const rows: AppendRows = { tables: this.flatten(writes), docs, outbox };
    if (this.writer) {
      // Namespace ids are allocated on this connection only, never by the writer's.
      for (const d of docs) this.sql.namespaceId(d.namespace, true);
      return { allNew: await this.writer.append(rows, options?.timeoutMicros) };
    }
    // Inline, synchronous from here: once started, the commit ends before this call
    // returns, so the time bound only needed checking up front. One transaction for the
    // whole array, index documents included (events and index always agree after a
    // crash): group commit makes one call one fsync.
    return { allNew: this.sql.transaction(() => writeAppendRows(this.sql, this.index, rows)) };
  }

  /**
   * Validates the whole batch before anything is written (it commits atomically or not at
   * all) and flattens its rows per table (a batch almost always targets one) into bind
   * parameters.
   */
  private flatten(writes: readonly EventWrite[]): AppendRows['tables'] {
    const byTable = new Map<string, unknown[]>();
    let lastKey = '';
    let lastSliceId = NaN;
    let lastSlices: Map<number, SliceInfo> | undefined;
    let params: unknown[] = [];
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i]!;
      if (w.namespace !== lastKey || w.sliceId !== lastSliceId) {
        lastSlices = w.namespace === lastKey && lastSlices ? lastSlices : this.slices(w.namespace);
        checkWrite(w, i, lastSlices.get(w.sliceId));
        lastKey = w.namespace;
        lastSliceId = w.sliceId;
        const table = sliceTableName(this.sql.namespaceId(w.namespace, true), w.sliceId);
        let p = byTable.get(table);
        if (!p) byTable.set(table, (p = []));
        params = p;
      } else {
        checkWrite(w, i, lastSlices!.get(w.sliceId));
      }
      const { partition: p, event: e } = w;
      for (const item of e.items) {
        params.push(p.timeSeriesId, p.timeBucket, p.eventBucket, e.eventTimeMicros, e.eventId, item.key, item.value);
      }
    }
    return [...byTable];
  }

  async readIndexOutbox(namespace: string, limit: number): Promise<IndexDoc[]> {
    const rows = this.sql.stmt('SELECT doc FROM index_outbox WHERE namespace = ? ORDER BY seq LIMIT ?').all(namespace, limit) as { doc: string }[];
    return rows.map((r) => decodeOutboxDoc(r.doc));
  }

  async clearIndexOutbox(docs: readonly IndexDoc[]): Promise<void> {
    if (docs.length === 0) return;
    const del = this.sql.stmt('DELETE FROM index_outbox WHERE namespace = ? AND event_time = ? AND time_series_id = ? AND event_id = ?');
    this.sql.transaction(() => {
      for (const d of docs) del.run(d.namespace, d.event.eventTimeMicros, d.event.timeSeriesId, d.event.eventId);
    });
  }

  async findEvents(locators: readonly EventLocator[]): Promise<boolean[]> {
    return locators.map((l) => {
      const table = this.liveTable(l.namespace, l.sliceId);
      if (!table) return false;
      const p = l.partition;
      const row = this.sql
        .stmt(
          `SELECT 1 FROM "${table.name}" WHERE time_series_id = ? AND time_bucket = ? AND event_bucket = ? ` +
            'AND event_time = ? AND event_id = ? LIMIT 1',
        )
        .get(p.timeSeriesId, p.timeBucket, p.eventBucket, l.eventTimeMicros, l.eventId);
      return row !== undefined;
    });
  }

  async scanPartition(scan: PartitionScan): Promise<EventRecord[]> {
    const table = this.liveTable(scan.namespace, scan.sliceId);
    if (!table || scan.limit < 1) return [];
    const p = scan.partition;
    // The cursor bounds the range (event_time <= hi) so SQLite walks the primary key from
    // the cursor on; the OR only filters rows at the cursor's own timestamp.
    let hi = scan.toMicros - 1;
    let cursorTime = hi + 1;
    let cursorId = '';
    if (scan.after) {
      hi = Math.min(hi, scan.after.eventTimeMicros);
      cursorTime = scan.after.eventTimeMicros;
      cursorId = scan.after.eventId;
    }
    if (hi < scan.fromMicros) return [];
    const stmt = this.sql
      .stmt(
        `SELECT event_time, event_id, event_item_key, event_item_value FROM "${table.name}" ` +
          'WHERE time_series_id = ? AND time_bucket = ? AND event_bucket = ? AND event_time >= ? AND event_time <= ? ' +
          'AND (event_time < ? OR event_id > ?) ORDER BY event_time DESC, event_id, event_item_key',
      )
      .raw(true);
    const out: EventRecord[] = [];
    let current: EventRecord | undefined;
    let items: EventItem[] = [];
    for (const row of stmt.iterate(p.timeSeriesId, p.timeBucket, p.eventBucket, scan.fromMicros, hi, cursorTime, cursorId)) {
      const [time, id, key, value] = row as ScanRow;
      if (!current || current.eventTimeMicros !== time || current.eventId !== id) {
        if (out.length === scan.limit) break; // limit counts whole events
        items = [];
        current = { timeSeriesId: p.timeSeriesId, eventTimeMicros: time, eventId: id, items };
        out.push(current);
      }
      items.push({ key, value: view(value) });
    }
    return out;
  }

  /**
   * One statement per time bucket (issue 9): the event buckets are merged by SQLite, not by
   * the read path over one query per partition. Rows are fetched with `all` and a row
   * LIMIT (one native call instead of one per row): `limit + 1` rows (rounded up to
   * {@link ROW_LIMIT_STEP}) hold `limit` whole events when events have one item; otherwise
   * the last, possibly cut, event is read again from a cursor with a doubled row limit.
   */
  async scanTimeBucket(scan: TimeBucketScan): Promise<EventRecord[]> {
    const table = this.liveTable(scan.namespace, scan.sliceId);
    if (!table || scan.limit < 1 || scan.eventBuckets < 1) return [];
    if (tooManyArms(table, scan.eventBuckets)) return this.scanBucketsApart(scan);
    const base = scan.toMicros - 1;
    if (base < scan.fromMicros) return [];
    const out: EventRecord[] = [];
    let after = scan.after;
    let rowLimit = Math.ceil((scan.limit + 1) / ROW_LIMIT_STEP) * ROW_LIMIT_STEP;
    for (;;) {
      const hi = after ? Math.min(base, after.eventTimeMicros) : base;
      if (hi < scan.fromMicros) return out;
      const params = mergedScanParams(scan, hi, after);
      const rows = this.mergedScan(table, scan.eventBuckets, rowLimit).all(params) as MergedRow[];
      const cut = rows.length === rowLimit; // the last event may miss items past the limit
      let current: EventRecord | undefined;
      let items: EventItem[] = [];
      let complete = out.length;
      for (const [time, id, key, value] of rows) {
        if (!current || current.eventTimeMicros !== time || current.eventId !== id) {
          if (current) complete = out.length;
          if (complete === scan.limit) return out;
          items = [];
          current = { timeSeriesId: scan.timeSeriesId, eventTimeMicros: time, eventId: id, items };
          out.push(current);
        }
        items.push({ key, value: bytesOf(value) });
      }
      if (!cut) return out;
      // Drop the event that may be cut and read on from the last whole one.
      out.length = complete;
      const last = out[complete - 1];
      if (last) after = { eventTimeMicros: last.eventTimeMicros, eventId: last.eventId };
      rowLimit *= 2;
    }
  }

  /**
   * {@link scanTimeBucket} in packed form (domain/packed-events.ts): the same statement
   * shape, limits and cut-event rule, each row one text ({@link packedScanSql}).
   */
  async scanTimeBucketPacked(scan: TimeBucketScan): Promise<PackedEvents> {
    const table = this.liveTable(scan.namespace, scan.sliceId);
    if (!table || scan.limit < 1 || scan.eventBuckets < 1) return emptyPacked();
    if (tooManyArms(table, scan.eventBuckets)) return packEvents(await this.scanBucketsApart(scan));
    // On a reader thread when there are some (file databases); a table dropped after
    // liveTable found it answers as a table that is gone does.
    if (this.readers) return (await this.readers.scan(table, scan)) ?? emptyPacked();
    return packedTimeBucketScan(this.sql, this.texts, table, scan);
  }

  /**
   * {@link scanTimeBucket} with each event as its wire JSON text (domain/event-json.ts
   * `eventJson`), built from the packed statement's rows (packed-reads.ts
   * `jsonTimeBucketScan`), on a reader thread when there are some.
   */
  async scanTimeBucketJson(scan: TimeBucketScan): Promise<JoinedEventJson> {
    const table = this.liveTable(scan.namespace, scan.sliceId);
    if (!table || scan.limit < 1 || scan.eventBuckets < 1) return emptyJoinedJson();
    if (tooManyArms(table, scan.eventBuckets)) return joinEventJson((await this.scanBucketsApart(scan)).map(eventJson));
    if (this.readers) return (await this.readers.scanJson(table, scan)) ?? emptyJoinedJson();
    return jsonTimeBucketScan(this.sql, this.texts, table, scan);
  }

  /** The statement of {@link mergedScanSql}, its text built once (a reused string is hashed once). */
  private mergedScan(table: SliceTable, buckets: number, rows: number) {
    return this.sql.stmt(this.texts.get(`m/${table.name}/${table.layout}/${buckets}/${rows}`, () => mergedScanSql(table, buckets, rows))).raw(true);
  }

  /** {@link scanTimeBucket} for slices with too many event buckets for one statement. */
  private async scanBucketsApart(scan: TimeBucketScan): Promise<EventRecord[]> {
    const all: EventRecord[] = [];
    for (let eb = 0; eb < scan.eventBuckets; eb++) {
      const part = await this.scanPartition({
        namespace: scan.namespace,
        sliceId: scan.sliceId,
        partition: { timeSeriesId: scan.timeSeriesId, timeBucket: scan.timeBucket, eventBucket: eb },
        fromMicros: scan.fromMicros,
        toMicros: scan.toMicros,
        ...(scan.after ? { after: scan.after } : {}),
        limit: scan.limit,
      });
      for (const e of part) all.push(e);
    }
    all.sort(compareNewestFirst);
    if (all.length > scan.limit) all.length = scan.limit;
    return all;
  }

  async dropNamespace(namespace: string): Promise<void> {
    const id = this.sql.namespaceId(namespace, false);
    if (id === undefined) return;
    const slices = [...this.slices(namespace).keys()];
    this.sql.transaction(() => {
      for (const sliceId of slices) this.sql.db.exec(`DROP TABLE IF EXISTS "${sliceTableName(id, sliceId)}"`);
      this.sql.stmt('DELETE FROM slices WHERE namespace_id = ?').run(id);
      this.sql.stmt('DELETE FROM index_outbox WHERE namespace = ?').run(namespace);
    });
    for (const sliceId of slices) {
      this.sql.forgetTable(sliceTableName(id, sliceId));
      this.layouts.delete(sliceTableName(id, sliceId));
    }
    this.sliceCache.delete(namespace);
  }
}
