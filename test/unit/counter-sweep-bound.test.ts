/**
 * The sweeper's rollups are bounded by the pipelines' `rollupTimeoutMs` (docs/counters.md,
 * "The sweeper"): a rollup store call that hangs for one counter no longer stalls the sweep
 * (and with it the lifecycle pass and the server's shutdown) for good. Memory stores, a
 * ManualClock and ManualScheduler: no sleeps.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CounterConfig } from '../../src/core/control/types.js';
import type { CounterEngine } from '../../src/core/counter/service.js';
import type { RollupStore } from '../../src/storage/contracts.js';
import { makeHarness, sampleOf, uniqueNamespace, type CounterHarness } from '../support/counter-harness.js';

const TIMEOUT_MS = 5000;

/** Lets pending callbacks and promise chains of the memory stores run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** How a promise settled. */
type Outcome<T> = { value: T } | { error: unknown };

/** Records how `p` settles, without leaving a rejection unhandled. */
function track<T>(p: Promise<T>): { readonly outcome: Outcome<T> | undefined } {
  const tracked: { outcome: Outcome<T> | undefined } = { outcome: undefined };
  void p.then(
    (value) => (tracked.outcome = { value }),
    (error: unknown) => (tracked.outcome = { error }),
  );
  return tracked;
}

/** Steps the scheduler a second at a time, 30 s at most, until `p` settles; how it did, or undefined. */
async function stepUntilSettled<T>(h: CounterHarness, p: Promise<T>): Promise<Outcome<T> | undefined> {
  const tracked = track(p);
  for (let i = 0; i < 30; i++) {
    await settle();
    if (tracked.outcome !== undefined) break;
    await h.scheduler.advance(1000);
  }
  return tracked.outcome;
}

interface Rig {
  h: CounterHarness;
  config: CounterConfig;
  /** The instance that sweeps. */
  sweeper: CounterEngine;
  rollups: RollupStore;
  /** Counters whose rollup row the rollup store was asked to read, in order. */
  reads: string[];
  /** Lets the hung reads of "a" go on. */
  release(): void;
}

/**
 * Counters a (5), b (3) and c (2), added on an instance that then stopped before their
 * window closed (its drain could not roll them up), 10 s later: lagging, and held by no
 * queue of the other instance, which sweeps them one per batch. The rollup store's read of
 * "a" hangs (a statement stuck on a lock) until released.
 */
async function laggingCounters(prefix: string): Promise<Rig> {
  const h = makeHarness('memory', { instances: 2, pipeline: { rollupTimeoutMs: TIMEOUT_MS } });
  const base = h.config(uniqueNamespace(prefix), 'EVENTUAL');
  const config = { ...base, rollup: { ...base.rollup, rollupBatchCount: 1 } };
  const writer = h.instances[0]!.counters;
  for (const [counterName, delta] of [['a', 5n], ['b', 3n], ['c', 2n]] as const) await writer.addCount(config, { counterName, delta });
  await writer.shutdown();
  h.clock.advance(10_000_000); // past accept_limit (5 s) + skew_margin (1 s)
  const rollups = h.stores.rollups!;
  const read = rollups.readForRollup.bind(rollups);
  let release = (): void => undefined;
  const hung = new Promise<void>((resolve) => (release = resolve));
  const reads: string[] = [];
  rollups.readForRollup = async (ns, counter) => {
    reads.push(counter);
    if (counter === 'a') await hung;
    return read(ns, counter);
  };
  return { h, config, sweeper: h.instances[1]!.counters, rollups, reads, release };
}

/** Runs `test` on {@link laggingCounters}, then lets the hung reads go and closes the harness. */
async function withLaggingCounters(prefix: string, test: (rig: Rig) => Promise<void>): Promise<void> {
  const rig = await laggingCounters(prefix);
  try {
    await test(rig);
  } finally {
    rig.release();
    await rig.h.close();
  }
}

async function countOf(rig: Rig, counter: string): Promise<bigint> {
  return (await rig.rollups.get(rig.config.name, counter))?.lastRollupCount ?? 0n;
}

async function timeouts(rig: Rig): Promise<number> {
  const text = await rig.h.instances[1]!.registry.getSingleMetricAsString('dgw_counters_rollups_total');
  return Number(new RegExp(`namespace="${rig.config.name}",outcome="timeout"\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

describe('the sweeper: a rollup that does not settle', () => {
  it('refuses a bound that would time every rollup out (0, negative, NaN)', () => {
    for (const bad of [0, -5, Number.NaN]) {
      assert.throws(
        () => makeHarness('memory', { pipeline: { rollupTimeoutMs: bad } }),
        (err: unknown) => err instanceof Error && /rollupTimeoutMs: .* must be a positive number of ms/.test(err.message),
      );
    }
  });

  it('finishes the sweep: the hung counter is counted as timed out, the others are rolled up, the next sweep does not start it again', () =>
    withLaggingCounters('sweep_hung', async (rig) => {
      const { h, config, sweeper } = rig;
      const first = await stepUntilSettled(h, sweeper.sweep(config));
      assert.ok(first !== undefined, 'the sweep finished');
      assert.deepEqual(first, { value: { swept: 3, failed: 0, timedOut: 1 } });
      assert.equal(await timeouts(rig), 1, 'counted as outcome="timeout"');
      assert.equal(await countOf(rig, 'b'), 3n, 'b rolled up after the hung batch');
      assert.equal(await countOf(rig, 'c'), 2n);
      assert.equal(await countOf(rig, 'a'), 0n);

      // The rollup of "a" still hangs: the next sweep does not start another one...
      assert.deepEqual(await sweeper.sweep(config), { swept: 1, failed: 0, timedOut: 1 });
      assert.deepEqual(rig.reads, ['a', 'b', 'c']);
      assert.equal(await timeouts(rig), 1, 'no new timeout: no new rollup');
      // ...and the lifecycle pass keeps the slices, as for a failed rollup.
      await assert.rejects(sweeper.runLifecycle(config), /1 of 1 lagging counters of ".*" not rolled up \(1 not done within 5000 ms/);

      // Once it settles, "a" is rolled up (by the rollup that hung) and leaves the lagging set.
      rig.release();
      for (let i = 0; i < 100 && (await countOf(rig, 'a')) !== 5n; i++) await settle();
      assert.equal(await countOf(rig, 'a'), 5n);
      assert.deepEqual(await sweeper.sweep(config), { swept: 0, failed: 0, timedOut: 0 });
    }));

  it('does not start a sweep rollup of a counter whose pipeline rollup is past its bound', () =>
    withLaggingCounters('sweep_overdue', async (rig) => {
      const { h, config, sweeper } = rig;
      // A read of "a" on the sweeping instance triggers a rollup in its pipeline, which hangs.
      assert.equal(await sweeper.getCount(config, 'a'), 0n);
      const window = h.scheduler.advance(1000);
      await h.scheduler.advance(TIMEOUT_MS);
      await window;
      assert.equal(sweeper.pipelines.get(config.name)?.isOverdue('a'), true);
      assert.deepEqual(rig.reads, ['a']);

      const swept = await stepUntilSettled(h, sweeper.sweep(config));
      assert.deepEqual(swept, { value: { swept: 3, failed: 0, timedOut: 1 } });
      assert.equal(rig.reads.filter((c) => c === 'a').length, 1, 'no sweep rollup of "a" started');
      assert.equal(await timeouts(rig), 1, "the pipeline's timeout only");
      assert.equal(await countOf(rig, 'b'), 3n);
    }));

  it('counts its hung rollup in dgw_counters_rollups_overdue, with the pipeline\'s of the namespace, until they settle', () =>
    withLaggingCounters('sweep_gauge', async (rig) => {
      const { h, config, sweeper } = rig;
      const overdue = () => sampleOf(h.instances[1]!.registry, 'dgw_counters_rollups_overdue', { namespace: config.name });
      assert.equal(await overdue(), undefined, 'no series before anything is overdue (no pipeline of the namespace here)');
      assert.deepEqual(await stepUntilSettled(h, sweeper.sweep(config)), { value: { swept: 3, failed: 0, timedOut: 1 } });
      assert.equal(await overdue(), 1, "the sweep's rollup of \"a\" still runs");
      // A read of "a" here starts a pipeline rollup of it (the pipeline does not ask the
      // sweeper), which hangs too: two calls past the bound.
      assert.equal(await sweeper.getCount(config, 'a'), 0n);
      const window = h.scheduler.advance(1000);
      await h.scheduler.advance(TIMEOUT_MS);
      await window;
      assert.deepEqual(rig.reads, ['a', 'b', 'c', 'a']);
      assert.equal(await overdue(), 2);

      rig.release();
      for (let i = 0; i < 100 && (await overdue()) !== 0; i++) await settle();
      assert.equal(await overdue(), 0, 'both settled; the namespace has a pipeline here, so its series stays, at 0');
    }));

  it('counts a failed rollup as outcome="error", as the pipeline does, also one that fails after the bound', () =>
    withLaggingCounters('sweep_error', async (rig) => {
      const { h, config, sweeper, rollups } = rig;
      // "b" fails at once (a refused connection); "a" fails only after the bound (a connection reset).
      let reset = (): void => undefined;
      const resetLater = new Promise<never>((_resolve, reject) => (reset = () => reject(new Error('connection reset'))));
      const read = rollups.readForRollup.bind(rollups);
      rollups.readForRollup = async (ns, counter) => {
        if (counter === 'b') throw new Error('connection refused');
        if (counter === 'a') return resetLater;
        return read(ns, counter);
      };
      const rollupsOf = (outcome: string) => sampleOf(h.instances[1]!.registry, 'dgw_counters_rollups_total', { namespace: config.name, outcome });
      assert.deepEqual(await stepUntilSettled(h, sweeper.sweep(config)), { value: { swept: 3, failed: 1, timedOut: 1 } });
      assert.equal(await rollupsOf('error'), 1, '"b" counted as error');
      assert.equal(await rollupsOf('timeout'), 1);
      reset();
      await settle();
      assert.equal(await rollupsOf('error'), 2, '"a" counts its own outcome once it settles');
      assert.equal(await rollupsOf('timeout'), 1);
    }));

  it('lets shutdown end a sweep within about the bound: the running batch times out, the sweep stops there', () =>
    withLaggingCounters('sweep_shutdown', async (rig) => {
      const { h, config, sweeper } = rig;
      const sweep = track(sweeper.sweep(config));
      await settle();
      assert.deepEqual(rig.reads, ['a'], 'the sweep waits for "a" in its first batch');
      const started = h.scheduler.nowMs();
      const shutdown = sweeper.shutdown().then(() => sweep.outcome);
      const closed = await stepUntilSettled(h, shutdown);
      assert.ok(closed !== undefined, 'shutdown finished');
      assert.ok(h.scheduler.nowMs() - started <= TIMEOUT_MS, `shutdown took ${h.scheduler.nowMs() - started} ms`);
      assert.ok('value' in closed && closed.value !== undefined, 'the sweep had ended when shutdown finished');
      const ended = closed.value;
      assert.ok('error' in ended);
      assert.match(String(ended.error), /sweep of ".*" stopped: the counter service is shutting down/);
      assert.deepEqual(rig.reads, ['a'], 'no rollup started after shutdown began');
      assert.equal(await timeouts(rig), 1);
      await assert.rejects(sweeper.sweep(config), { code: 'UNAVAILABLE' }, 'no sweep starts after shutdown');
    }));

  it('lets shutdown end a sweep stuck reading its page of lagging counters', () =>
    withLaggingCounters('sweep_page', async (rig) => {
      const { h, config, sweeper, rollups } = rig;
      rollups.laggingCounters = () => new Promise<string[]>(() => undefined);
      const sweep = track(sweeper.sweep(config));
      await settle();
      const closed = await stepUntilSettled(h, sweeper.shutdown().then(() => sweep.outcome));
      assert.ok(closed !== undefined && 'value' in closed && closed.value !== undefined, 'the sweep had ended when shutdown finished');
      assert.ok('error' in closed.value);
      assert.match(String(closed.value.error), /shutting down/);
      assert.deepEqual(rig.reads, []);
    }));
});
