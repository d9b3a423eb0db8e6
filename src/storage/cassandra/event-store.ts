/**
 * The Cassandra EventStore (DESIGN 3.2): one table per time slice, partition key
 * (time_series_id, time_bucket, event_bucket), one row per event item clustered newest
 * first by (event_time DESC, event_id, item_key), plus a slice metadata table.
 *
 * First write wins. Cassandra keeps, per cell, the write with the highest timestamp. Event
 * items are written `USING TIMESTAMP 2^62 - now`: a later rewrite of the same idempotency
 * key carries a smaller timestamp and loses on every replica, in every repair, whatever
 * order the replicas receive the writes in. No read before write, no Paxos round. Limit:
 * two writers racing on one key with different bytes within their clocks' skew may see
 * the one with the later clock reading win (core checks clock offsets at start-up).
 *
 * Appends: every target slice is checked before anything is written (a bad write refuses
 * the whole call), then items are sent as UNLOGGED batches of one partition each, in
 * parallel. A call that fails part-way may have stored some partitions; its retry is
 * harmless (first write wins), and an acknowledged call has stored everything at the
 * configured consistency.
 */
import { DgwError } from '../../kernel/errors.js';
import type {
  AppendOptions,
  EventLocator,
  EventRecord,
  EventStore,
  EventWrite,
  PartitionScan,
  SliceInfo,
  SliceStatus,
} from '../contracts.js';
import { checkAppendTime, checkWrite, overlapError, validateSlice, validateStatus } from '../slice-rules.js';
import type { BoundStatement, CassandraDb } from './database.js';
import { TableMissingError } from './database.js';
import type { DdlLease } from './ddl-lease.js';
import { sliceTable } from './names.js';
import { SLICES_TABLE, sliceTableDdl } from './schema.js';

/** Base of the inverted write timestamps (far above any real microsecond clock). */
const FIRST_WINS_BASE = 2n ** 62n;
/** Bytes of item data per batch: below Cassandra's default 50 KiB batch failure threshold. */
const BATCH_BYTES = 40 * 1024;
/** Partition batches in flight per appendEvents call. */
const PARALLEL_BATCHES = 32;

interface SliceRow extends SliceInfo {
  table: string;
}

/** Runs `fn` over `items` with at most `width` in flight; rejects with the first error. */
export async function forEachLimited<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/** EventStore on Cassandra; see the file header for the write and idempotency design. */
export class CassandraEventStore implements EventStore {
  /** Slice rows by namespace, refreshed from Cassandra on a miss. */
  private readonly slices = new Map<string, SliceRow[]>();

  constructor(
    private readonly db: CassandraDb,
    private readonly lease: DdlLease,
    private readonly nowMicros: () => number,
  ) {}

  async listSlices(namespace: string): Promise<SliceInfo[]> {
    return (await this.loadSlices(namespace)).map(({ table: _table, ...info }) => info);
  }

  private async loadSlices(namespace: string): Promise<SliceRow[]> {
    const rs = await this.db.execute(
      `SELECT slice_id, start_micros, end_micros, status, seconds_per_time_bucket, event_buckets FROM ${this.db.table(SLICES_TABLE)} WHERE namespace = ?`,
      [namespace],
      { idempotent: true },
    );
    const rows: SliceRow[] = rs.rows.map((r) => {
      const sliceId = Number(r.get('slice_id'));
      return {
        sliceId,
        startMicros: Number(r.get('start_micros')),
        endMicros: Number(r.get('end_micros')),
        status: r.get('status') as SliceStatus,
        secondsPerTimeBucket: Number(r.get('seconds_per_time_bucket')),
        eventBuckets: Number(r.get('event_buckets')),
        table: sliceTable(namespace, sliceId),
      };
    });
    this.slices.set(namespace, rows);
    return rows;
  }

  /** The slice row, from the cache or (on a miss) from Cassandra. */
  private async sliceOf(namespace: string, sliceId: number): Promise<SliceRow | undefined> {
    const hit = this.slices.get(namespace)?.find((s) => s.sliceId === sliceId);
    if (hit) return hit;
    return (await this.loadSlices(namespace)).find((s) => s.sliceId === sliceId);
  }

  async createSlice(namespace: string, slice: SliceInfo): Promise<void> {
    validateSlice(slice);
    const check = (rows: SliceRow[]): boolean => {
      for (const s of rows) {
        if (s.sliceId === slice.sliceId) return false;
        if (s.startMicros < slice.endMicros && slice.startMicros < s.endMicros) throw overlapError(namespace, slice, s);
      }
      return true;
    };
    // Cheap path without the lease: slices made ahead of need usually exist already.
    if (!check(await this.loadSlices(namespace))) return;
    await this.lease.run(`createSlice ${namespace}/${slice.sliceId}`, async () => {
      if (!check(await this.loadSlices(namespace))) return;
      const table = sliceTable(namespace, slice.sliceId);
      await this.db.schemaChange(sliceTableDdl(this.db.table(table)));
      // The row comes after the table: a listed slice always has its table.
      await this.db.execute(
        `INSERT INTO ${this.db.table(SLICES_TABLE)} (namespace, start_micros, slice_id, end_micros, status, seconds_per_time_bucket, event_buckets) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        [namespace, BigInt(slice.startMicros), BigInt(slice.sliceId), BigInt(slice.endMicros), slice.status, slice.secondsPerTimeBucket, slice.eventBuckets],
        { idempotent: true },
      );
      await this.loadSlices(namespace);
    });
  }

  async setSliceStatus(namespace: string, sliceId: number, status: SliceStatus): Promise<void> {
    validateStatus(status);
    const found = await this.sliceOf(namespace, sliceId);
    if (!found) throw new DgwError('NOT_FOUND', `namespace ${namespace} has no slice ${sliceId}`);
    await this.lease.run(`setSliceStatus ${namespace}/${sliceId} ${status}`, async () => {
      await this.db.execute(
        `UPDATE ${this.db.table(SLICES_TABLE)} SET status = ? WHERE namespace = ? AND start_micros = ?`,
        [status, namespace, BigInt(found.startMicros)],
        { idempotent: true },
      );
      // Retention: the table goes, with no tombstones (auto_snapshot must be off to free disk).
      if (status === 'DROPPED') await this.db.schemaChange(`DROP TABLE IF EXISTS ${this.db.table(found.table)}`);
      await this.loadSlices(namespace);
    });
  }

  async appendEvents(writes: readonly EventWrite[], options?: AppendOptions): Promise<void> {
    // A spent accept window: refuse before writing anything (issue 14 item 2). Cassandra
    // cannot roll back a write already sent, so a longer bound is not enforced here yet.
    checkAppendTime(options);
    // 1. Check every target first: one bad write refuses the call with nothing stored.
    const tables: string[] = [];
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i]!;
      const slice = await this.sliceOf(w.namespace, w.sliceId);
      checkWrite(w, i, slice);
      tables.push(slice!.table);
    }
    // 2. Group items by partition; split partitions into batches of bounded size.
    const ts = FIRST_WINS_BASE - BigInt(Math.floor(this.nowMicros()));
    const groups = new Map<string, BoundStatement[][]>();
    const sizes = new Map<string, number>();
    writes.forEach((w, i) => {
      const table = this.db.table(tables[i]!);
      const p = w.partition;
      const key = `${table}\u0000${p.timeSeriesId}\u0000${p.timeBucket}\u0000${p.eventBucket}`;
      const query = `INSERT INTO ${table} (time_series_id, time_bucket, event_bucket, event_time, event_id, item_key, value) VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?`;
      let batches = groups.get(key);
      if (!batches) groups.set(key, (batches = [[]]));
      for (const item of w.event.items) {
        const bytes = item.value.byteLength + item.key.length + w.event.eventId.length + 64;
        const used = sizes.get(key) ?? 0;
        if (used + bytes > BATCH_BYTES && batches[batches.length - 1]!.length > 0) {
          batches.push([]);
          sizes.set(key, 0);
        }
        sizes.set(key, (sizes.get(key) ?? 0) + bytes);
        batches[batches.length - 1]!.push({
          query,
          params: [
            p.timeSeriesId,
            BigInt(p.timeBucket),
            p.eventBucket,
            BigInt(w.event.eventTimeMicros),
            w.event.eventId,
            item.key,
            Buffer.from(item.value.buffer, item.value.byteOffset, item.value.byteLength),
            ts,
          ],
        });
      }
    });
    const all = [...groups.entries()].flatMap(([key, batches]) => batches.map((b) => ({ table: key.slice(0, key.indexOf('\u0000')), b })));
    try {
      await forEachLimited(all, PARALLEL_BATCHES, ({ table, b }) => this.db.onTable(table.slice(table.indexOf('.') + 1), () => this.db.batch(b, true)));
    } catch (err) {
      if (err instanceof TableMissingError) {
        this.slices.clear(); // another instance dropped a slice: reload on the next call
        throw new DgwError('FAILED_PRECONDITION', `appendEvents: slice table ${err.table} was dropped meanwhile`, { cause: err });
      }
      throw err;
    }
  }

  async findEvents(locators: readonly EventLocator[]): Promise<boolean[]> {
    return Promise.all(
      locators.map(async (l) => {
        const slice = await this.sliceOf(l.namespace, l.sliceId);
        if (!slice || slice.status === 'DROPPED') return false;
        const p = l.partition;
        try {
          const rs = await this.db.onTable(slice.table, () =>
            this.db.execute(
              `SELECT item_key FROM ${this.db.table(slice.table)} WHERE time_series_id = ? AND time_bucket = ? AND event_bucket = ? AND event_time = ? AND event_id = ? LIMIT 1`,
              [p.timeSeriesId, BigInt(p.timeBucket), p.eventBucket, BigInt(l.eventTimeMicros), l.eventId],
              { idempotent: true },
            ),
          );
          return rs.rowLength > 0;
        } catch (err) {
          if (err instanceof TableMissingError) return false;
          throw err;
        }
      }),
    );
  }

  async scanPartition(scan: PartitionScan): Promise<EventRecord[]> {
    if (!Number.isSafeInteger(scan.limit) || scan.limit < 1) throw new DgwError('INVALID_ARGUMENT', 'limit: must be a positive integer');
    const slice = await this.sliceOf(scan.namespace, scan.sliceId);
    if (!slice || slice.status === 'DROPPED') return [];
    const table = this.db.table(slice.table);
    const p = scan.partition;
    const key = [p.timeSeriesId, BigInt(p.timeBucket), p.eventBucket];
    const cols = `SELECT event_time, event_id, item_key, value FROM ${table} WHERE time_series_id = ? AND time_bucket = ? AND event_bucket = ?`;
    try {
      return await this.db.onTable(slice.table, async () => {
        const out: EventRecord[] = [];
        let upper = scan.toMicros;
        const after = scan.after;
        if (after) {
          // Newest first: after (t, id) is the rest of time t with a larger id, then times < t.
          if (after.eventTimeMicros >= scan.fromMicros && after.eventTimeMicros < scan.toMicros) {
            await this.collect(`${cols} AND event_time = ? AND event_id > ?`, [...key, BigInt(after.eventTimeMicros), after.eventId], scan, out);
          }
          upper = Math.min(upper, after.eventTimeMicros);
        }
        if (out.length < scan.limit && upper > scan.fromMicros) {
          await this.collect(`${cols} AND event_time >= ? AND event_time < ?`, [...key, BigInt(scan.fromMicros), BigInt(upper)], scan, out);
        }
        return out;
      });
    } catch (err) {
      if (err instanceof TableMissingError) return [];
      throw err;
    }
  }

  /** Pages through a query's rows, folding items into whole events until `limit`. */
  private async collect(query: string, params: unknown[], scan: PartitionScan, out: EventRecord[]): Promise<void> {
    let pageState: string | undefined;
    let current: EventRecord | undefined;
    const fetchSize = Math.min(5000, scan.limit * 4 + 1);
    for (;;) {
      const rs = await this.db.execute(query, params, { idempotent: true, fetchSize, ...(pageState ? { pageState } : {}) });
      for (const r of rs.rows) {
        const time = Number(r.get('event_time'));
        const id = r.get('event_id') as string;
        if (!current || current.eventTimeMicros !== time || current.eventId !== id) {
          if (out.length === scan.limit) return; // the next event starts: this one is whole
          current = { timeSeriesId: scan.partition.timeSeriesId, eventTimeMicros: time, eventId: id, items: [] };
          out.push(current);
        }
        const value = r.get('value') as Buffer | null;
        current.items.push({ key: r.get('item_key') as string, value: value ? new Uint8Array(value) : new Uint8Array(0) });
      }
      pageState = rs.pageState ?? undefined;
      if (!pageState) return;
    }
  }

  async dropNamespace(namespace: string): Promise<void> {
    await this.lease.run(`dropNamespace ${namespace}`, async () => {
      const rows = await this.loadSlices(namespace);
      for (const s of rows) await this.db.schemaChange(`DROP TABLE IF EXISTS ${this.db.table(s.table)}`);
      await this.db.execute(`DELETE FROM ${this.db.table(SLICES_TABLE)} WHERE namespace = ?`, [namespace], { idempotent: true });
      this.slices.delete(namespace);
    });
  }
}
