/**
 * The rollup pipelines of one instance: one {@link RollupPipeline} per counter namespace,
 * built from the namespace's COUNTER_ROLLUP queue settings. When those settings change the
 * old pipeline is drained and a new one takes over (the article's "change num_queues and
 * re-deploy", without the re-deploy).
 */
import { MICROS_PER_MS } from '../../kernel/clock.js';
import type { CounterConfig } from '../control/types.js';
import type { CounterMetrics } from './metrics.js';
import type { OverdueGauge } from './overdue-gauge.js';
import { isRollupTimeout } from './rollup-bound.js';
import { RollupPipeline, type BackPressureOptions, type RollupResult } from './rollup-pipeline.js';
import type { Scheduler } from './scheduler.js';

/** Tuning of the pipelines that is not part of a namespace document. */
export interface PipelineOptions {
  /** Timers and time of the pipelines; a real setTimeout scheduler by default. */
  scheduler?: Scheduler;
  /** Adaptive wait between batches. */
  backPressure?: Partial<BackPressureOptions>;
  /**
   * Most ms a pipeline waits for one rollup (default DEFAULT_ROLLUP_TIMEOUT_MS, 10 s); the
   * sweeper's batches wait as long (sweeper.ts). Set per server, not per namespace: it
   * bounds a hung store call, a property of the deployment.
   */
  rollupTimeoutMs?: number;
  /** Estimated bytes per queued counter (capacity accounting). */
  entryBytes?(counter: string): number;
  /** Reports rollup failures and rollups past `rollupTimeoutMs` (both retried in the next window). */
  onError?(namespace: string, counter: string, err: unknown): void;
}

interface Entry {
  settingsKey: string;
  pipeline: RollupPipeline;
  config: CounterConfig;
}

/** A shared rollup queue that may take an event instead of this instance's pipelines. */
export interface SharedRollupQueue {
  /**
   * True when it took the event; false when the in-process pipeline must. `atMicros` is
   * the time of the write that fired it (absent: a read, now).
   */
  offer(config: CounterConfig, counter: string, atMicros?: number): boolean;
}

/** Per-namespace rollup pipelines. */
export class PipelinesByNamespace {
  private readonly entries = new Map<string, Entry>();
  private shared: SharedRollupQueue | undefined;
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly options: PipelineOptions,
    private readonly metrics: CounterMetrics,
    private readonly rollup: (config: CounterConfig, counter: string) => Promise<RollupResult>,
    /** The gauge of overdue rollups, shared with the sweeper: a namespace's series lives as long as its pipeline. */
    private readonly overdue: OverdueGauge,
  ) {}

  /**
   * Fires a rollup event `{namespace, counter}`: to the shared queue when one is in use
   * and takes it (durable-rollups.ts), else to this instance's pipeline. False when dropped.
   * `atMicros`: the time of the write that fires it (absent: a read).
   */
  trigger(config: CounterConfig, counter: string, atMicros?: number): boolean {
    if (this.closed) return false;
    if (this.shared?.offer(config, counter, atMicros)) return true;
    return this.pipelineOf(config).enqueue(counter);
  }

  /** Fires a rollup event into this instance's pipeline only (the shared queue's fallback). */
  triggerLocal(config: CounterConfig, counter: string): boolean {
    if (this.closed) return false;
    return this.pipelineOf(config).enqueue(counter);
  }

  /** Routes rollup events through `shared` from now on (the durable rollup bus). */
  useShared(shared: SharedRollupQueue): void {
    this.shared = shared;
  }

  /** The pipeline of a namespace, if one was started (tests, diagnostics). */
  get(namespace: string): RollupPipeline | undefined {
    return this.entries.get(namespace)?.pipeline;
  }

  /**
   * Drains and forgets the pipeline of a namespace being deleted, so neither it nor its
   * metric series outlive the namespace (a later trigger starts a fresh one).
   */
  async retire(namespace: string): Promise<void> {
    const entry = this.entries.get(namespace);
    if (!entry) return;
    this.entries.delete(namespace);
    this.overdue.forget(namespace);
    await entry.pipeline.shutdown();
  }

  /** Drains and stops every pipeline. */
  async shutdown(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.entries.values()].map((e) => e.pipeline.shutdown()));
    await Promise.all(this.retiring);
  }

  private pipelineOf(config: CounterConfig): RollupPipeline {
    const existing = this.entries.get(config.name);
    // The hot path (every add and read): the same configuration object as last time.
    if (existing && existing.config === config) return existing.pipeline;
    const r = config.rollup;
    const settingsKey = `${r.numQueues}/${r.coalesceMicros}/${r.capacityBytes}/${r.rollupBatchCount}`;
    if (existing && existing.settingsKey === settingsKey) {
      existing.config = config; // rollups always use the latest configuration
      return existing.pipeline;
    }
    if (existing) {
      const drained = existing.pipeline.shutdown().finally(() => this.retiring.delete(drained));
      this.retiring.add(drained);
    }
    const ns = config.name;
    const entry: Entry = { settingsKey, config, pipeline: undefined as unknown as RollupPipeline };
    entry.pipeline = new RollupPipeline({
      namespace: ns,
      numQueues: r.numQueues,
      coalesceMs: r.coalesceMicros / MICROS_PER_MS,
      capacityBytes: r.capacityBytes,
      batchCount: r.rollupBatchCount,
      scheduler: this.scheduler,
      rollup: (counter) => this.rollup(entry.config, counter),
      ...(this.options.backPressure ? { backPressure: this.options.backPressure } : {}),
      ...(this.options.rollupTimeoutMs !== undefined ? { rollupTimeoutMs: this.options.rollupTimeoutMs } : {}),
      ...(this.options.entryBytes ? { entryBytes: this.options.entryBytes } : {}),
      onDrop: () => this.metrics.droppedRollupEvents.inc({ namespace: ns }),
      onDepth: (depth) => this.metrics.queueDepth.set({ namespace: ns }, depth),
      onBatch: (seconds) => this.metrics.rollupBatchSeconds.observe({ namespace: ns }, seconds),
      onError: (counter, err) => {
        this.metrics.rollups.inc({ namespace: ns, outcome: isRollupTimeout(err) ? 'timeout' : 'error' });
        this.options.onError?.(ns, counter, err);
      },
      onOverdue: () => this.overdue.overdue(ns),
    });
    this.entries.set(ns, entry);
    this.overdue.show(ns);
    return entry.pipeline;
  }
}
