/**
 * The durable rollup tier (DESIGN 4.5, second bullet; docs/counters.md "Durable rollup
 * queue"): rollup events go to a shared {@link RollupBus} (NATS JetStream in a server
 * deployment) instead of this instance's in-process queue, so the instances of a
 * deployment consume them as one group and each (counter, coalesce window) with a write
 * or read is handled by one instance, once.
 *
 * - Publish: a write at time `t` fires one event for window `w = floor(max(now, t) /
 *   coalesce)`, so every write of the event is before the window's end (`coversMicros`).
 *   The bus drops a second publish of the same (counter, window) from any instance by
 *   message id; this instance also remembers what it published this window, so a hot
 *   counter costs one publish per window, not one per add.
 * - Due: when a rollup can first cover the window's writes, i.e. both (a) the window's
 *   end rounded up to the write-mark granularity (1 s) plus `acceptLimit + skewMargin`
 *   (rollups end that far behind now), and (b) the window's end plus the write hold
 *   (WRITE_HOLD_MICROS) plus twice the skew margin: by then the claim of every write that
 *   published in the window has expired, whatever the two instances' clock offsets
 *   within the margin, so the rollup is not held back by a claim of its own window.
 * - Consume: at delivery, one read of the rollup row; when the checkpoint is already at
 *   or past the window's end (another event's rollup covered it) or the counter is caught
 *   up, the event is acknowledged without a rollup (`skipped`, nothing written). Else the
 *   counter is rolled up and the event acknowledged once the checkpoint is committed (a
 *   rollup that failed is delivered again).
 * - No follow-ups: a rollup that is not caught up always has a later event still to
 *   come. Its writes past the rollup's end published events due after them; a claim that
 *   held it back belongs to a write whose event is due after the claim expires (b), and a
 *   write that fails after its claim or mark still publishes its event (service.ts). So
 *   the last event of a counter finds it caught up; the sweeper is left with what a
 *   crash between a write and its publish leaves behind.
 * - Bus down (not connected, or a publish refused): the event goes to the in-process
 *   queue of this instance, as without a bus; the write mark stays the truth and the
 *   sweeper heals anything both missed.
 *
 * - Bounded: a rollup not settled within `rollupTimeoutMs` (rollup-bound.ts, the pipelines'
 *   and the sweeper's bound) is reported (`outcome="timeout"`) and its event handed back
 *   ('retry': delivered again later, here or on another instance), so a hung store call
 *   holds one handler slot of the bus for that long, not for good. The rollup is not
 *   cancelled: until it settles its counter is *overdue* here, and a delivery of it to this
 *   instance is handed back without starting another (`outcome="overdue"`).
 *
 * Repeated work: none in the normal case; each (counter, window) event is handled once,
 * by one rollup or one skip. More only after a redelivery (an instance died or a rollup
 * failed: its events are handled again), while the bus is down (each instance's own
 * queue), and from the sweeper (one pass per instance per lifecycle interval).
 */
import { DEFAULT_ROLLUP_TIMEOUT_MS, OverdueRollups, rollupTimeoutError, startDeadline, TIMED_OUT } from './rollup-bound.js';
import type { Scheduler } from './scheduler.js';
import { MICROS_PER_MS } from '../../kernel/clock.js';
import type { Clock } from '../../kernel/clock.js';
import type { RollupBus, RollupDelivery, RollupEvent, RollupOutcome } from '../../storage/contracts.js';
import type { CounterConfig } from '../control/types.js';
import type { CounterMetrics } from './metrics.js';
import type { CounterRollupResult, RollupSkip } from './rollup.js';
import { MARK_GRANULARITY_MICROS, WRITE_HOLD_MICROS } from './write-marks.js';

/** What {@link DurableRollups} needs. */
export interface DurableRollupsOptions {
  bus: RollupBus;
  clock: Clock;
  metrics: CounterMetrics;
  /** The namespace's current configuration; undefined once it no longer exists. */
  resolve(namespace: string): Promise<CounterConfig | undefined>;
  /** Rolls a counter up unless its checkpoint already covers `coversMicros` (rollup.ts). */
  rollup(config: CounterConfig, counter: string, coversMicros: number | undefined): Promise<CounterRollupResult | RollupSkip>;
  /**
   * Whether a namespace's rollups may go through the bus: only when its rollup store is
   * shared by the instances (a MEMORY namespace's rows exist on one instance only).
   */
  eligible(config: CounterConfig): boolean;
  /** The in-process queue, for when the bus cannot take an event. */
  fallback(config: CounterConfig, counter: string): void;
  /** Reports failures of bus rollups, and rollups past `rollupTimeoutMs` (they are delivered again). */
  onError?(namespace: string, counter: string, err: unknown): void;
  /** Times the bound of each rollup. */
  scheduler: Scheduler;
  /** The bound of one rollup, in ms (default {@link DEFAULT_ROLLUP_TIMEOUT_MS}). */
  rollupTimeoutMs?: number;
  /**
   * A rollup of `namespace` passed the bound; the function returned is called once it
   * settles (the gauge of overdue rollups, overdue-gauge.ts).
   */
  onOverdue?(namespace: string): () => void;
}

/** Routes rollup events through the shared bus and rolls up what it delivers. */
export class DurableRollups {
  /** (namespace, counter) keys published per coalesce window, by `<coalesceMs>:<window>`; kept until the window ends. */
  private readonly published = new Map<string, { endMs: number; keys: Set<string> }>();
  private started = false;
  /** Counters (`namespace\0counter`) whose rollup passed the bound and has not settled. */
  private readonly overdue = new OverdueRollups();
  private readonly rollupTimeoutMs: number;

  constructor(private readonly options: DurableRollupsOptions) {
    this.rollupTimeoutMs = options.rollupTimeoutMs ?? DEFAULT_ROLLUP_TIMEOUT_MS;
  }

  /** How many of this instance's bus rollups passed the bound and have not settled (tests, diagnostics). */
  get overdueCount(): number {
    return this.overdue.size;
  }

  /**
   * Fires a rollup event through the bus for a write at `atMicros` (a read: now). False
   * when the bus is not connected (the caller uses its in-process queue); true when
   * published or already published this window. A publish that fails later falls back to
   * the in-process queue.
   */
  offer(config: CounterConfig, counter: string, atMicros?: number): boolean {
    const { bus, clock } = this.options;
    if (!this.options.eligible(config)) return false;
    if (!bus.connected) {
      this.options.metrics.busFallbacks.inc({ namespace: config.name });
      return false; // the caller's in-process queue takes it
    }
    const coalesceMs = coalesceMsOf(config);
    const nowMs = clock.nowMicros() / MICROS_PER_MS;
    // A write stamped ahead of now (a client's token) belongs to the window of its time.
    const window = Math.floor(Math.max(nowMs, (atMicros ?? 0) / MICROS_PER_MS) / coalesceMs);
    const key = `${config.name}\u0000${counter}`;
    const seen = this.windowSet(coalesceMs, window, nowMs);
    if (seen.has(key)) return true;
    seen.add(key);
    const endMicros = (window + 1) * coalesceMs * MICROS_PER_MS;
    const event: RollupEvent = { namespace: config.name, counter, notBeforeMs: dueMs(config, endMicros), coversMicros: endMicros - 1 };
    this.options.bus.publish(event, window).then(
      () => undefined,
      () => {
        seen.delete(key); // a later event of this window may try the bus again
        this.options.metrics.busFallbacks.inc({ namespace: config.name });
        this.options.fallback(config, counter);
      },
    );
    return true;
  }

  /** Starts consuming the bus (once). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.options.bus.start((event, delivery) => this.handle(event, delivery));
  }

  /** Handles one delivered event: skip when covered, else roll up; acknowledge. */
  private async handle(event: RollupEvent, delivery: RollupDelivery): Promise<RollupOutcome> {
    const { metrics } = this.options;
    let config: CounterConfig | undefined;
    try {
      config = await this.options.resolve(event.namespace);
    } catch (err) {
      this.options.onError?.(event.namespace, event.counter, err);
      return 'retry';
    }
    // A deleted namespace, or one that became BEST_EFFORT: nothing to roll up.
    if (!config || config.counterType === 'BEST_EFFORT' || !this.options.eligible(config)) return 'done';
    const namespace = config.name;
    const labels = { namespace, delivery: delivery.redelivered ? 'redelivered' : 'first' };
    const key = `${namespace}\u0000${event.counter}`;
    if (this.overdue.has(key)) {
      // This instance's last rollup of the counter is still running past its bound: hand
      // the event back rather than pile a second call onto a hung store.
      metrics.busRollups.inc({ ...labels, outcome: 'overdue' });
      return 'retry';
    }
    const { onOverdue } = this.options;
    const deadline = startDeadline(this.options.scheduler, this.rollupTimeoutMs);
    let result: CounterRollupResult | RollupSkip | typeof TIMED_OUT;
    let run: Promise<CounterRollupResult | RollupSkip>;
    try {
      run = this.options.rollup(config, event.counter, event.coversMicros);
      result = await this.overdue.race(key, run, deadline, onOverdue && (() => onOverdue(namespace)));
    } catch (err) {
      metrics.busRollups.inc({ ...labels, outcome: 'error' });
      this.options.onError?.(namespace, event.counter, err);
      return 'retry';
    } finally {
      deadline.cancel();
    }
    if (result === TIMED_OUT) {
      // Counted once here, and by the rollup itself if it ever settles (as the pipelines do);
      // a failure after the bound is still reported.
      run.then(undefined, (err: unknown) => {
        metrics.busRollups.inc({ ...labels, outcome: 'error' });
        this.options.onError?.(namespace, event.counter, err);
      });
      metrics.busRollups.inc({ ...labels, outcome: 'timeout' });
      metrics.rollups.inc({ namespace, outcome: 'timeout' });
      this.options.onError?.(namespace, event.counter, rollupTimeoutError(namespace, event.counter, this.rollupTimeoutMs));
      return 'retry';
    }
    if (typeof result === 'string') metrics.busSkipped.inc({ namespace, reason: result });
    else metrics.busRollups.inc({ ...labels, outcome: result.outcome });
    return 'done';
  }

  private windowSet(coalesceMs: number, window: number, nowMs: number): Set<string> {
    const id = `${coalesceMs}:${window}`;
    let entry = this.published.get(id);
    if (!entry) {
      // A new window: forget the ones that have ended.
      for (const [k, e] of this.published) if (e.endMs < nowMs) this.published.delete(k);
      entry = { endMs: (window + 1) * coalesceMs, keys: new Set() };
      this.published.set(id, entry);
    }
    return entry.keys;
  }
}

/**
 * When (epoch ms) the event of a window ending at `endMicros` is due: (a) a rollup
 * (ending at `now − acceptLimit − skewMargin`) can reach every write mark of the window,
 * marks being rounded up to MARK_GRANULARITY_MICROS (write-marks.ts); and (b) the claim
 * of every write that published in the window has expired: a claim is made before its
 * write publishes, so before `endMicros`, and holds for WRITE_HOLD_MICROS of the rollup
 * store's clock; the publisher's and the consumer's clocks each differ from that one by at
 * most the skew margin (issue 15), hence twice the margin.
 */
function dueMs(config: CounterConfig, endMicros: number): number {
  const mark = Math.ceil(endMicros / MARK_GRANULARITY_MICROS) * MARK_GRANULARITY_MICROS;
  const reachable = mark + config.events.primary.acceptLimitMicros + config.skewMarginMicros;
  const claimsExpired = endMicros + WRITE_HOLD_MICROS + 2 * config.skewMarginMicros;
  return Math.ceil(Math.max(reachable, claimsExpired) / MICROS_PER_MS) + 1;
}

/** The namespace's coalesce window in ms (at least 1). */
function coalesceMsOf(config: CounterConfig): number {
  return Math.max(1, Math.round(config.rollup.coalesceMicros / MICROS_PER_MS));
}
