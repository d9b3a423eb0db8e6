import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/kernel/clock.js';
import { RollupPipeline, type RollupPipelineOptions, type RollupResult } from '../../src/core/counter/rollup-pipeline.js';
import { ManualScheduler } from '../../src/core/counter/scheduler.js';
import type { CounterConfig } from '../../src/core/control/types.js';
import type { CounterEngine } from '../../src/core/counter/service.js';
import { removeNamespaceSeries } from '../../src/server/namespace-metrics.js';
import { makeHarness, sampleOf, uniqueNamespace, type CounterHarness } from '../support/counter-harness.js';

interface Rig {
  clock: ManualClock;
  scheduler: ManualScheduler;
  pipeline: RollupPipeline;
  calls: string[];
  dropped: string[];
}

function rig(
  options: Partial<RollupPipelineOptions> = {},
  rollup?: (counter: string, clock: ManualClock) => Promise<RollupResult>,
): Rig {
  const clock = new ManualClock();
  const scheduler = new ManualScheduler(clock);
  const calls: string[] = [];
  const dropped: string[] = [];
  const pipeline = new RollupPipeline({
    namespace: 'ns',
    numQueues: 1,
    coalesceMs: 1000,
    capacityBytes: 1 << 20,
    batchCount: 4,
    scheduler,
    rollup: async (counter) => {
      calls.push(counter);
      return rollup ? rollup(counter, clock) : { caughtUp: true };
    },
    onDrop: (c) => dropped.push(c),
    ...options,
  });
  return { clock, scheduler, pipeline, calls, dropped };
}

const count = (calls: string[], c: string) => calls.filter((x) => x === c).length;

describe('RollupPipeline', () => {
  it('rolls each counter up once per coalesce window, however many events it got', async () => {
    const { scheduler, pipeline, calls } = rig();
    for (let i = 0; i < 10; i++) pipeline.enqueue('a');
    for (let i = 0; i < 5; i++) pipeline.enqueue('b');
    await scheduler.advance(999);
    assert.deepEqual(calls, [], 'nothing runs before the window closes');
    await scheduler.advance(1);
    assert.deepEqual([...calls].sort(), ['a', 'b']);
    for (let i = 0; i < 7; i++) pipeline.enqueue('a');
    await scheduler.advance(1000);
    assert.equal(count(calls, 'a'), 2);
    assert.equal(count(calls, 'b'), 1);
    assert.equal(scheduler.pending, 0, 'an idle pipeline holds no timer');
  });

  it('routes a counter to the same queue every time (xxHash of namespace:counter)', () => {
    const { pipeline } = rig({ numQueues: 8 });
    const names = Array.from({ length: 200 }, (_, i) => `c${i}`);
    const first = names.map((n) => pipeline.queueIndexOf(n));
    assert.deepEqual(names.map((n) => pipeline.queueIndexOf(n)), first);
    assert.ok(new Set(first).size > 4, 'counters spread over the queues');
    for (const n of names) pipeline.enqueue(n);
    const stats = pipeline.stats();
    assert.equal(stats.length, 8);
    assert.equal(stats.reduce((s, q) => s + q.pending, 0), 200);
  });

  it('works a window in batches of rollup_batch_count run in parallel', async () => {
    let running = 0;
    let maxRunning = 0;
    const { scheduler, pipeline, calls } = rig({ batchCount: 3 }, async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setImmediate(r));
      running--;
      return { caughtUp: true };
    });
    for (let i = 0; i < 10; i++) pipeline.enqueue(`c${i}`);
    await scheduler.advance(1000);
    assert.equal(calls.length, 10);
    assert.equal(maxRunning, 3);
  });

  it('adapts the wait between batches to the last batch latency (back-pressure)', async () => {
    let latencyMs = 40;
    const { scheduler, pipeline, calls } = rig(
      { batchCount: 2, backPressure: { factor: 2, minWaitMs: 5, maxWaitMs: 500 } },
      async (c, clock) => {
        // A slow store: the batch (c0+c1, c2+c3, c4+c5, run in parallel) takes this long.
        if (Number(c.slice(1)) % 2 === 0) clock.advanceMs(latencyMs);
        return { caughtUp: true };
      },
    );
    for (let i = 0; i < 6; i++) pipeline.enqueue(`c${i}`);
    // The first batch runs when the window closes; its 40ms latency sets an 80ms wait.
    await scheduler.advance(1000);
    assert.equal(calls.length, 2);
    assert.equal(pipeline.stats()[0]!.lastBatchMs, 40);
    assert.deepEqual(scheduler.pendingDelaysMs(), [80]);
    await scheduler.advance(79);
    assert.equal(calls.length, 2, 'still waiting');
    // The store got faster: the next wait shrinks to the floor of 5ms.
    latencyMs = 1;
    await scheduler.advance(1);
    assert.equal(calls.length, 4);
    assert.equal(pipeline.stats()[0]!.lastWaitMs, 5);
    assert.deepEqual(scheduler.pendingDelaysMs(), [5]);
    // A very slow batch is capped by maxWaitMs.
    latencyMs = 1000;
    await scheduler.advance(5);
    assert.equal(calls.length, 6);
    assert.equal(pipeline.stats()[0]!.lastWaitMs, 500);
  });

  it('bounds each queue by capacity_bytes: overflow is dropped and counted', async () => {
    const { scheduler, pipeline, calls, dropped } = rig({ capacityBytes: 300, entryBytes: () => 100 });
    const accepted = ['a', 'b', 'c', 'd', 'e'].map((c) => pipeline.enqueue(c));
    assert.deepEqual(accepted, [true, true, true, false, false]);
    assert.equal(pipeline.enqueue('a'), true, 'an already queued counter coalesces, costs nothing');
    assert.equal(pipeline.dropped, 2);
    assert.deepEqual(dropped, ['d', 'e']);
    assert.equal(pipeline.stats()[0]!.bytes, 300);
    await scheduler.advance(1000);
    assert.deepEqual([...calls].sort(), ['a', 'b', 'c']);
    assert.equal(pipeline.stats()[0]!.bytes, 0, 'memory is released after the rollups');
    assert.equal(pipeline.enqueue('d'), true, 'room again');
  });

  it('re-queues a counter that has not caught up, window after window, until it has', async () => {
    let behind = 3;
    const { scheduler, pipeline, calls } = rig({}, async () => ({ caughtUp: --behind < 0 }));
    pipeline.enqueue('hot');
    await scheduler.advance(1000);
    assert.equal(calls.length, 1);
    await scheduler.advance(999);
    assert.equal(calls.length, 1, 'once per window, not in a tight loop');
    await scheduler.advance(1);
    assert.equal(calls.length, 2);
    await scheduler.advance(10_000);
    assert.equal(calls.length, 4, 'stops once caught up');
    assert.equal(scheduler.pending, 0);
    assert.equal(pipeline.depth, 0);
  });

  it('retries a failed rollup in the next window and reports the error', async () => {
    const errors: string[] = [];
    let fail = true;
    const { scheduler, calls } = (() => {
      const r = rig({ onError: (c) => errors.push(c) }, async () => {
        if (fail) {
          fail = false;
          throw new Error('store down');
        }
        return { caughtUp: true };
      });
      r.pipeline.enqueue('x');
      return r;
    })();
    await scheduler.advance(1000);
    assert.deepEqual(errors, ['x']);
    await scheduler.advance(1000);
    assert.deepEqual(calls, ['x', 'x']);
    assert.equal(scheduler.pending, 0);
  });

  it('drains on shutdown: every queued counter is rolled up once, new events are refused', async () => {
    const { scheduler, pipeline, calls } = rig({ batchCount: 2 }, async () => ({ caughtUp: false }));
    for (const c of ['a', 'b', 'c', 'd', 'e']) pipeline.enqueue(c);
    await pipeline.shutdown();
    assert.deepEqual([...calls].sort(), ['a', 'b', 'c', 'd', 'e']);
    assert.equal(pipeline.depth, 0, 'not-caught-up counters are not re-queued while draining');
    assert.equal(pipeline.enqueue('f'), false);
    await scheduler.advance(10_000);
    assert.equal(calls.length, 5);
  });

  it('drains a window that is half done', async () => {
    const { scheduler, pipeline, calls } = rig({ batchCount: 2, backPressure: { minWaitMs: 100 } });
    for (const c of ['a', 'b', 'c', 'd', 'e']) pipeline.enqueue(c);
    await scheduler.advance(1000);
    assert.equal(calls.length, 2);
    pipeline.enqueue('f');
    await pipeline.shutdown();
    assert.deepEqual([...calls].sort(), ['a', 'b', 'c', 'd', 'e', 'f']);
  });
});

/** A rollup that never settles, as one stuck on a PostgreSQL lock or a hung connection. */
const never = (): Promise<RollupResult> => new Promise<RollupResult>(() => undefined);

/** Lets promise reactions already queued run (not a sleep: virtual time does not move). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface HungRollup {
  h: CounterHarness;
  config: CounterConfig;
  counters: CounterEngine;
  /** Lets the hung read of "stuck" go on. */
  release(): void;
}

/**
 * Runs `test` on a counter service (bound 5 s) of a new namespace where "stuck" was added and
 * the rollup store's read of it hangs (a statement stuck on a lock) until released; then
 * releases it and closes the harness.
 */
async function withHungRollup(prefix: string, test: (rig: HungRollup) => Promise<void>): Promise<void> {
  const h = makeHarness('memory', { pipeline: { rollupTimeoutMs: 5000 } });
  let release = (): void => undefined;
  const hung = new Promise<void>((resolve) => (release = resolve));
  try {
    const config = h.config(uniqueNamespace(prefix), 'EVENTUAL');
    const store = h.stores.rollups!;
    const read = store.readForRollup.bind(store);
    store.readForRollup = async (ns, counter) => {
      if (counter === 'stuck') await hung;
      return read(ns, counter);
    };
    const counters = h.instances[0]!.counters;
    await counters.addCount(config, { counterName: 'stuck', delta: 5n });
    await test({ h, config, counters, release });
  } finally {
    release();
    await h.close();
  }
}

describe('RollupPipeline: a rollup that does not settle', () => {
  const TIMEOUT_MS = 5000;

  it('does not stall the other counters of its queue: reported, re-queued, the queue moves on', async () => {
    const errors: Array<[string, unknown]> = [];
    const { scheduler, pipeline, calls } = rig(
      { batchCount: 2, rollupTimeoutMs: TIMEOUT_MS, onError: (c, err) => errors.push([c, err]) },
      async (c) => (c === 'stuck' ? never() : { caughtUp: true }),
    );
    for (const c of ['stuck', 'a', 'b', 'c']) pipeline.enqueue(c);
    // The window opens at 1000 ms; its first batch is [stuck, a]: "a" finishes, "stuck"
    // holds the batch, and so this step...
    const window = scheduler.advance(1000);
    await settle();
    assert.deepEqual(calls, ['stuck', 'a']);
    // ...until the bound passes (the scheduler fires the deadline timer of the batch).
    await scheduler.advance(TIMEOUT_MS);
    assert.equal(errors.length, 1, 'the hung rollup is reported once');
    assert.equal(errors[0]![0], 'stuck');
    assert.match(String(errors[0]![1]), /rollup of counter "stuck" in "ns" did not finish within 5000 ms/);
    assert.equal(pipeline.stats()[0]!.pending, 1, 'the hung counter is re-queued (not caught up)');
    await window;
    // The rest of the window runs after the back-pressure wait (capped at maxWaitMs 1000).
    await scheduler.advance(1000);
    assert.deepEqual(calls, ['stuck', 'a', 'b', 'c']);
    assert.equal(errors.length, 1);
  });

  it('starts no second rollup of a counter while its timed-out one runs; rolls it up again once it settled', async () => {
    const errors: string[] = [];
    let release: (() => void) | undefined;
    const { scheduler, pipeline, calls } = rig({ rollupTimeoutMs: TIMEOUT_MS, onError: (c) => errors.push(c) }, async (c) => {
      if (c === 'stuck' && release === undefined) {
        return new Promise<RollupResult>((resolve) => (release = () => resolve({ caughtUp: true })));
      }
      return { caughtUp: true };
    });
    pipeline.enqueue('stuck');
    const window = scheduler.advance(1000);
    await scheduler.advance(TIMEOUT_MS);
    assert.deepEqual(errors, ['stuck']);
    await window;
    // Window after window the counter stays queued, but no second rollup starts.
    for (let i = 0; i < 5; i++) {
      pipeline.enqueue('other');
      await scheduler.advance(1000);
    }
    assert.equal(count(calls, 'stuck'), 1, 'one rollup of "stuck" at a time');
    assert.equal(count(calls, 'other'), 5, 'the queue keeps working');
    assert.equal(pipeline.depth, 1, '"stuck" is still in circulation');
    assert.deepEqual(errors, ['stuck'], 'reported once, not once per window');
    // The stuck rollup settles at last: the next window rolls the counter up normally.
    assert.equal(pipeline.overdue, 1);
    release!();
    await settle();
    assert.equal(pipeline.overdue, 0, 'forgotten once settled');
    await scheduler.advance(1000);
    assert.equal(count(calls, 'stuck'), 2);
    assert.equal(pipeline.depth, 0, 'caught up: out of circulation');
    await scheduler.advance(1000);
    assert.equal(count(calls, 'stuck'), 2);
    assert.equal(scheduler.pending, 0, 'an idle pipeline holds no timer');
  });

  it('tells onOverdue once when a rollup passes its bound, and calls its callback once that rollup settles', async () => {
    const overdue: string[] = [];
    let settled = 0;
    let release: (() => void) | undefined;
    const { scheduler, pipeline } = rig(
      {
        rollupTimeoutMs: TIMEOUT_MS,
        onOverdue: (c) => {
          overdue.push(c);
          return () => void settled++;
        },
      },
      async (c) => (c === 'stuck' && release === undefined ? new Promise<RollupResult>((resolve) => (release = () => resolve({ caughtUp: true }))) : { caughtUp: true }),
    );
    pipeline.enqueue('stuck');
    const window = scheduler.advance(1000);
    await scheduler.advance(TIMEOUT_MS - 1);
    assert.deepEqual(overdue, [], 'not before the bound');
    await scheduler.advance(1);
    assert.deepEqual(overdue, ['stuck']);
    await window;
    for (let i = 0; i < 3; i++) await scheduler.advance(1000);
    assert.deepEqual(overdue, ['stuck'], 'once, though the counter stays queued window after window');
    assert.equal(settled, 0);
    release!();
    await settle();
    assert.equal(settled, 1);
    assert.equal(pipeline.overdue, 0);
  });

  it('lets shutdown finish when a running batch hangs, without starting the hung counter again', async () => {
    const errors: string[] = [];
    const { scheduler, pipeline, calls } = rig(
      { batchCount: 2, rollupTimeoutMs: TIMEOUT_MS, onError: (c) => errors.push(c) },
      async (c) => (c === 'stuck' ? never() : { caughtUp: true }),
    );
    pipeline.enqueue('stuck');
    const window = scheduler.advance(1000);
    pipeline.enqueue('a');
    let finished = false;
    const shutdown = pipeline.shutdown().then(() => (finished = true));
    for (let i = 0; i < 30 && !finished; i++) await scheduler.advance(1000);
    assert.ok(finished, 'shutdown finished');
    await shutdown;
    await window;
    assert.deepEqual(errors, ['stuck']);
    assert.equal(count(calls, 'stuck'), 1, 'the drain does not start a second rollup of "stuck"');
    assert.equal(count(calls, 'a'), 1, 'the rest is drained');
  });

  it('bounds the drain: shutdown finishes when a drained rollup hangs, leaving the rest of that queue', async () => {
    const errors: string[] = [];
    const { scheduler, pipeline, calls } = rig(
      { batchCount: 2, rollupTimeoutMs: TIMEOUT_MS, onError: (c) => errors.push(c) },
      async (c) => (c === 'stuck' ? never() : { caughtUp: true }),
    );
    for (const c of ['stuck', 'a', 'b', 'c']) pipeline.enqueue(c);
    let finished = false;
    const shutdown = pipeline.shutdown().then(() => (finished = true));
    for (let i = 0; i < 30 && !finished; i++) await scheduler.advance(1000);
    assert.ok(finished, 'shutdown finished');
    await shutdown;
    assert.deepEqual(errors, ['stuck']);
    // The store is taken as hung: [b, c] are left to their next read and the sweeper.
    assert.deepEqual(calls, ['stuck', 'a']);
    assert.equal(pipeline.depth, 0);
  });
});

describe('rollup pipeline inside the counter service', () => {
  it('heals a stale count with a read after rollup events were dropped', async () => {
    const { makeHarness } = await import('../support/counter-harness.js');
    const h = makeHarness('memory', { pipeline: { entryBytes: () => 1000 } });
    try {
      const base = h.config('healing', 'EVENTUAL');
      // Room for exactly one queued counter: every other rollup event is dropped.
      const config = { ...base, rollup: { ...base.rollup, numQueues: 1, capacityBytes: 1000 } };
      const counters = h.instances[0]!.counters;
      await counters.addCount(config, { counterName: 'first', delta: 1n });
      await counters.addCount(config, { counterName: 'victim', delta: 5n });
      await counters.addCount(config, { counterName: 'victim', delta: 6n });
      const pipeline = counters.pipelines.get(config.name)!;
      assert.equal(pipeline.dropped, 2, 'the queue was full: both rollup events of "victim" dropped');
      const metrics = await h.instances[0]!.registry.getSingleMetricAsString('dgw_counters_rollup_events_dropped_total');
      assert.match(metrics, /dgw_counters_rollup_events_dropped_total\{namespace="healing"\} 2/);
      // Long after accept_limit + skew, "first" has converged; "victim" never got a rollup.
      for (let i = 0; i < 10; i++) await h.scheduler.advance(1000);
      assert.equal(await counters.getCount(config, 'first'), 1n);
      await h.scheduler.advance(1000); // the rollup this read triggered frees the one slot
      assert.equal(await counters.getCount(config, 'victim'), 0n, 'stale: its rollup events were lost');
      // That read triggered a rollup (the queue has room again): the next read is healed.
      await h.scheduler.advance(1000);
      assert.equal(await counters.getCount(config, 'victim'), 11n);
    } finally {
      await h.close();
    }
  });

  it('counts a hung rollup as outcome="timeout", rolls the rest of its queue up, and converges once it settles', async () => {
    const { makeHarness } = await import('../support/counter-harness.js');
    const errors: string[] = [];
    const h = makeHarness('memory', { pipeline: { rollupTimeoutMs: 5000, onError: (_ns, _c, err) => errors.push(String(err)) } });
    let release: (() => void) | undefined;
    try {
      const base = h.config('hung', 'EVENTUAL');
      // One queue, one counter per batch: "stuck" and "ok" share the queue, "ok" waits behind "stuck".
      const config = { ...base, rollup: { ...base.rollup, numQueues: 1, rollupBatchCount: 1 } };
      // The rollup store's read of "stuck" hangs (a statement stuck on a lock) until released.
      const store = h.stores.rollups!;
      const read = store.readForRollup.bind(store);
      const hung = new Promise<void>((resolve) => (release = resolve));
      store.readForRollup = async (ns, counter) => {
        if (counter === 'stuck') await hung;
        return read(ns, counter);
      };
      const counters = h.instances[0]!.counters;
      await counters.addCount(config, { counterName: 'stuck', delta: 5n });
      await counters.addCount(config, { counterName: 'ok', delta: 3n });
      const window = h.scheduler.advance(1000); // the batch [stuck] hangs...
      await h.scheduler.advance(5000); // ...until the bound passes
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /rollup of counter "stuck" in "hung" did not finish within 5000 ms/);
      await window;
      const rollups = await h.instances[0]!.registry.getSingleMetricAsString('dgw_counters_rollups_total');
      assert.match(rollups, /dgw_counters_rollups_total\{namespace="hung",outcome="timeout"\} 1/);
      for (let i = 0; i < 3; i++) await h.scheduler.advance(1000);
      assert.equal(await counters.getCount(config, 'ok'), 3n, '"ok" converged behind the hung rollup');
      assert.equal(await counters.getCount(config, 'stuck'), 0n, 'not rolled up while its rollup hangs');
      release!();
      // The released rollup finishes on its own store calls, outside any timer of the scheduler.
      const pipeline = counters.pipelines.get(config.name)!;
      for (let i = 0; i < 100 && pipeline.overdue > 0; i++) await settle();
      assert.equal(pipeline.overdue, 0);
      for (let i = 0; i < 3; i++) await h.scheduler.advance(1000);
      assert.equal(await counters.getCount(config, 'stuck'), 5n, 'rolled up again once the hung rollup settled');
      assert.equal(errors.length, 1);
    } finally {
      release?.();
      await h.close();
    }
  });

  it('exports dgw_counters_rollups_overdue: 1 while a rollup runs past its bound, back to 0 once it settles', () =>
    withHungRollup('overdue_gauge', async ({ h, config, counters, release }) => {
      const overdue = () => sampleOf(h.instances[0]!.registry, 'dgw_counters_rollups_overdue', { namespace: config.name });
      const window = h.scheduler.advance(1000); // the batch [stuck] hangs...
      await settle();
      assert.equal(await overdue(), 0, 'a namespace with a pipeline exports 0');
      await h.scheduler.advance(5000); // ...until the bound passes
      assert.equal(await overdue(), 1);
      await window;
      for (let i = 0; i < 3; i++) await h.scheduler.advance(1000);
      assert.equal(await overdue(), 1, 'still 1 window after window: the call still hangs, and no second one started');
      release();
      const pipeline = counters.pipelines.get(config.name)!;
      for (let i = 0; i < 100 && pipeline.overdue > 0; i++) await settle();
      assert.equal(pipeline.overdue, 0);
      assert.equal(await overdue(), 0);
    }));

  it('leaves no dgw_counters_rollups_overdue series of a namespace deleted while its rollup hung, once that rollup settles', () =>
    withHungRollup('overdue_drop', async ({ h, config, counters, release }) => {
      const registry = h.instances[0]!.registry;
      const overdue = () => sampleOf(registry, 'dgw_counters_rollups_overdue', { namespace: config.name });
      const window = h.scheduler.advance(1000);
      await h.scheduler.advance(5000);
      await window;
      assert.equal(await overdue(), 1);
      // What the server does when the namespace is deleted (runtime.ts, onDelete).
      await counters.dropNamespace(config);
      await removeNamespaceSeries(registry, [config.name]);
      assert.equal(await overdue(), undefined);
      release();
      for (let i = 0; i < 100; i++) await settle();
      assert.equal(await overdue(), undefined, 'the settled rollup did not bring the series back (not even at 0)');
    }));

  it('keeps a counter in circulation until its rollup passes lastWriteTs, then stops', async () => {
    const { makeHarness } = await import('../support/counter-harness.js');
    const h = makeHarness('memory');
    try {
      const config = h.config('circulation', 'EVENTUAL');
      const counters = h.instances[0]!.counters;
      await counters.addCount(config, { counterName: 'c', delta: 3n });
      const rollups = () => h.instances[0]!.registry.getSingleMetricAsString('dgw_counters_rollups_total');
      // Windows of 1s; the write becomes immutable after accept_limit 5s + skew 1s.
      for (let i = 0; i < 5; i++) await h.scheduler.advance(1000);
      assert.equal(await counters.getCount(config, 'c'), 0n, 'not yet rolled up');
      for (let i = 0; i < 3; i++) await h.scheduler.advance(1000);
      assert.equal(await counters.getCount(config, 'c'), 3n);
      // One rollup per 1s window while behind (each advances the checkpoint), no tight loop.
      const applied = Number(/outcome="applied"\} (\d+)/.exec(await rollups())?.[1] ?? 0);
      assert.ok(applied >= 1 && applied <= 8, `rollups while behind: ${applied}`);
      // Caught up: no more timers once the read-triggered rollup has run.
      await h.scheduler.advance(1000);
      assert.equal(h.scheduler.pending, 0);
    } finally {
      await h.close();
    }
  });
});
