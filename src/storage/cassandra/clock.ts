/**
 * Cassandra's clock as a {@link StoreClock} (issue 15): the coordinator's
 * `currentTimestamp()` (millisecond precision), the clock rollup holds run on too
 * (rollup-store.ts). With several nodes, the clock is the coordinator's of each request:
 * keep the nodes' clocks synchronised (NTP), as Cassandra itself requires.
 */
import type { Clock } from '../../kernel/clock.js';
import type { StoreClock } from '../contracts.js';
import type { CassandraDb } from './database.js';

/** The StoreClock of the Cassandra adapter. */
export class CassandraStoreClock implements StoreClock {
  /** `holdClock` replaces the coordinator's clock (tests on a manual clock only), as for holds. */
  constructor(
    private readonly db: CassandraDb,
    private readonly holdClock?: Pick<Clock, 'nowMicros'>,
  ) {}

  async nowMicros(): Promise<number> {
    if (this.holdClock) return this.holdClock.nowMicros();
    const rs = await this.db.execute('SELECT toUnixTimestamp(currentTimestamp()) AS now FROM system.local', [], { idempotent: true });
    return Number(rs.first()?.get('now') as bigint) * 1000;
  }
}
