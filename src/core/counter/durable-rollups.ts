/**
 * The durable rollup tier (DESIGN 4.5, second bullet; docs/counters.md "Durable rollup
 * queue"): rollup events go to a shared {@link RollupBus} (NATS JetStream in a server
 * deployment) instead of this instance's in-process queue, so the instances of a
 * deployment consume them as one group and a counter is rolled up by one instance per
 * coalesce window instead of by every instance that served its writes.
 *
 * - Publish: one event per counter per coalesce window `w = floor(now / coalesce)`, due
 *   when a rollup can first cover every write of the window: its end, rounded up to the
 *   write-mark granularity (1 s), plus `acceptLimit + skewMargin` (a rollup ends there
 *   behind now). Rolled up any earlier, the window's writes would be out of its reach and
 *   the counter would need rolling up again. The bus drops a second publish of the same (counter, window) from any
 *   instance by message id; this instance also remembers what it published this window, so
 *   a hot counter costs one publish per window, not one per add.
 * - Consume: a delivered event is rolled up at or after its `notBefore` and acknowledged
 *   only once the rollup's checkpoint is committed (a rollup that failed is delivered
 *   again). A counter not caught up (writes past the new checkpoint, which the accept limit
 *   keeps out of reach) gets a follow-up event for the window in which it can catch up:
 *   `lastWrite + acceptLimit + skewMargin`, awaiting that write mark. Follow-ups of one
 *   counter for one window are one event (message id); a follow-up whose counter has been
 *   written since (a newer write mark: that write published its own event) or has caught
 *   up meanwhile is acknowledged without a rollup, so while writes go on follow-ups cost a
 *   read of the rollup row, not a rollup.
 * - Bus down (not connected, or a publish refused): the event goes to the in-process
 *   queue of this instance, as without a bus; the write mark stays the truth and the
 *   sweeper heals anything both missed.
 *
 * Repeated work (the bound docs/counters.md states): per counter, one bus rollup per
 * coalesce window that had a write or read of it, plus at most one follow-up per counter
 * after its last write (a write claim held a rollup back); more only after redeliveries (a consumer died or a rollup failed), while the bus
 * is down (each instance's own queue), and from the sweeper (one pass per instance per
 * lifecycle interval).
 */
import { MICROS_PER_MS } from '../../kernel/clock.js';
import type { Clock } from '../../kernel/clock.js';
import type { RollupBus, RollupDelivery, RollupEvent, RollupOutcome } from '../../storage/contracts.js';
import type { CounterConfig } from '../control/types.js';
import type { CounterMetrics } from './metrics.js';
import type { CounterRollupResult } from './rollup.js';
import { MARK_GRANULARITY_MICROS } from './write-marks.js';

/** What {@link DurableRollups} needs. */
export interface DurableRollupsOptions {
  bus: RollupBus;
  clock: Clock;
  metrics: CounterMetrics;
  /** The namespace's current configuration; undefined once it no longer exists. */
  resolve(namespace: string): Promise<CounterConfig | undefined>;
  /** The counter's write mark and checkpoint as stored; undefined when it has no rollup row. */
  readMarks(config: CounterConfig, counter: string): Promise<{ lastWriteMicros: number; checkpointMicros: number } | undefined>;
  /** Rolls a counter up (the same rollup the in-process pipeline runs). */
  rollup(config: CounterConfig, counter: string): Promise<CounterRollupResult>;
  /**
   * Whether a namespace's rollups may go through the bus: only when its rollup store is
   * shared by the instances (a MEMORY namespace's rows exist on one instance only).
   */
  eligible(config: CounterConfig): boolean;
  /** The in-process queue, for when the bus cannot take an event. */
  fallback(config: CounterConfig, counter: string): void;
  /** Reports failures of bus rollups (they are delivered again). */
  onError?(namespace: string, counter: string, err: unknown): void;
}

/** Routes rollup events through the shared bus and rolls up what it delivers. */
export class DurableRollups {
  /** (namespace, counter) keys published per coalesce window, by `<coalesceMs>:<window>`; kept until the window ends. */
  private readonly published = new Map<string, { endMs: number; keys: Set<string> }>();
  private started = false;

  constructor(private readonly options: DurableRollupsOptions) {}

  /**
   * Fires a rollup event through the bus. False when the bus is not connected (the caller
   * uses its in-process queue); true when published or already published this window. A
   * publish that fails later falls back to the in-process queue.
   */
  offer(config: CounterConfig, counter: string): boolean {
    const { bus, clock } = this.options;
    if (!this.options.eligible(config)) return false;
    if (!bus.connected) {
      this.options.metrics.busFallbacks.inc({ namespace: config.name });
      return false; // the caller's in-process queue takes it
    }
    const coalesceMs = coalesceMsOf(config);
    const nowMs = clock.nowMicros() / MICROS_PER_MS;
    const window = Math.floor(nowMs / coalesceMs);
    const key = `${config.name}\u0000${counter}`;
    const seen = this.windowSet(coalesceMs, window, nowMs);
    if (seen.has(key)) return true;
    seen.add(key);
    this.publish(config, counter, window, { notBeforeMs: reachableMs(config, (window + 1) * coalesceMs * MICROS_PER_MS) }, () => seen.delete(key));
    return true;
  }

  /** Starts consuming the bus (once). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.options.bus.start((event, delivery) => this.handle(event, delivery));
  }

  /** Handles one delivered event: roll up, follow up when not caught up, acknowledge. */
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
    let result: CounterRollupResult;
    try {
      if (event.awaitMarkMicros !== undefined) {
        const marks = await this.options.readMarks(config, event.counter);
        // Written since (that write published its own event), or caught up meanwhile.
        if (!marks || marks.lastWriteMicros > event.awaitMarkMicros || marks.checkpointMicros >= marks.lastWriteMicros) {
          metrics.busFollowUps.inc({ namespace: config.name, action: 'skipped' });
          return 'done';
        }
      }
      result = await this.options.rollup(config, event.counter);
    } catch (err) {
      metrics.busRollups.inc({ namespace: config.name, outcome: 'error', delivery: delivery.redelivered ? 'redelivered' : 'first' });
      this.options.onError?.(config.name, event.counter, err);
      return 'retry';
    }
    metrics.busRollups.inc({ namespace: config.name, outcome: result.outcome, delivery: delivery.redelivered ? 'redelivered' : 'first' });
    if (!result.caughtUp) this.followUp(config, event.counter, result.lastWriteMicros);
    return 'done';
  }

  /** A follow-up event for the window in which `lastWrite` is past the accept limit. */
  private followUp(config: CounterConfig, counter: string, lastWriteMicros: number): void {
    const coalesceMs = coalesceMsOf(config);
    const nowMs = this.options.clock.nowMicros() / MICROS_PER_MS;
    const atMs = reachableMs(config, lastWriteMicros);
    const window = Math.max(Math.floor(nowMs / coalesceMs) + 1, Math.floor(atMs / coalesceMs));
    if (!this.options.bus.connected) {
      this.fallback(config, counter);
      return;
    }
    this.options.metrics.busFollowUps.inc({ namespace: config.name, action: 'published' });
    this.publish(config, counter, window, { notBeforeMs: Math.max(atMs, (window + 1) * coalesceMs), awaitMarkMicros: lastWriteMicros }, () => undefined);
  }

  private publish(config: CounterConfig, counter: string, window: number, timing: Pick<RollupEvent, 'notBeforeMs' | 'awaitMarkMicros'>, forget: () => void): void {
    this.options.bus.publish({ namespace: config.name, counter, ...timing }, window).then(
      () => undefined,
      () => {
        forget(); // a later event of this window may try the bus again
        this.fallback(config, counter);
      },
    );
  }

  private fallback(config: CounterConfig, counter: string): void {
    this.options.metrics.busFallbacks.inc({ namespace: config.name });
    this.options.fallback(config, counter);
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
 * When a rollup can first cover a write at `micros` (epoch ms): rollups end at
 * `now − acceptLimit − skewMargin`, and the write mark they compare with is rounded up to
 * MARK_GRANULARITY_MICROS (write-marks.ts), so a rollup run then reaches the mark and is
 * caught up unless newer writes came (which published events of their own).
 */
function reachableMs(config: CounterConfig, micros: number): number {
  const mark = Math.ceil(micros / MARK_GRANULARITY_MICROS) * MARK_GRANULARITY_MICROS;
  return Math.ceil((mark + config.events.primary.acceptLimitMicros + config.skewMarginMicros) / MICROS_PER_MS) + 1;
}

/** The namespace's coalesce window in ms (at least 1). */
function coalesceMsOf(config: CounterConfig): number {
  return Math.max(1, Math.round(config.rollup.coalesceMicros / MICROS_PER_MS));
}
