/**
 * The durable rollup bus's rollups are bounded by `rollupTimeoutMs` like the pipelines' and
 * the sweeper's (docs/counters.md, "Durable rollup queue"): a rollup that hangs (a store call
 * stuck on a lock) no longer holds one of the bus's handler slots for good. Its event is
 * handed back ('retry') at the bound, it is counted once as a timeout and in the overdue
 * gauge until it settles, and a delivery of the same counter meanwhile starts no second
 * rollup. The bus is a stand-in for NATS's delivery loop (the JetStream bus itself is tested
 * against a real server in test/integration/rollup-bus.nats.test.ts); ManualScheduler: no sleeps.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ManualClock } from '../../src/kernel/clock.js';
import { DurableRollups } from '../../src/core/counter/durable-rollups.js';
import { createCounterMetrics } from '../../src/core/counter/metrics.js';
import { OverdueGauge } from '../../src/core/counter/overdue-gauge.js';
import { ManualScheduler } from '../../src/core/counter/scheduler.js';
import type { CounterConfig } from '../../src/core/control/types.js';
import type { CounterRollupResult, RollupSkip } from '../../src/core/counter/rollup.js';
import type { RollupBus, RollupBusStats, RollupDelivery, RollupEvent, RollupOutcome } from '../../src/storage/contracts.js';
import { sampleOf } from '../support/counter-harness.js';

const TIMEOUT_MS = 5000;
const NS = 'bus_bound';

/** Hands events to the consumer as a delivery loop would; what the handler answered is returned. */
class DeliveringBus implements RollupBus {
  readonly connected = true;
  private handler: ((event: RollupEvent, delivery: RollupDelivery) => Promise<RollupOutcome>) | undefined;

  async publish(): Promise<void> {}

  start(handler: (event: RollupEvent, delivery: RollupDelivery) => Promise<RollupOutcome>): void {
    this.handler = handler;
  }

  deliver(counter: string, redelivered = false): Promise<RollupOutcome> {
    return this.handler!({ namespace: NS, counter }, { redelivered });
  }

  stats(): RollupBusStats {
    return { published: 0, duplicates: 0, acknowledged: 0, redelivered: 0, deferred: 0, pending: 0, ackPending: 0 };
  }

  async close(): Promise<void> {}
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

type RollupFn = (counter: string) => Promise<CounterRollupResult | RollupSkip>;

/** A DurableRollups on a manual scheduler, its bus started; `rollup` stands for the store work. */
function rig(rollup: RollupFn) {
  const clock = new ManualClock();
  const scheduler = new ManualScheduler(clock);
  const registry = new Registry();
  const metrics = createCounterMetrics(registry);
  const gauge = new OverdueGauge(metrics.rollupsOverdue);
  const bus = new DeliveringBus();
  const config = { name: NS, counterType: 'EVENTUAL' } as CounterConfig;
  const errors: unknown[] = [];
  const durable = new DurableRollups({
    bus,
    clock,
    metrics,
    scheduler,
    rollupTimeoutMs: TIMEOUT_MS,
    onOverdue: (namespace) => gauge.overdue(namespace),
    resolve: async () => config,
    eligible: () => true,
    fallback: () => assert.fail('the bus is up: nothing falls back'),
    onError: (_ns, _counter, err) => errors.push(err),
    rollup: (_config, counter) => rollup(counter),
  });
  durable.start();
  const sample = (metric: string, labels: Record<string, string>) => sampleOf(registry, metric, labels);
  return { scheduler, bus, durable, errors, sample };
}

describe('DurableRollups: the rollup bound', () => {
  it('hands back an event whose rollup hangs past rollupTimeoutMs, starts no second rollup of the counter until it settles, and counts it', async () => {
    const started: string[] = [];
    let release: (() => void) | undefined;
    const caughtUp: CounterRollupResult = { outcome: 'applied', checkpoint: { count: 1n, rollupTsMicros: 1 }, lastWriteMicros: 1, caughtUp: true };
    const { scheduler, bus, durable, errors, sample } = rig((counter) => {
      started.push(counter);
      // The first rollup of "a" hangs (a rollup store read stuck on a lock) until released; the others answer.
      if (counter === 'a' && release === undefined) return new Promise((resolve) => (release = () => resolve(caughtUp)));
      return Promise.resolve(caughtUp);
    });

    const hung = bus.deliver('a');
    let answered: RollupOutcome | undefined;
    void hung.then((o) => (answered = o));
    await settle();
    await scheduler.advance(TIMEOUT_MS - 1);
    await settle();
    assert.equal(answered, undefined, 'still waited for before the bound');
    await scheduler.advance(1);
    await settle();
    assert.equal(answered, 'retry', 'handed back at the bound: the handler slot is free again');
    assert.equal(durable.overdueCount, 1);
    assert.equal(await sample('dgw_counters_bus_rollups_total', { namespace: NS, outcome: 'timeout', delivery: 'first' }), 1);
    assert.equal(await sample('dgw_counters_rollups_total', { namespace: NS, outcome: 'timeout' }), 1);
    assert.equal(await sample('dgw_counters_rollups_overdue', { namespace: NS }), 1);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /did not finish within 5000 ms/);

    // The event comes back while the first rollup still runs: no second call to the store.
    assert.equal(await bus.deliver('a', true), 'retry');
    assert.deepEqual(started, ['a'], 'no second rollup of an overdue counter');
    assert.equal(await sample('dgw_counters_bus_rollups_total', { namespace: NS, outcome: 'overdue', delivery: 'redelivered' }), 1);
    // Other counters are not held up by it.
    assert.equal(await bus.deliver('b'), 'done');

    release!();
    await settle();
    assert.equal(durable.overdueCount, 0, 'no longer overdue once it settled');
    assert.equal(await sample('dgw_counters_rollups_overdue', { namespace: NS }), undefined, 'gauge series gone at 0');
    assert.equal(await bus.deliver('a', true), 'done', 'the next delivery rolls it up');
    assert.deepEqual(started, ['a', 'b', 'a']);
    assert.equal(scheduler.pending, 0, 'every bound timer was dropped');
  });

  it('a rollup that fails after passing the bound is still reported and counted as an error', async () => {
    let fail: ((err: Error) => void) | undefined;
    const { scheduler, bus, durable, errors, sample } = rig(() => new Promise((_resolve, reject) => (fail = reject)));
    const answered = bus.deliver('a');
    await settle();
    await scheduler.advance(TIMEOUT_MS);
    assert.equal(await answered, 'retry');
    assert.equal(errors.length, 1, 'the timeout');
    fail!(new Error('connection reset'));
    await settle();
    assert.equal(errors.length, 2, 'and the failure, once the rollup settled');
    assert.match(String(errors[1]), /connection reset/);
    assert.equal(await sample('dgw_counters_bus_rollups_total', { namespace: NS, outcome: 'timeout', delivery: 'first' }), 1);
    assert.equal(await sample('dgw_counters_bus_rollups_total', { namespace: NS, outcome: 'error', delivery: 'first' }), 1);
    assert.equal(durable.overdueCount, 0);
  });

  it('a rollup that fails before the bound is retried and not counted as a timeout', async () => {
    const { scheduler, bus, durable, sample } = rig(() => Promise.reject(new Error('store down')));
    assert.equal(await bus.deliver('a'), 'retry');
    assert.equal(await sample('dgw_counters_bus_rollups_total', { namespace: NS, outcome: 'error', delivery: 'first' }), 1);
    assert.equal(await sample('dgw_counters_bus_rollups_total', { namespace: NS, outcome: 'timeout', delivery: 'first' }), undefined);
    assert.equal(durable.overdueCount, 0);
    assert.equal(scheduler.pending, 0, 'the bound timer was dropped');
  });
});
