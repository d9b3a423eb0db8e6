/**
 * The rollup pipeline of one counter namespace on one instance (DESIGN 4.3, last bullet).
 *
 * - `numQueues` in-memory queues; a counter is routed by xxHash of `<namespace>:<counter>`,
 *   so the same counter always lands on the same queue of an instance.
 * - Rollup events coalesce into a Set for `coalesceMs` after the first one: one rollup per
 *   counter per window, however many events it received.
 * - A window is worked in batches of `batchCount` counters rolled up in parallel; the wait
 *   before the next batch is `clamp(lastBatchLatency × factor, minWaitMs, maxWaitMs)`, so a
 *   slow store gets more breathing room (back-pressure).
 * - Each queue holds at most `capacityBytes` (an estimate per entry); an event that does
 *   not fit is dropped and counted. Nothing is lost: the next read or write of that
 *   counter triggers a rollup again, and the rollup reads from the durable checkpoint.
 * - A rollup that reports "not caught up" (lastWriteTs past the new checkpoint) re-queues
 *   the counter into the next window, until it has caught up.
 * - A rollup not settled within `rollupTimeoutMs` stops holding its batch: it is reported
 *   (`onError`, a DEADLINE_EXCEEDED error: `isRollupTimeout`, rollup-bound.ts) and its counter
 *   re-queued, so one hung store call cannot stall every counter of its queue. The rollup is
 *   not cancelled (the store contracts take no cancel signal); until it settles its counter
 *   is skipped, so a hung store holds at most one rollup per counter of this pipeline.
 * - {@link RollupPipeline.shutdown} drains: every queued counter is rolled up once more,
 *   unless a rollup of that queue's drain times out (the store is taken as hung).
 *
 * The pipeline knows nothing about stores: it calls `rollup(counter)`. Timers go through
 * the injected {@link Scheduler}.
 */
import { bucketOf } from '../../kernel/hash.js';
import { DEFAULT_ROLLUP_TIMEOUT_MS, OverdueRollups, rollupTimeoutError, startDeadline, TIMED_OUT, type RollupDeadline } from './rollup-bound.js';
import type { Scheduler, TimerHandle } from './scheduler.js';

/** What one rollup reports back to the pipeline. */
export interface RollupResult {
  /** False when writes exist past the new checkpoint: the counter is re-queued. */
  caughtUp: boolean;
}

/** Adaptive wait between batches. */
export interface BackPressureOptions {
  /** wait = lastBatchLatency × factor (default 1). */
  factor: number;
  /** Lower bound of the wait in ms (default 0). */
  minWaitMs: number;
  /** Upper bound of the wait in ms (default 1000). */
  maxWaitMs: number;
}

/** Options of a {@link RollupPipeline}. */
export interface RollupPipelineOptions {
  namespace: string;
  numQueues: number;
  coalesceMs: number;
  capacityBytes: number;
  batchCount: number;
  scheduler: Scheduler;
  /** Rolls one counter up. A rejection counts as "not caught up" (retried next window). */
  rollup(counter: string): Promise<RollupResult>;
  /**
   * Most ms a batch (or the drain) waits for one rollup (default
   * {@link DEFAULT_ROLLUP_TIMEOUT_MS}); past it the rollup is reported and its counter
   * re-queued, and no other rollup of that counter starts until it settles.
   */
  rollupTimeoutMs?: number;
  backPressure?: Partial<BackPressureOptions>;
  /** Estimated bytes one queued counter costs (default: 2 bytes per UTF-16 unit + 64). */
  entryBytes?(counter: string): number;
  /** Observers (metrics). */
  onDrop?(counter: string): void;
  onDepth?(depth: number): void;
  onBatch?(seconds: number, size: number): void;
  /** A failed rollup, or one past `rollupTimeoutMs` (`isRollupTimeout` of rollup-bound.ts tells them apart). */
  onError?(counter: string, err: unknown): void;
  /**
   * A rollup of `counter` passed `rollupTimeoutMs` (once per rollup, with its `onError`); the
   * function returned is called once that rollup settles, so the pipeline's {@link RollupPipeline.overdue}
   * can be followed without polling it.
   */
  onOverdue?(counter: string): () => void;
}

/** A snapshot of one queue, for tests and diagnostics. */
export interface QueueStats {
  /** Counters waiting for the next window. */
  pending: number;
  /** Counters of the current window not rolled up yet. */
  working: number;
  /** Estimated bytes held (pending and working). */
  bytes: number;
  lastBatchMs: number;
  /** The wait chosen after the last batch. */
  lastWaitMs: number;
}

interface QueueState {
  pending: Set<string>;
  firstPendingAtMs: number;
  work: string[];
  bytes: number;
  timer?: TimerHandle;
  inflight?: Promise<void>;
  lastBatchMs: number;
  lastWaitMs: number;
}

/** What a batch makes of one counter: caught up (true), to be re-queued (false), or past its bound. */
type RollupVerdict = boolean | typeof TIMED_OUT;

/** Default estimate of the memory one queued counter costs. */
export function defaultEntryBytes(counter: string): number {
  return 2 * counter.length + 64;
}

/** Queues, coalescing windows and adaptive batches of rollups for one namespace. */
export class RollupPipeline {
  private readonly queues: QueueState[];
  /**
   * Every counter waiting in some queue's `pending`: a hot counter's repeated events
   * (one per add and read) are coalesced here without hashing its name to find its queue.
   */
  private readonly pendingAny = new Set<string>();
  /**
   * Counters whose rollup passed `rollupTimeoutMs` and has not settled yet. Starting another
   * would be safe (rollup.ts: the checkpoint only moves forward, by a conditional write, so
   * concurrent rollups of one counter converge) but a hung store would then gather one more
   * pending rollup per counter per window; so they are skipped (re-queued) until it settles.
   */
  private readonly overdueCounters = new OverdueRollups();
  private readonly rollupTimeoutMs: number;
  private readonly backPressure: BackPressureOptions;
  private readonly entryBytes: (counter: string) => number;
  private droppedTotal = 0;
  private draining = false;
  private closed = false;

  constructor(private readonly options: RollupPipelineOptions) {
    const n = Math.max(1, Math.floor(options.numQueues));
    this.queues = Array.from({ length: n }, () => ({
      pending: new Set<string>(),
      firstPendingAtMs: 0,
      work: [],
      bytes: 0,
      lastBatchMs: 0,
      lastWaitMs: 0,
    }));
    this.backPressure = { factor: 1, minWaitMs: 0, maxWaitMs: 1000, ...options.backPressure };
    this.entryBytes = options.entryBytes ?? defaultEntryBytes;
    this.rollupTimeoutMs = options.rollupTimeoutMs ?? DEFAULT_ROLLUP_TIMEOUT_MS;
  }

  /**
   * Fires a rollup event for `counter` (fire and forget). Returns false when it was dropped
   * (queue full, or the pipeline is shut down), true when queued or coalesced.
   */
  enqueue(counter: string): boolean {
    if (this.closed) return false;
    if (this.pendingAny.has(counter)) return true;
    const q = this.queueOf(counter);
    return this.add(q, counter);
  }

  /** Counters held by all queues (pending and in the current windows). */
  get depth(): number {
    let d = 0;
    for (const q of this.queues) d += q.pending.size + q.work.length;
    return d;
  }

  /** Rollup events dropped for lack of capacity since creation. */
  get dropped(): number {
    return this.droppedTotal;
  }

  /**
   * Counters whose rollup passed `rollupTimeoutMs` and has not settled yet: each holds one
   * pending rollup (a hung store call); none gets another until it settles.
   */
  get overdue(): number {
    return this.overdueCounters.size;
  }

  /** Whether a rollup of `counter` passed `rollupTimeoutMs` and has not settled yet (the sweeper asks). */
  isOverdue(counter: string): boolean {
    return this.overdueCounters.has(counter);
  }

  /** Per-queue snapshot. */
  stats(): QueueStats[] {
    return this.queues.map((q) => ({
      pending: q.pending.size,
      working: q.work.length,
      bytes: q.bytes,
      lastBatchMs: q.lastBatchMs,
      lastWaitMs: q.lastWaitMs,
    }));
  }

  /** Index of the queue `counter` is routed to. */
  queueIndexOf(counter: string): number {
    return bucketOf(`${this.options.namespace}:${counter}`, this.queues.length);
  }

  /**
   * Stops accepting events and drains: waits for running batches, then rolls up every
   * counter still queued once, without waits and without re-queueing. Each batch waits at
   * most `rollupTimeoutMs`; a queue whose drain has a rollup time out stops draining there
   * (its store is taken as hung: the counters left are healed by their next read or the
   * sweeper, DESIGN 4.5), so a hung store holds this drain for about twice the bound at
   * most (the stores' own close, after it, is theirs to bound).
   */
  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.draining = true;
    for (const q of this.queues) {
      q.timer?.cancel();
      q.timer = undefined;
    }
    await Promise.all(this.queues.map((q) => q.inflight));
    await Promise.all(
      this.queues.map(async (q) => {
        const work = [...q.work, ...q.pending];
        q.work = [];
        this.takePending(q);
        for (let i = 0; i < work.length; i += this.batchCount()) {
          if (await this.runBatch(q, work.slice(i, i + this.batchCount()))) break;
        }
        q.bytes = 0;
      }),
    );
    this.options.onDepth?.(0);
  }

  private queueOf(counter: string): QueueState {
    return this.queues[this.queueIndexOf(counter)]!;
  }

  private batchCount(): number {
    return Math.max(1, Math.floor(this.options.batchCount));
  }

  private add(q: QueueState, counter: string): boolean {
    if (q.pending.has(counter)) return true;
    const cost = this.entryBytes(counter);
    if (q.bytes + cost > this.options.capacityBytes) {
      this.droppedTotal++;
      this.options.onDrop?.(counter);
      return false;
    }
    if (q.pending.size === 0) q.firstPendingAtMs = this.options.scheduler.nowMs();
    q.pending.add(counter);
    this.pendingAny.add(counter);
    q.bytes += cost;
    this.options.onDepth?.(this.depth);
    this.armWindow(q, 0);
    return true;
  }

  /** Schedules the next window of `q` unless one is scheduled or running. */
  private armWindow(q: QueueState, minDelayMs: number): void {
    if (this.draining || q.timer !== undefined || q.work.length > 0 || q.inflight !== undefined) return;
    if (q.pending.size === 0) return;
    const elapsed = this.options.scheduler.nowMs() - q.firstPendingAtMs;
    const delay = Math.max(minDelayMs, this.options.coalesceMs - elapsed, 0);
    q.timer = this.options.scheduler.setTimer(delay, () => this.startWindow(q));
  }

  private startWindow(q: QueueState): Promise<void> {
    q.timer = undefined;
    if (this.draining || q.pending.size === 0) return Promise.resolve();
    q.work = [...q.pending];
    this.takePending(q);
    return this.nextBatch(q);
  }

  /** Empties `q.pending` (its counters move to the window or the drain). */
  private takePending(q: QueueState): void {
    for (const counter of q.pending) this.pendingAny.delete(counter);
    q.pending = new Set();
  }

  private nextBatch(q: QueueState): Promise<void> {
    q.timer = undefined;
    if (this.draining) return Promise.resolve();
    const batch = q.work.splice(0, this.batchCount());
    const run = this.runBatch(q, batch).then(() => {
      q.inflight = undefined;
      if (this.draining) return;
      if (q.work.length > 0) {
        q.timer = this.options.scheduler.setTimer(q.lastWaitMs, () => this.nextBatch(q));
      } else {
        // The next window also respects the back-pressure wait.
        this.armWindow(q, q.lastWaitMs);
      }
    });
    q.inflight = run;
    return run;
  }

  /**
   * Rolls a batch up in parallel, waiting at most `rollupTimeoutMs`; never rejects.
   * Re-queues what is not caught up. True when a rollup of the batch timed out.
   */
  private async runBatch(q: QueueState, batch: string[]): Promise<boolean> {
    if (batch.length === 0) return false;
    const { scheduler } = this.options;
    const started = scheduler.nowMs();
    // One deadline per batch: its rollups start together. The timer returns the queue's
    // follow-up (the next batch or window being armed) so that a scheduler stepping time
    // (ManualScheduler) has seen it when the step ends.
    const deadline = startDeadline(scheduler, this.rollupTimeoutMs, () => q.inflight);
    const verdicts = await Promise.all(batch.map((counter) => this.rollupWithin(counter, deadline)));
    deadline.cancel();
    const latency = Math.max(0, scheduler.nowMs() - started);
    const { factor, minWaitMs, maxWaitMs } = this.backPressure;
    q.lastBatchMs = latency;
    q.lastWaitMs = Math.min(maxWaitMs, Math.max(minWaitMs, latency * factor));
    this.options.onBatch?.(latency / 1000, batch.length);
    for (const [i, counter] of batch.entries()) {
      q.bytes = Math.max(0, q.bytes - this.entryBytes(counter));
      if (verdicts[i] !== true && !this.draining) this.add(q, counter);
    }
    this.options.onDepth?.(this.depth);
    return verdicts.includes(TIMED_OUT);
  }

  /**
   * One rollup of a batch: whether it caught up (failures are reported and count as not),
   * or TIMED_OUT when the deadline passed first; then it is reported and its counter is overdue
   * until the rollup settles. An overdue counter gets no second rollup (false: re-queued).
   */
  private async rollupWithin(counter: string, deadline: RollupDeadline): Promise<RollupVerdict> {
    if (this.overdueCounters.has(counter)) return false;
    const { onOverdue } = this.options;
    const verdict = await this.overdueCounters.race(counter, this.rollupOnce(counter), deadline, onOverdue && (() => onOverdue(counter)));
    if (verdict !== TIMED_OUT) return verdict;
    this.options.onError?.(counter, rollupTimeoutError(this.options.namespace, counter, this.rollupTimeoutMs));
    return TIMED_OUT;
  }

  /** Rolls `counter` up: whether it caught up; never rejects (a failure is reported, and is false). */
  private async rollupOnce(counter: string): Promise<boolean> {
    try {
      return (await this.options.rollup(counter)).caughtUp;
    } catch (err) {
      this.options.onError?.(counter, err);
      return false;
    }
  }
}
