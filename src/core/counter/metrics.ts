/**
 * Prometheus metrics of the Counter abstraction (documented in docs/counters.md). All are
 * registered on the registry the server passes in; a second service on the same registry
 * reuses the already registered metrics instead of failing.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Operation names used as the `operation` label. */
export type CounterOperation = 'AddCount' | 'AddAndGetCount' | 'GetCount' | 'ClearCount' | 'ReadCounterLog' | 'RecountCount' | 'CompareCounts';

/**
 * Outcome label of a rollup. The pipeline and the sweeper count `error` (the rollup failed)
 * and `timeout` (it had not settled within `rollupTimeoutMs`; it goes on, and counts its own
 * outcome too if it ever settles); the durable rollup bus counts its failures in `busRollups`.
 */
export type RollupOutcome = 'applied' | 'superseded' | 'noop' | 'error' | 'timeout';

/** The metrics one counter service reports. */
export interface CounterMetrics {
  /** Seconds between now and the counter's checkpoint, observed after each rollup. */
  readonly rollupLag: Histogram<'namespace'>;
  /** The lag seen by the latest rollup of the namespace (a gauge to alert on). */
  readonly rollupLagCurrent: Gauge<'namespace'>;
  /** Counters waiting in the rollup queues of this instance. */
  readonly queueDepth: Gauge<'namespace'>;
  /** Rollup events dropped because a queue was at capacity_bytes. */
  readonly droppedRollupEvents: Counter<'namespace'>;
  /** Rollups run, by outcome (rate() of it is rollups per second). */
  readonly rollups: Counter<'namespace' | 'outcome'>;
  /** Rollups past `rollupTimeoutMs` and not settled yet, pipelines' and sweeper's (overdue-gauge.ts keeps it). */
  readonly rollupsOverdue: Gauge<'namespace'>;
  /** Seconds per rollup batch (drives the adaptive wait). */
  readonly rollupBatchSeconds: Histogram<'namespace'>;
  /** API operations by counter type, operation and outcome (`ok` or the error code). */
  readonly operations: Counter<'counter_type' | 'operation' | 'outcome'>;
  /** API operation latency in seconds. */
  readonly operationSeconds: Histogram<'counter_type' | 'operation'>;
  /** Lagging counters the sweeper found and rolled up. */
  readonly sweptCounters: Counter<'namespace'>;
  /** Rollups run for events of the durable rollup bus, by outcome and delivery (first or redelivered). */
  readonly busRollups: Counter<'namespace' | 'outcome' | 'delivery'>;
  /** Rollup events sent to the in-process queue because the bus could not take them. */
  readonly busFallbacks: Counter<'namespace'>;
  /**
   * Events of the durable rollup bus acknowledged without a rollup, by reason: `covered`
   * (the checkpoint was already at or past every write of the event's window, or the
   * counter was caught up and a rollup would have changed nothing), `unwritten` (the
   * counter has no rollup row: never written). One read of the rollup row, nothing written.
   */
  readonly busSkipped: Counter<'namespace' | 'reason'>;
}

/** Creates (or finds) the counter metrics on `registry`; a private registry when none is given. */
export function createCounterMetrics(registry: Registry = new Registry()): CounterMetrics {
  const registers = [registry];
  return {
    rollupLag: reuse(registry, 'dgw_counters_rollup_lag_seconds', () =>
      new Histogram({
        name: 'dgw_counters_rollup_lag_seconds',
        help: 'Seconds between now and the rollup checkpoint, observed after each rollup',
        labelNames: ['namespace'],
        buckets: [1, 2, 5, 7, 10, 15, 30, 60, 300, 3600],
        registers,
      }),
    ),
    rollupLagCurrent: reuse(registry, 'dgw_counters_rollup_lag_current_seconds', () =>
      new Gauge({
        name: 'dgw_counters_rollup_lag_current_seconds',
        help: 'Seconds between now and the rollup checkpoint at the latest rollup of the namespace',
        labelNames: ['namespace'],
        registers,
      }),
    ),
    queueDepth: reuse(registry, 'dgw_counters_rollup_queue_depth', () =>
      new Gauge({
        name: 'dgw_counters_rollup_queue_depth',
        help: 'Counters waiting in the in-memory rollup queues of this instance',
        labelNames: ['namespace'],
        registers,
      }),
    ),
    droppedRollupEvents: reuse(registry, 'dgw_counters_rollup_events_dropped_total', () =>
      new Counter({
        name: 'dgw_counters_rollup_events_dropped_total',
        help: 'Rollup events dropped because the queue was at capacity_bytes (healed by the next read)',
        labelNames: ['namespace'],
        registers,
      }),
    ),
    rollups: reuse(registry, 'dgw_counters_rollups_total', () =>
      new Counter({
        name: 'dgw_counters_rollups_total',
        help: 'Counter rollups run, by outcome (applied, superseded, noop, error, timeout: not settled within --rollup-timeout-ms)',
        labelNames: ['namespace', 'outcome'],
        registers,
      }),
    ),
    rollupsOverdue: reuse(registry, 'dgw_counters_rollups_overdue', () =>
      new Gauge({
        name: 'dgw_counters_rollups_overdue',
        help: 'Counter rollups (pipeline, sweeper or durable bus) past --rollup-timeout-ms and not settled yet: hung store calls',
        labelNames: ['namespace'],
        registers,
      }),
    ),
    rollupBatchSeconds: reuse(registry, 'dgw_counters_rollup_batch_seconds', () =>
      new Histogram({
        name: 'dgw_counters_rollup_batch_seconds',
        help: 'Seconds taken by one batch of parallel rollups',
        labelNames: ['namespace'],
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
        registers,
      }),
    ),
    operations: reuse(registry, 'dgw_counters_operations_total', () =>
      new Counter({
        name: 'dgw_counters_operations_total',
        help: 'Counter API operations by counter type, operation and outcome',
        labelNames: ['counter_type', 'operation', 'outcome'],
        registers,
      }),
    ),
    operationSeconds: reuse(registry, 'dgw_counters_operation_seconds', () =>
      new Histogram({
        name: 'dgw_counters_operation_seconds',
        help: 'Counter API operation latency in seconds',
        labelNames: ['counter_type', 'operation'],
        buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
        registers,
      }),
    ),
    sweptCounters: reuse(registry, 'dgw_counters_swept_total', () =>
      new Counter({
        name: 'dgw_counters_swept_total',
        help: 'Counters the sweeper found with writes past their checkpoint and rolled up',
        labelNames: ['namespace'],
        registers,
      }),
    ),
    busRollups: reuse(registry, 'dgw_counters_bus_rollups_total', () =>
      new Counter({
        name: 'dgw_counters_bus_rollups_total',
        help: 'Rollups run for events of the durable rollup bus (NATS JetStream), by outcome (a rollup\'s own, error, timeout: past --rollup-timeout-ms, overdue: handed back unstarted while this instance\'s rollup of the counter is past the bound) and delivery (first, redelivered)',
        labelNames: ['namespace', 'outcome', 'delivery'],
        registers,
      }),
    ),
    busSkipped: reuse(registry, 'dgw_counters_bus_skipped_total', () =>
      new Counter({
        name: 'dgw_counters_bus_skipped_total',
        help: 'Durable rollup bus events acknowledged without a rollup, after one read of the rollup row and no write: covered (the checkpoint already covered the event\'s window, or nothing was left to roll up), unwritten (no rollup row)',
        labelNames: ['namespace', 'reason'],
        registers,
      }),
    ),
    busFallbacks: reuse(registry, 'dgw_counters_bus_fallbacks_total', () =>
      new Counter({
        name: 'dgw_counters_bus_fallbacks_total',
        help: 'Rollup events sent to the in-process queue because the durable rollup bus was down or refused them',
        labelNames: ['namespace'],
        registers,
      }),
    ),
  };
}

function reuse<M>(registry: Registry, name: string, create: () => M): M {
  const existing = registry.getSingleMetric(name);
  return existing === undefined ? create() : (existing as M);
}
