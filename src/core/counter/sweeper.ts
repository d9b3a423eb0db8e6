/**
 * The sweeper (DESIGN 4.5): rolls up every counter of a namespace whose write mark is past
 * its checkpoint, whether or not a queue holds it (after a crash, a dropped rollup event).
 *
 * - It pages through `RollupStore.laggingCounters` and rolls each counter up once, in
 *   batches of `rollup_batch_count` run in parallel.
 * - A failed rollup is counted as `outcome="error"`, as the pipeline counts its own, and in
 *   {@link SweepResult.failed}.
 * - Each batch waits at most `rollupTimeoutMs` (the pipelines' bound, rollup-bound.ts): a
 *   rollup still running then is counted as timed out (`outcome="timeout"`; and as overdue,
 *   overdue-gauge.ts, until it settles) and the sweep moves on, so a hung store call no longer stalls the sweep, the lifecycle pass that runs
 *   it, and the server's shutdown that waits for that pass.
 * - A counter whose earlier rollup on this instance (a sweep's, or its pipeline's) is past
 *   the bound and has not settled gets no sweep rollup: it is counted as timed out too. So
 *   a hung store holds at most one sweep rollup per counter, however many sweeps run.
 * - {@link Sweeper.shutdown} stops the sweeps: a running batch still waits (at most the
 *   bound), a page read is abandoned, and the sweep then rejects instead of going on.
 *
 * A timed-out counter has not been rolled up: like a failed one, it keeps the namespace's
 * slices until a later pass (service.ts, `runLifecycle`).
 */
import type { CounterConfig } from '../control/types.js';
import { DgwError } from '../../kernel/errors.js';
import type { StoresByKey } from '../../storage/contracts.js';
import type { CounterMetrics } from './metrics.js';
import { OverdueRollups, startDeadline, TIMED_OUT, type RollupDeadline } from './rollup-bound.js';
import type { Scheduler } from './scheduler.js';

/** What one sweep did. */
export interface SweepResult {
  /** Lagging counters found (each rolled up once, or counted below). */
  swept: number;
  /** Of those, rollups that failed (retried by the next sweep). */
  failed: number;
  /**
   * Of those, counters not rolled up within `rollupTimeoutMs`: this sweep's rollup did not
   * settle in time, or an earlier rollup of the counter on this instance (pipeline or
   * sweep) is still running past the bound, so none was started. Retried by the next sweep.
   */
  timedOut: number;
}

/** Options of a {@link Sweeper}. */
export interface SweeperOptions {
  catalog: StoresByKey;
  /** The counter service's scheduler: the bound's timers run on it. */
  scheduler: Scheduler;
  metrics: CounterMetrics;
  /** Most ms a batch of sweep rollups waits (the pipelines' bound). */
  rollupTimeoutMs: number;
  /** Rolls one counter up; a rejection is a failed rollup. */
  rollup(config: CounterConfig, counter: string): Promise<unknown>;
  /** Whether this instance's pipeline of `namespace` has a rollup of `counter` past the bound, not settled. */
  pipelineOverdue(namespace: string, counter: string): boolean;
  /** A sweep rollup of `namespace` passed the bound; the function returned is called once it settles (the overdue gauge). */
  onOverdue(namespace: string): () => void;
}

/** Lagging counters read per page. */
const SWEEP_PAGE = 1000;

/** What a page read gives when shutdown comes first. */
const STOPPED = Symbol('stopped');

/** What became of one counter of a sweep batch. */
type SweepVerdict = 'rolled-up' | 'failed' | typeof TIMED_OUT;

/** The sweeper of one counter service. */
export class Sweeper {
  /**
   * Sweep rollups past the bound and not settled, keyed `<namespace>:<counter>` (namespace
   * names hold no colon). Sweeps of one namespace do not overlap when run by the server's
   * lifecycle timer (it skips a tick while a pass runs), but a direct `runLifecycle` call may
   * overlap one; this set holds across sweeps either way.
   */
  private readonly overdue = new OverdueRollups();
  private readonly running = new Set<Promise<unknown>>();
  /** Ends the waits of page reads in progress (one per read: a promise that lived as long as the sweeper would keep a reaction per read). */
  private readonly stopWaits = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: SweeperOptions) {}

  /** Most ms a batch of sweep rollups waits. */
  get rollupTimeoutMs(): number {
    return this.options.rollupTimeoutMs;
  }

  /** Sweeps `config`'s namespace once; rejects (UNAVAILABLE) once {@link shutdown} has begun. */
  sweep(config: CounterConfig): Promise<SweepResult> {
    const run = this.run(config);
    const ended = run.then(
      () => undefined,
      () => undefined,
    );
    this.running.add(ended);
    void ended.then(() => this.running.delete(ended));
    return run;
  }

  /**
   * Stops sweeping and waits for the running sweeps to end: each ends after its current
   * batch (which waits at most `rollupTimeoutMs`) or at once if it is reading a page.
   */
  async shutdown(): Promise<void> {
    this.closed = true;
    for (const stop of this.stopWaits) stop();
    await Promise.all(this.running);
  }

  private async run(config: CounterConfig): Promise<SweepResult> {
    const result: SweepResult = { swept: 0, failed: 0, timedOut: 0 };
    if (config.counterType === 'BEST_EFFORT') return result;
    const parallel = Math.max(1, config.rollup.rollupBatchCount);
    let after = '';
    for (;;) {
      const page = await this.nextPage(config, after);
      for (let i = 0; i < page.length; i += parallel) {
        if (this.closed) throw shuttingDown(config);
        await this.sweepBatch(config, page.slice(i, i + parallel), result);
      }
      result.swept += page.length;
      this.options.metrics.sweptCounters.inc({ namespace: config.name }, page.length);
      if (page.length < SWEEP_PAGE) return result;
      after = page[page.length - 1]!;
    }
  }

  /**
   * The next page of lagging counters. Not bounded (a page of a large Cassandra table may
   * take long, docs/cassandra.md), but shutdown does not wait for it.
   */
  private async nextPage(config: CounterConfig, after: string): Promise<string[]> {
    if (this.closed) throw shuttingDown(config);
    let stop = (): void => undefined;
    const stopped = new Promise<typeof STOPPED>((resolve) => (stop = () => resolve(STOPPED)));
    this.stopWaits.add(stop);
    try {
      const read = this.options.catalog.rollups(config.rollup.storage.store).laggingCounters(config.name, after, SWEEP_PAGE);
      const page = await Promise.race([read, stopped]);
      if (page === STOPPED) throw shuttingDown(config);
      return page;
    } finally {
      this.stopWaits.delete(stop);
    }
  }

  /** Rolls a batch up in parallel, waiting at most `rollupTimeoutMs`; counts what failed or timed out. */
  private async sweepBatch(config: CounterConfig, batch: string[], result: SweepResult): Promise<void> {
    const deadline = startDeadline(this.options.scheduler, this.options.rollupTimeoutMs);
    const verdicts = await Promise.all(batch.map((counter) => this.sweepOne(config, counter, deadline)));
    deadline.cancel();
    for (const verdict of verdicts) {
      if (verdict === 'failed') result.failed++;
      else if (verdict === TIMED_OUT) result.timedOut++;
    }
  }

  private async sweepOne(config: CounterConfig, counter: string, deadline: RollupDeadline): Promise<SweepVerdict> {
    const key = `${config.name}:${counter}`;
    // Starting another rollup would be safe (rollup.ts: the checkpoint only moves forward, by
    // a conditional write) but would pile one more pending call per sweep on a hung store.
    // The pipeline does not ask the sweeper in turn: its own overdue set stops it after one,
    // so a hung store holds at most one sweep and one pipeline rollup per counter here.
    if (this.overdue.has(key) || this.options.pipelineOverdue(config.name, counter)) return TIMED_OUT;
    const run = this.options.rollup(config, counter).then(
      (): SweepVerdict => 'rolled-up',
      (): SweepVerdict => {
        // As the pipeline counts its failed rollups; also one failing after the bound (then
        // counted as "timeout" first: each rollup counts its own outcome when it settles).
        this.options.metrics.rollups.inc({ namespace: config.name, outcome: 'error' });
        return 'failed';
      },
    );
    const verdict = await this.overdue.race(key, run, deadline, () => this.options.onOverdue(config.name));
    if (verdict === TIMED_OUT) this.options.metrics.rollups.inc({ namespace: config.name, outcome: 'timeout' });
    return verdict;
  }
}

/** Why a sweep stopped early: it must not look complete (its caller would drop slices). */
function shuttingDown(config: CounterConfig): DgwError {
  return new DgwError(
    'UNAVAILABLE',
    `sweep of "${config.name}" stopped: the counter service is shutting down (the next lifecycle pass, here or on another instance, sweeps again)`,
  );
}
