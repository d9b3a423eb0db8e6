/**
 * PostgreSQL's clock as a {@link StoreClock} (issue 15): `clock_timestamp()`, the time of
 * the server at the statement (not `now()`, which is frozen at the start of a
 * transaction). Every instance sharing the database reads the same clock; rollup holds run
 * on it too (rollup-store.ts).
 */
import type { Clock } from '../../kernel/clock.js';
import type { StoreClock } from '../contracts.js';
import type { PgDb } from './database.js';

/** The StoreClock of the PostgreSQL adapter. */
export class PgStoreClock implements StoreClock {
  /** `holdClock` replaces PostgreSQL's clock (tests on a manual clock only), as for holds. */
  constructor(
    private readonly db: PgDb,
    private readonly holdClock?: Pick<Clock, 'nowMicros'>,
  ) {}

  async nowMicros(): Promise<number> {
    if (this.holdClock) return this.holdClock.nowMicros();
    const { rows } = await this.db.query<{ now: string }>(`SELECT (extract(epoch from clock_timestamp()) * 1000000)::bigint AS now`);
    return Number(rows[0]!.now);
  }
}
