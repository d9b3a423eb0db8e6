/**
 * The SQLite RollupStore (DESIGN 4.3): one row per counter; counts are exact int64 (read
 * with safeIntegers, so bigints round-trip); the checkpoint moves only forward through a
 * conditional upsert.
 */
import type { Clock } from '../../kernel/clock.js';
import type { CounterWriteMark, RollupAdvance, RollupCheckpoint, RollupRead, RollupRow, RollupStore } from '../contracts.js';
import { checkInt64, INITIAL_ROLLUP_TS_MICROS } from '../rollup-rules.js';
import type { SqliteDatabase } from './database.js';

/** A RollupStore on a SqliteDatabase; holds run on `clock` (one process owns the file). */
export class SqliteRollupStore implements RollupStore {
  constructor(
    private readonly sql: SqliteDatabase,
    private readonly clock: Pick<Clock, 'nowMicros'> = { nowMicros: () => Date.now() * 1000 },
  ) {}

  async recordWrites(marks: readonly CounterWriteMark[]): Promise<void> {
    if (marks.length === 0) return;
    const upsert = this.sql.stmt(
      'INSERT INTO rollups (namespace, counter, last_rollup_count, last_rollup_ts, last_write_ts, first_write_ts) ' +
        'VALUES (?, ?, 0, ?, ?, ?) ON CONFLICT (namespace, counter) DO UPDATE SET ' +
        'last_write_ts = max(rollups.last_write_ts, excluded.last_write_ts), ' +
        'first_write_ts = CASE WHEN rollups.first_write_ts = 0 THEN 0 ELSE min(rollups.first_write_ts, excluded.first_write_ts) END ' +
        'WHERE excluded.last_write_ts > rollups.last_write_ts OR excluded.first_write_ts < rollups.first_write_ts',
    );
    this.sql.transaction(() => {
      for (const m of marks) upsert.run(m.namespace, m.counter, INITIAL_ROLLUP_TS_MICROS, m.eventTimeMicros, m.eventTimeMicros);
    });
  }

  async claimWrites(marks: readonly CounterWriteMark[], holdMicros: number): Promise<boolean[]> {
    const now = this.clock.nowMicros();
    const claim = this.sql.stmt(
      'INSERT INTO rollups (namespace, counter, last_rollup_count, last_rollup_ts, last_write_ts, first_write_ts, hold_ts, hold_until) ' +
        'VALUES (@ns, @counter, 0, @initial, @t, @t, @t, @now + @hold) ON CONFLICT (namespace, counter) DO UPDATE SET ' +
        'last_write_ts = max(rollups.last_write_ts, excluded.last_write_ts), ' +
        'first_write_ts = CASE WHEN rollups.first_write_ts = 0 THEN 0 ELSE min(rollups.first_write_ts, excluded.first_write_ts) END, ' +
        'hold_ts = CASE WHEN rollups.hold_until > @now THEN min(rollups.hold_ts, excluded.hold_ts) ELSE excluded.hold_ts END, ' +
        'hold_until = max(rollups.hold_until, excluded.hold_until) ' +
        'WHERE rollups.last_rollup_ts < excluded.last_write_ts',
    );
    return this.sql.transaction(() =>
      marks.map(
        (m) =>
          claim.run({ ns: m.namespace, counter: m.counter, initial: INITIAL_ROLLUP_TS_MICROS, t: m.eventTimeMicros, now, hold: holdMicros })
            .changes > 0,
      ),
    );
  }

  async readForRollup(namespace: string, counter: string): Promise<RollupRead | undefined> {
    const readAtMicros = this.clock.nowMicros();
    const row = this.sql
      .stmt(
        'SELECT last_rollup_count, last_rollup_ts, last_write_ts, first_write_ts, hold_ts, hold_until FROM rollups WHERE namespace = ? AND counter = ?',
      )
      .raw(true)
      .safeIntegers(true)
      .get(namespace, counter) as [bigint, bigint, bigint, bigint, bigint, bigint] | undefined;
    if (!row) return undefined;
    return {
      lastRollupCount: row[0],
      lastRollupTsMicros: Number(row[1]),
      lastWriteTsMicros: Number(row[2]),
      firstWriteTsMicros: Number(row[3]),
      holdTsMicros: Number(row[4]),
      holdUntilMicros: Number(row[5]),
      readAtMicros,
    };
  }

  async get(namespace: string, counter: string): Promise<RollupRow | undefined> {
    const row = await this.readForRollup(namespace, counter);
    if (!row) return undefined;
    const { lastRollupCount, lastRollupTsMicros, lastWriteTsMicros, firstWriteTsMicros } = row;
    return { lastRollupCount, lastRollupTsMicros, lastWriteTsMicros, firstWriteTsMicros };
  }

  /** In process, a primary-key read each is as cheap as one statement for all. */
  getMany(namespace: string, counters: readonly string[]): Promise<(RollupRow | undefined)[]> {
    return Promise.all(counters.map((c) => this.get(namespace, c)));
  }


  async advanceMany(items: readonly RollupAdvance[]): Promise<boolean[]> {
    for (const item of items) checkInt64(item.next.count, 'advanceMany');
    // One transaction: one fsync for the whole rollup batch.
    return this.sql.transaction(() =>
      items.map(
        ({ namespace, counter, next, readAtMicros, firstWriteTsMicros }) => this.apply(namespace, counter, next, readAtMicros, firstWriteTsMicros),
      ),
    );
  }

  private upsert() {
    return this.sql.stmt(
      'INSERT INTO rollups (namespace, counter, last_rollup_count, last_rollup_ts, last_write_ts) VALUES (@ns, @counter, @count, @ts, 0) ' +
        'ON CONFLICT (namespace, counter) ' +
        'DO UPDATE SET last_rollup_count = excluded.last_rollup_count, last_rollup_ts = excluded.last_rollup_ts ' +
        'WHERE excluded.last_rollup_ts > rollups.last_rollup_ts ' +
        'AND (@readAt IS NULL OR NOT (rollups.hold_until > @readAt AND rollups.hold_ts <= excluded.last_rollup_ts))',
    );
  }

  /** A rollup that read the row (readAt) only updates it: a dropped row is not made again (issue 15). */
  private guardedUpdate() {
    return this.sql.stmt(
      'UPDATE rollups SET last_rollup_count = @count, last_rollup_ts = @ts ' +
        'WHERE namespace = @ns AND counter = @counter AND last_rollup_ts < @ts ' +
        'AND NOT (hold_until > @readAt AND hold_ts <= @ts) AND (@fw IS NULL OR first_write_ts = @fw)',
    );
  }

  private apply(namespace: string, counter: string, next: RollupCheckpoint, readAtMicros?: number, firstWriteTsMicros?: number): boolean {
    const params = { ns: namespace, counter, count: next.count, ts: next.rollupTsMicros };
    if (readAtMicros === undefined) return this.upsert().run({ ...params, readAt: null }).changes > 0;
    return this.guardedUpdate().run({ ...params, readAt: readAtMicros, fw: firstWriteTsMicros ?? null }).changes > 0;
  }

  async advance(namespace: string, counter: string, next: RollupCheckpoint, readAtMicros?: number, firstWriteTsMicros?: number): Promise<boolean> {
    checkInt64(next.count, 'advance');
    return this.apply(namespace, counter, next, readAtMicros, firstWriteTsMicros);
  }

  async laggingCounters(namespace: string, afterCounter: string, limit: number): Promise<string[]> {
    const rows = this.sql
      .stmt(
        'SELECT counter FROM rollups WHERE namespace = ? AND counter > ? AND last_write_ts > last_rollup_ts ORDER BY counter LIMIT ?',
      )
      .pluck(true)
      .all(namespace, afterCounter, limit) as string[];
    return rows;
  }

  async dropNamespace(namespace: string): Promise<void> {
    this.sql.stmt('DELETE FROM rollups WHERE namespace = ?').run(namespace);
  }
}
