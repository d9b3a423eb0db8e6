/**
 * PostgreSQL rollup store (DESIGN 4.3): one row per counter with an exact NUMERIC count
 * (read back as a decimal string, parsed to bigint), the checkpoint and the last write
 * time. `advance` is a conditional upsert (`WHERE last_rollup_ts < new`), so concurrent
 * rollups on several instances converge without locks; `recordWrites` keeps the maximum.
 */
import type { CounterWriteMark, RollupAdvance, RollupCheckpoint, RollupRead, RollupRow, RollupStore } from '../contracts.js';
import { checkInt64, INITIAL_ROLLUP_TS_MICROS as NO_ROLLUP_TS } from '../rollup-rules.js';
import type { Clock } from '../../kernel/clock.js';
import type { PgDb } from './database.js';

/** PostgreSQL's clock in epoch microseconds: every instance sharing the store sees the same one. */
const PG_NOW_MICROS = '(extract(epoch from clock_timestamp()) * 1000000)::bigint';

/** The RollupStore of the PostgreSQL adapter. */
export class PgRollupStore implements RollupStore {
  private readonly rollups: string;

  /** `holdClock` replaces PostgreSQL's clock for holds (tests on a manual clock only). */
  constructor(
    private readonly db: PgDb,
    private readonly holdClock?: Pick<Clock, 'nowMicros'>,
  ) {
    this.rollups = db.table('rollups');
  }

  async recordWrites(marks: readonly CounterWriteMark[]): Promise<void> {
    if (marks.length === 0) return;
    // One row may be touched once per statement: keep the max and min per counter. Sorting
    // gives every instance the same row-lock order, so concurrent batches cannot deadlock.
    const spans = new Map<string, { namespace: string; counter: string; first: number; last: number }>();
    for (const m of marks) {
      const key = `${m.namespace}\u0000${m.counter}`;
      const seen = spans.get(key);
      if (!seen) spans.set(key, { namespace: m.namespace, counter: m.counter, first: m.eventTimeMicros, last: m.eventTimeMicros });
      else {
        seen.first = Math.min(seen.first, m.eventTimeMicros);
        seen.last = Math.max(seen.last, m.eventTimeMicros);
      }
    }
    const rows = [...spans.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, m]) => m);
    await this.db.query(
      `INSERT INTO ${this.rollups} AS r (namespace, counter, last_rollup_count, last_rollup_ts, last_write_ts, first_write_ts)
         SELECT ns, c, 0, ${NO_ROLLUP_TS}, t, f FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS u(ns, c, t, f)
         ON CONFLICT (namespace, counter)
         DO UPDATE SET last_write_ts = GREATEST(r.last_write_ts, EXCLUDED.last_write_ts),
                       first_write_ts = CASE WHEN r.first_write_ts = 0 THEN 0 ELSE LEAST(r.first_write_ts, EXCLUDED.first_write_ts) END
         WHERE r.last_write_ts < EXCLUDED.last_write_ts OR r.first_write_ts > EXCLUDED.first_write_ts`,
      [rows.map((m) => m.namespace), rows.map((m) => m.counter), rows.map((m) => m.last), rows.map((m) => m.first)],
      true,
    );
  }

  async claimWrites(marks: readonly CounterWriteMark[], holdMicros: number): Promise<boolean[]> {
    if (marks.length === 0) return [];
    // Claims are rare (writes a rollup could reach soon): one statement per mark, in order,
    // in one transaction (one commit).
    const NOW = `COALESCE($5::bigint, ${PG_NOW_MICROS})`;
    return this.db.transaction(async (sql) => {
      const out: boolean[] = [];
      for (const m of marks) {
        const { rowCount } = await sql.query(
          `INSERT INTO ${this.rollups} AS r
             (namespace, counter, last_rollup_count, last_rollup_ts, last_write_ts, first_write_ts, hold_ts, hold_until)
             VALUES ($1, $2, 0, ${NO_ROLLUP_TS}, $3, $3, $3, ${NOW} + $4)
           ON CONFLICT (namespace, counter) DO UPDATE SET
             last_write_ts = GREATEST(r.last_write_ts, EXCLUDED.last_write_ts),
             first_write_ts = CASE WHEN r.first_write_ts = 0 THEN 0 ELSE LEAST(r.first_write_ts, EXCLUDED.first_write_ts) END,
             hold_ts = CASE WHEN r.hold_until > ${NOW} THEN LEAST(r.hold_ts, EXCLUDED.hold_ts) ELSE EXCLUDED.hold_ts END,
             hold_until = GREATEST(r.hold_until, EXCLUDED.hold_until)
           WHERE r.last_rollup_ts < EXCLUDED.last_write_ts`,
          [m.namespace, m.counter, m.eventTimeMicros, holdMicros, this.holdClock?.nowMicros() ?? null],
        );
        out.push(rowCount === 1);
      }
      return out;
    });
  }

  async readForRollup(namespace: string, counter: string): Promise<RollupRead | undefined> {
    const { rows } = await this.db.query<{ c: string; r: string; w: string; f: string; ht: string; hu: string; now: string }>(
      `SELECT last_rollup_count::text AS c, last_rollup_ts AS r, last_write_ts AS w, first_write_ts AS f,
              hold_ts AS ht, hold_until AS hu, COALESCE($3::bigint, ${PG_NOW_MICROS}) AS now
         FROM ${this.rollups} WHERE namespace = $1 AND counter = $2`,
      [namespace, counter, this.holdClock?.nowMicros() ?? null],
      true,
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      ...rollupRow(row),
      holdTsMicros: Number(row.ht),
      holdUntilMicros: Number(row.hu),
      readAtMicros: Number(row.now),
    };
  }

  async get(namespace: string, counter: string): Promise<RollupRow | undefined> {
    const row = await this.readForRollup(namespace, counter);
    if (!row) return undefined;
    const { lastRollupCount, lastRollupTsMicros, lastWriteTsMicros, firstWriteTsMicros } = row;
    return { lastRollupCount, lastRollupTsMicros, lastWriteTsMicros, firstWriteTsMicros };
  }


  async getMany(namespace: string, counters: readonly string[]): Promise<(RollupRow | undefined)[]> {
    if (counters.length <= 1) return Promise.all(counters.map((c) => this.get(namespace, c)));
    // One statement for all: a round trip and a parse per counter was most of what a batch
    // of adds' mark confirmations cost (issue 9).
    const distinct = [...new Set(counters)];
    const { rows } = await this.db.query<{ k: string; c: string; r: string; w: string; f: string }>(
      `SELECT counter AS k, last_rollup_count::text AS c, last_rollup_ts AS r, last_write_ts AS w, first_write_ts AS f
         FROM ${this.rollups} WHERE namespace = $1 AND counter = ANY($2::text[])`,
      [namespace, distinct],
      true,
    );
    const found = new Map<string, RollupRow>();
    for (const row of rows) found.set(row.k, rollupRow(row));
    return counters.map((c) => found.get(c));
  }

  /**
   * Counters in parallel, each on its own pooled connection (PostgreSQL shares WAL flushes
   * between concurrent commits); a counter's own items one after the other, in order, as
   * the contract says: in parallel, a later item could commit first and the earlier one
   * report "not applied" (a CI run of the conformance suite did).
   */
  async advanceMany(items: readonly RollupAdvance[]): Promise<boolean[]> {
    const last = new Map<string, Promise<unknown>>();
    return Promise.all(
      items.map(({ namespace, counter, next, readAtMicros, firstWriteTsMicros }) => {
        const key = `${namespace}\u0000${counter}`;
        const previous = last.get(key);
        const run = () => this.advance(namespace, counter, next, readAtMicros, firstWriteTsMicros);
        const applied = previous === undefined ? run() : previous.then(run, run);
        last.set(key, applied);
        return applied;
      }),
    );
  }

  async advance(namespace: string, counter: string, next: RollupCheckpoint, readAtMicros?: number, firstWriteTsMicros?: number): Promise<boolean> {
    checkInt64(next.count, 'advance');
    if (readAtMicros !== undefined) {
      // A rollup that read the row only updates it: a row dropped with its namespace since is
      // not made again, nor one made again by another incarnation's marks (issue 15).
      const { rowCount } = await this.db.query(
        `UPDATE ${this.rollups} AS r SET last_rollup_count = $3::numeric, last_rollup_ts = $4
           WHERE namespace = $1 AND counter = $2 AND r.last_rollup_ts < $4
             AND NOT (r.hold_until > $5::bigint AND r.hold_ts <= $4)
             AND ($6::bigint IS NULL OR r.first_write_ts = $6::bigint)`,
        [namespace, counter, next.count.toString(), next.rollupTsMicros, readAtMicros, firstWriteTsMicros ?? null],
        true,
      );
      return rowCount === 1;
    }
    const { rowCount } = await this.db.query(
      `INSERT INTO ${this.rollups} AS r (namespace, counter, last_rollup_count, last_rollup_ts, last_write_ts)
         VALUES ($1, $2, $3::numeric, $4, $5)
         ON CONFLICT (namespace, counter)
         DO UPDATE SET last_rollup_count = EXCLUDED.last_rollup_count, last_rollup_ts = EXCLUDED.last_rollup_ts
         WHERE r.last_rollup_ts < EXCLUDED.last_rollup_ts
           AND ($6::bigint IS NULL OR NOT (r.hold_until > $6::bigint AND r.hold_ts <= EXCLUDED.last_rollup_ts))`,
      [namespace, counter, next.count.toString(), next.rollupTsMicros, NO_ROLLUP_TS, readAtMicros ?? null],
      true,
    );
    return rowCount === 1;
  }

  async laggingCounters(namespace: string, afterCounter: string, limit: number): Promise<string[]> {
    const { rows } = await this.db.query<{ counter: string }>(
      `SELECT counter FROM ${this.rollups}
         WHERE namespace = $1 AND counter > $2 AND last_write_ts > last_rollup_ts ORDER BY counter LIMIT $3`,
      [namespace, afterCounter, limit],
      true,
    );
    return rows.map((r) => r.counter);
  }

  async dropNamespace(namespace: string): Promise<void> {
    await this.db.query(`DELETE FROM ${this.rollups} WHERE namespace = $1`, [namespace]);
  }
}

/** A rollup row from the columns `c`, `r`, `w`, `f` of the statements above (count as text: int64). */
function rollupRow(row: { c: string; r: string; w: string; f: string }): RollupRow {
  return { lastRollupCount: BigInt(row.c), lastRollupTsMicros: Number(row.r), lastWriteTsMicros: Number(row.w), firstWriteTsMicros: Number(row.f) };
}
