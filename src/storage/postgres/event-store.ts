/**
 * PostgreSQL event store (DESIGN 3.2): one table per time slice, named from the
 * namespace's numeric id and the slice id (`ev_<nsId>_<sliceId>`), rows of one event item
 * each, unique on `(time_series_id, time_bucket, event_time DESC, event_id,
 * event_item_key)`, or, for tables created before schema version 5, on the same key with
 * `event_bucket` after `time_bucket` (`slices.layout`, schema.ts `SliceLayout`).
 * Retention drops whole tables. Slice DDL is serialised per namespace by an advisory lock,
 * so several instances may race safely.
 */
import { DgwError } from '../../kernel/errors.js';
import type {
  AppendOptions,
  EventItem,
  EventLocator,
  EventRecord,
  EventStore,
  EventWrite,
  IndexDoc,
  PackedEvents,
  PartitionScan,
  SliceInfo,
  SliceStatus,
  TimeBucketScan,
} from '../../storage/contracts.js';
import { appendTimeoutError, checkAppendTime, checkWrite, overlapError, validateSlice, validateStatus } from '../slice-rules.js';
import type { PgIndexStore } from './index-store.js';
import { decodeOutboxDoc, encodeOutboxDoc } from '../index-outbox.js';
import type { PgDb, Sql } from './database.js';
import { hasSqlState, UNDEFINED_TABLE } from './errors.js';
import {
  scanTimeBucket as scanMergedBuckets,
  scanTimeBucketPacked as scanMergedBucketsPacked,
  scanTimeOrdered,
  scanTimeOrderedPacked,
} from './merged-scan.js';
import { BUCKETED_LAYOUT, TIME_ORDERED_LAYOUT, type SliceLayout } from './schema.js';
import { emptyPacked } from '../../domain/packed-events.js';

/** Physical name of a slice table (ids only: never the raw namespace string). */
export function sliceTableName(nsId: number, sliceId: number): string {
  return `ev_${nsId}_${sliceId < 0 ? `m${-sliceId}` : sliceId}`;
}

interface SliceRow {
  slice_id: string;
  start_micros: string;
  end_micros: string;
  status: SliceStatus;
  seconds_per_time_bucket: number;
  event_buckets: number;
  layout: number;
}

/** A slice row as this instance knows it: the slice and the key of its table. */
interface KnownSlice {
  slice: SliceInfo;
  layout: SliceLayout;
}

interface ItemRow {
  event_time: string;
  event_id: string;
  event_item_key: string;
  event_item_value: Buffer;
}

const SLICE_COLUMNS = 'slice_id, start_micros, end_micros, status, seconds_per_time_bucket, event_buckets, layout';

function toSlice(r: SliceRow): SliceInfo {
  return {
    sliceId: Number(r.slice_id),
    startMicros: Number(r.start_micros),
    endMicros: Number(r.end_micros),
    status: r.status,
    secondsPerTimeBucket: r.seconds_per_time_bucket,
    eventBuckets: r.event_buckets,
  };
}

function toKnown(r: SliceRow): KnownSlice {
  return { slice: toSlice(r), layout: r.layout === TIME_ORDERED_LAYOUT ? TIME_ORDERED_LAYOUT : BUCKETED_LAYOUT };
}

/** Groups rows of items (ordered by event) into whole events. */
function toEvents(timeSeriesId: string, rows: readonly ItemRow[]): EventRecord[] {
  const events: EventRecord[] = [];
  let current: EventRecord | undefined;
  for (const row of rows) {
    const time = Number(row.event_time);
    if (!current || current.eventTimeMicros !== time || current.eventId !== row.event_id) {
      current = { timeSeriesId, eventTimeMicros: time, eventId: row.event_id, items: [] };
      events.push(current);
    }
    const item: EventItem = { key: row.event_item_key, value: new Uint8Array(row.event_item_value) };
    current.items.push(item);
  }
  return events;
}

/** The EventStore of the PostgreSQL adapter. */
export class PgEventStore implements EventStore {
  private readonly slices: string;
  private readonly outbox: string;
  /**
   * Slice rows seen by this instance, by `nsId/sliceId`, to check writes without a round
   * trip. Bounds never change; a status may be stale, but a dropped slice has no table, so
   * the INSERT itself fails and is reported as FAILED_PRECONDITION. A stale layout only
   * costs speed: either read of a time bucket is right on either key.
   */
  private readonly known = new Map<string, KnownSlice>();

  /**
   * @param index the index of the same database: `indexDocs` of an append commit with the events.
   * @param layout the key of the slice tables this instance creates (time-ordered unless a
   *   test recreates tables as they were before schema version 5).
   */
  constructor(
    private readonly db: PgDb,
    private readonly index?: PgIndexStore,
    private readonly layout: SliceLayout = TIME_ORDERED_LAYOUT,
  ) {
    this.slices = db.table('slices');
    this.outbox = db.table('index_outbox');
  }

  async listSlices(namespace: string): Promise<SliceInfo[]> {
    const nsId = await this.db.namespaceId(namespace, false);
    if (nsId === undefined) return [];
    const { rows } = await this.db.query<SliceRow>(
      `SELECT ${SLICE_COLUMNS} FROM ${this.slices} WHERE ns_id = $1 ORDER BY start_micros`,
      [nsId],
      true,
    );
    const known = rows.map(toKnown);
    for (const k of known) this.known.set(`${nsId}/${k.slice.sliceId}`, k);
    return known.map((k) => k.slice);
  }

  /** The slice row (cached), or undefined when the slice does not exist. */
  private async slice(nsId: number, sliceId: number): Promise<SliceInfo | undefined> {
    return (await this.lookup(nsId, sliceId))?.slice;
  }

  /** The slice row and its table's key (cached), or undefined when the slice does not exist. */
  private async lookup(nsId: number, sliceId: number): Promise<KnownSlice | undefined> {
    const key = `${nsId}/${sliceId}`;
    const cached = this.known.get(key);
    if (cached) return cached;
    const { rows } = await this.db.query<SliceRow>(
      `SELECT ${SLICE_COLUMNS} FROM ${this.slices} WHERE ns_id = $1 AND slice_id = $2`,
      [nsId, sliceId],
      true,
    );
    const known = rows[0] && toKnown(rows[0]);
    if (known) this.known.set(key, known);
    return known;
  }

  async createSlice(namespace: string, slice: SliceInfo): Promise<void> {
    validateSlice(slice);
    const nsId = (await this.db.namespaceId(namespace, true)) as number;
    const table = this.db.table(sliceTableName(nsId, slice.sliceId));
    await this.db.transaction(async (sql) => {
      await this.db.lock(sql, nsId);
      const existing = await sql.query(`SELECT 1 FROM ${this.slices} WHERE ns_id = $1 AND slice_id = $2`, [nsId, slice.sliceId]);
      if (existing.rowCount) return; // idempotent: keep the stored row
      const overlap = await sql.query<SliceRow>(
        `SELECT ${SLICE_COLUMNS} FROM ${this.slices} WHERE ns_id = $1 AND start_micros < $3 AND end_micros > $2 LIMIT 1`,
        [nsId, slice.startMicros, slice.endMicros],
      );
      const other = overlap.rows[0];
      if (other) throw overlapError(namespace, slice, toSlice(other));
      await sql.query(
        `CREATE TABLE IF NOT EXISTS ${table} (
           time_series_id text COLLATE "C" NOT NULL,
           time_bucket integer NOT NULL,
           event_bucket integer NOT NULL,
           event_time bigint NOT NULL,
           event_id text COLLATE "C" NOT NULL,
           event_item_key text COLLATE "C" NOT NULL,
           event_item_value bytea NOT NULL,
           value_metadata text)`,
      );
      // The key (schema.ts SliceLayout); appends dedupe on it (ON CONFLICT DO NOTHING).
      const key = this.layout === TIME_ORDERED_LAYOUT ? 'time_series_id, time_bucket' : 'time_series_id, time_bucket, event_bucket';
      await sql.query(
        `CREATE UNIQUE INDEX IF NOT EXISTS "${sliceTableName(nsId, slice.sliceId)}_key" ON ${table}
           (${key}, event_time DESC, event_id, event_item_key)`,
      );
      await sql.query(
        `INSERT INTO ${this.slices} (ns_id, slice_id, start_micros, end_micros, status, seconds_per_time_bucket, event_buckets, layout)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [nsId, slice.sliceId, slice.startMicros, slice.endMicros, slice.status, slice.secondsPerTimeBucket, slice.eventBuckets, this.layout],
      );
    });
  }

  async setSliceStatus(namespace: string, sliceId: number, status: SliceStatus): Promise<void> {
    validateStatus(status);
    const nsId = await this.db.namespaceId(namespace, false);
    const missing = () => new DgwError('NOT_FOUND', `slice ${sliceId} of namespace "${namespace}" does not exist`);
    if (nsId === undefined) throw missing();
    await this.db.transaction(async (sql) => {
      await this.db.lock(sql, nsId);
      const { rows } = await sql.query<{ status: SliceStatus }>(
        `SELECT status FROM ${this.slices} WHERE ns_id = $1 AND slice_id = $2`,
        [nsId, sliceId],
      );
      const current = rows[0]?.status;
      if (current === undefined) throw missing();
      if (current === status) return;
      if (current === 'DROPPED') {
        throw new DgwError('FAILED_PRECONDITION', `slice ${sliceId} of namespace "${namespace}" was dropped; it cannot become ${status}`);
      }
      await sql.query(`UPDATE ${this.slices} SET status = $3 WHERE ns_id = $1 AND slice_id = $2`, [nsId, sliceId, status]);
      this.known.delete(`${nsId}/${sliceId}`);
      if (status === 'DROPPED') await sql.query(`DROP TABLE IF EXISTS ${this.db.table(sliceTableName(nsId, sliceId))}`);
    });
  }

  async appendEvents(writes: readonly EventWrite[], options?: AppendOptions): Promise<void> {
    checkAppendTime(options);
    const started = performance.now();
    const docs = options?.indexDocs ?? [];
    const outbox = options?.outboxDocs ?? [];
    if (docs.length > 0 && !this.index) throw new DgwError('INTERNAL', 'postgres event store: no index to commit indexDocs to');
    if (writes.length === 0 && docs.length === 0 && outbox.length === 0) return;
    // One multi-row INSERT per slice table (arrays + unnest: a fixed, prepared statement
    // whatever the batch size), all in one commit.
    const groups = new Map<string, { namespace: string; sliceId: number; cols: unknown[][] }>();
    for (const [index, w] of writes.entries()) {
      const nsId = await this.db.namespaceId(w.namespace, false);
      try {
        checkWrite(w, index, nsId === undefined ? undefined : await this.slice(nsId, w.sliceId));
      } catch (err) {
        // The cached row may be stale (namespace dropped and re-created elsewhere): re-read once.
        if (nsId === undefined || !this.known.delete(`${nsId}/${w.sliceId}`)) throw err;
        checkWrite(w, index, await this.slice(nsId, w.sliceId));
      }
      const groupKey = `${w.sliceId}/${w.namespace}`;
      let group = groups.get(groupKey);
      if (!group) {
        group = { namespace: w.namespace, sliceId: w.sliceId, cols: [[], [], [], [], [], [], []] };
        groups.set(groupKey, group);
      }
      const [ts, tb, eb, et, eid, key, val] = group.cols as [unknown[], unknown[], unknown[], unknown[], unknown[], unknown[], unknown[]];
      for (const item of w.event.items) {
        ts.push(w.partition.timeSeriesId);
        tb.push(w.partition.timeBucket);
        eb.push(w.partition.eventBucket);
        et.push(w.event.eventTimeMicros);
        eid.push(w.event.eventId);
        key.push(item.key);
        val.push(item.value);
      }
    }
    const statements: { text: string; values: unknown[]; namespace: string; sliceId: number }[] = [];
    for (const group of groups.values()) {
      const nsId = (await this.db.namespaceId(group.namespace, false)) as number;
      const table = this.db.table(sliceTableName(nsId, group.sliceId));
      statements.push({
        namespace: group.namespace,
        sliceId: group.sliceId,
        values: group.cols,
        text: `INSERT INTO ${table} (time_series_id, time_bucket, event_bucket, event_time, event_id, event_item_key, event_item_value)
                 SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::bigint[], $5::text[], $6::text[], $7::bytea[])
                 ON CONFLICT DO NOTHING`,
      });
    }
    const run = async (sql: Sql) => {
      for (const st of statements) {
        try {
          await sql.query(st.text, st.values, true);
        } catch (err) {
          if (hasSqlState(err, UNDEFINED_TABLE)) throw this.noSlice(st.namespace, st.sliceId);
          throw err;
        }
      }
    };
    const indexRun = docs.length > 0 ? await this.index?.prepareIndex(docs) : undefined;
    const outboxRun =
      outbox.length > 0
        ? (sql: Sql) =>
            sql.query(
              `INSERT INTO ${this.outbox} (namespace, event_time, time_series_id, event_id, doc)
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[])
                 ON CONFLICT DO NOTHING`,
              [outbox.map((d) => d.namespace), outbox.map((d) => d.event.eventTimeMicros), outbox.map((d) => d.event.timeSeriesId), outbox.map((d) => d.event.eventId), outbox.map(encodeOutboxDoc)],
              true,
            )
        : undefined;
    const all = async (sql: Sql) => {
      await run(sql);
      await indexRun?.(sql);
      await outboxRun?.(sql);
    };
    const single = statements.length === 1 && !indexRun && !outboxRun;
    const timeout = options?.timeoutMicros;
    if (timeout !== undefined) {
      // Bounded: committed within the time left, or rolled back (issue 14 item 2). One
      // statement goes in one round trip when the time left allows its fixed timeout
      // (database.ts boundedStatement, issue 9); otherwise BEGIN, INSERT, COMMIT.
      // Time left is measured at each call: the one-trip path may have waited for a connection.
      const bound = () => ({
        timeoutMs: timeout / 1000 - (performance.now() - started),
        onTimeout: (cause?: unknown) => appendTimeoutError(timeout, cause),
      });
      if (!(single && (await this.db.boundedStatement(run, bound())))) await this.db.transaction(all, bound());
    } else if (single) {
      // A single statement is its own transaction: no BEGIN/COMMIT round trips.
      await run(this.db);
    } else {
      await this.db.transaction(all);
    }
  }

  async findEvents(locators: readonly EventLocator[]): Promise<boolean[]> {
    const found = locators.map(() => false);
    const groups = new Map<string, { namespace: string; sliceId: number; indexes: number[] }>();
    locators.forEach((l, i) => {
      const groupKey = `${l.sliceId}/${l.namespace}`;
      const group = groups.get(groupKey) ?? { namespace: l.namespace, sliceId: l.sliceId, indexes: [] };
      group.indexes.push(i);
      groups.set(groupKey, group);
    });
    await Promise.all(
      [...groups.values()].map(async (group) => {
        const nsId = await this.db.namespaceId(group.namespace, false);
        if (nsId === undefined) return;
        const ls = group.indexes.map((i) => locators[i] as EventLocator);
        try {
          const { rows } = await this.db.query<{ i: string }>(
            `SELECT u.i FROM unnest($1::text[], $2::int[], $3::int[], $4::bigint[], $5::text[])
                 WITH ORDINALITY AS u(ts, tb, eb, et, eid, i)
               WHERE EXISTS (SELECT 1 FROM ${this.db.table(sliceTableName(nsId, group.sliceId))} t
                 WHERE t.time_series_id = u.ts AND t.time_bucket = u.tb AND t.event_bucket = u.eb
                   AND t.event_time = u.et AND t.event_id = u.eid)`,
            [
              ls.map((l) => l.partition.timeSeriesId),
              ls.map((l) => l.partition.timeBucket),
              ls.map((l) => l.partition.eventBucket),
              ls.map((l) => l.eventTimeMicros),
              ls.map((l) => l.eventId),
            ],
            true,
          );
          for (const row of rows) {
            const index = group.indexes[Number(row.i) - 1];
            if (index !== undefined) found[index] = true;
          }
        } catch (err) {
          if (!hasSqlState(err, UNDEFINED_TABLE)) throw err; // missing or dropped slice: not stored
        }
      }),
    );
    return found;
  }

  async scanPartition(scan: PartitionScan): Promise<EventRecord[]> {
    const nsId = await this.db.namespaceId(scan.namespace, false);
    if (nsId === undefined || scan.limit < 1) return [];
    const table = this.db.table(sliceTableName(nsId, scan.sliceId));
    const p = scan.partition;
    const values: unknown[] = [p.timeSeriesId, p.timeBucket, p.eventBucket, scan.fromMicros, scan.toMicros, scan.limit];
    let cursor = '';
    if (scan.after) {
      values.push(scan.after.eventTimeMicros, scan.after.eventId);
      cursor = 'AND (event_time < $7 OR (event_time = $7 AND event_id > $8))';
    }
    try {
      // One ordered index scan: dense_rank numbers whole events, and its run condition
      // (PostgreSQL 15+) stops the scan once `limit` events are read.
      const { rows } = await this.db.query<ItemRow>(
        `SELECT event_time, event_id, event_item_key, event_item_value FROM (
           SELECT event_time, event_id, event_item_key, event_item_value,
                  dense_rank() OVER (ORDER BY event_time DESC, event_id) AS n
             FROM ${table}
            WHERE time_series_id = $1 AND time_bucket = $2 AND event_bucket = $3
              AND event_time >= $4 AND event_time < $5 ${cursor}) ranked
          WHERE n <= $6
          ORDER BY event_time DESC, event_id, event_item_key`,
        values,
        true,
      );
      return toEvents(p.timeSeriesId, rows);
    } catch (err) {
      if (hasSqlState(err, UNDEFINED_TABLE)) return [];
      throw err;
    }
  }

  /**
   * A time bucket of a series (merged-scan.ts): one range read by one statement in a
   * time-ordered table; in a bucketed one the event buckets merged with one round trip per
   * refill.
   */
  async scanTimeBucket(scan: TimeBucketScan): Promise<EventRecord[]> {
    if (scan.limit < 1 || scan.eventBuckets < 1) return [];
    const nsId = await this.db.namespaceId(scan.namespace, false);
    if (nsId === undefined) return [];
    const known = await this.lookup(nsId, scan.sliceId);
    if (!known) return [];
    const table = this.db.table(sliceTableName(nsId, scan.sliceId));
    return known.layout === TIME_ORDERED_LAYOUT ? scanTimeOrdered(this.db, table, scan) : scanMergedBuckets(this.db, table, scan);
  }

  /**
   * {@link scanTimeBucket} in packed form (domain/packed-events.ts, issue 9): the same
   * statements, rows in array mode with values as hex (merged-scan.ts).
   */
  async scanTimeBucketPacked(scan: TimeBucketScan): Promise<PackedEvents> {
    if (scan.limit < 1 || scan.eventBuckets < 1) return emptyPacked();
    const nsId = await this.db.namespaceId(scan.namespace, false);
    if (nsId === undefined) return emptyPacked();
    const known = await this.lookup(nsId, scan.sliceId);
    if (!known) return emptyPacked();
    const table = this.db.table(sliceTableName(nsId, scan.sliceId));
    return known.layout === TIME_ORDERED_LAYOUT ? scanTimeOrderedPacked(this.db, table, scan) : scanMergedBucketsPacked(this.db, table, scan);
  }

  async dropNamespace(namespace: string): Promise<void> {
    const nsId = await this.db.namespaceId(namespace, false);
    if (nsId === undefined) return;
    await this.db.transaction(async (sql) => {
      await this.db.lock(sql, nsId);
      const { rows } = await sql.query<{ slice_id: string }>(`SELECT slice_id FROM ${this.slices} WHERE ns_id = $1`, [nsId]);
      for (const row of rows) await sql.query(`DROP TABLE IF EXISTS ${this.db.table(sliceTableName(nsId, Number(row.slice_id)))}`);
      await sql.query(`DELETE FROM ${this.slices} WHERE ns_id = $1`, [nsId]);
      await sql.query(`DELETE FROM ${this.outbox} WHERE namespace = $1`, [namespace]);
    });
    for (const key of this.known.keys()) if (key.startsWith(`${nsId}/`)) this.known.delete(key);
  }

  async readIndexOutbox(namespace: string, limit: number): Promise<IndexDoc[]> {
    const { rows } = await this.db.query<{ doc: string }>(`SELECT doc FROM ${this.outbox} WHERE namespace = $1 ORDER BY seq LIMIT $2`, [namespace, limit]);
    return rows.map((r) => decodeOutboxDoc(r.doc));
  }

  async clearIndexOutbox(docs: readonly IndexDoc[]): Promise<void> {
    if (docs.length === 0) return;
    await this.db.query(
      `DELETE FROM ${this.outbox} o USING unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) AS d(namespace, event_time, time_series_id, event_id)
         WHERE o.namespace = d.namespace AND o.event_time = d.event_time AND o.time_series_id = d.time_series_id AND o.event_id = d.event_id`,
      [docs.map((d) => d.namespace), docs.map((d) => d.event.eventTimeMicros), docs.map((d) => d.event.timeSeriesId), docs.map((d) => d.event.eventId)],
    );
  }

  private noSlice(namespace: string, sliceId: number): DgwError {
    return new DgwError(
      'FAILED_PRECONDITION',
      `slice ${sliceId} of namespace "${namespace}" does not exist or was dropped; nothing of the batch was written`,
    );
  }
}
