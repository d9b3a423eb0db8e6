/**
 * Issue 15: instances whose clocks disagree must not lose acknowledged adds. Instance B
 * runs 3 s ahead and rolls a counter up to its `now − acceptLimit − skewMargin`; instance
 * A then gets an add whose generation_time is inside A's accept window but behind B's
 * checkpoint. The add is either refused (FAILED_PRECONDITION, nothing stored) or counted;
 * never acknowledged and lost. Deterministic: one ManualClock for the stores and A, B on
 * the same clock plus 3 s.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { Clock, ManualClock } from '../../src/kernel/clock.js';
import { DgwError } from '../../src/kernel/errors.js';
import { createCounterService, type CounterEngine } from '../../src/core/counter/service.js';
import { ManualScheduler } from '../../src/core/counter/scheduler.js';
import { createTimeSeriesService } from '../../src/core/timeseries/service.js';
import { ADAPTERS, makeHarness } from '../support/counter-harness.js';

/** A clock `offsetMicros` ahead of `base`. */
function offsetClock(base: Clock, offsetMicros: number): Clock {
  return { nowMicros: () => base.nowMicros() + offsetMicros };
}

describe('clock skew between instances (issue 15)', () => {
  for (const adapter of ADAPTERS) {
    for (const type of ['EVENTUAL', 'ACCURATE'] as const) {
      it(`${adapter} ${type}: an add behind a skewed instance's checkpoint is refused or counted, never lost`, async () => {
        const h = makeHarness(adapter);
        const clock: ManualClock = h.clock;
        const a = h.instances[0]!.counters;
        const bClock = offsetClock(clock, 3_000_000);
        const bTimeseries = createTimeSeriesService({ clock: bClock, catalog: h.catalog, registry: new Registry() });
        const b: CounterEngine = createCounterService({
          clock: bClock,
          catalog: h.catalog,
          timeseries: bTimeseries,
          registry: new Registry(),
          pipeline: { scheduler: new ManualScheduler(clock) },
        });
        try {
          const config = h.config(`skew_${type.toLowerCase()}`, type);
          let expected = 0n;
          await a.addCount(config, { counterName: 'c', delta: 24n, token: { token: 'first', generationTimeMicros: clock.nowMicros() } });
          expected += 24n;
          clock.advance(10_000_000);
          await b.rollupNow(config, 'c'); // checkpoint = A's now + 3 s − 5 s − 1 s = A's now − 3 s
          // 4.5 s old: inside A's 5 s accept window, behind B's checkpoint.
          const late = { token: 'late', generationTimeMicros: clock.nowMicros() - 4_500_000 };
          try {
            await a.addCount(config, { counterName: 'c', delta: 100n, token: late });
            expected += 100n;
          } catch (err) {
            assert.ok(err instanceof DgwError, String(err));
            assert.equal(err.code, 'FAILED_PRECONDITION', err.message);
            assert.match(err.message, /^idempotency_token\.generation_time: .*not stored/);
          }
          // A retry of the same add gets the same answer and is never counted twice.
          const retried = await a.addCount(config, { counterName: 'c', delta: 100n, token: late }).then(
            () => true,
            () => false,
          );
          assert.equal(retried, expected === 124n, 'the retry agrees with the first answer');
          clock.advance(10_000_000);
          await a.rollupNow(config, 'c');
          await b.rollupNow(config, 'c');
          assert.equal(await a.getCount(config, 'c'), expected);
          assert.equal(await b.getCount(config, 'c'), expected);
        } finally {
          await b.shutdown();
          await bTimeseries.shutdown();
          await h.close();
        }
      });
    }
  }
});
