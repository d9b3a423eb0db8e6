/**
 * Redis's clock as a {@link StoreClock} (issue 15): `TIME`, seconds and microseconds of
 * the server. Every instance sharing the Redis reads the same clock.
 */
import type { StoreClock } from '../contracts.js';
import type { RedisCall } from './caches.js';

/** The StoreClock of the Redis adapter. */
export class RedisStoreClock implements StoreClock {
  constructor(private readonly call: RedisCall) {}

  async nowMicros(): Promise<number> {
    const [seconds, micros] = await this.call((c) => c.time());
    return Number(seconds) * 1_000_000 + Number(micros);
  }
}
