/**
 * Prometheus metrics of the TimeSeries abstraction (DESIGN 3, issue 2 item 8).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The TimeSeries metrics, registered on one registry. */
export interface TimeSeriesMetrics {
  eventsWritten: Counter<'namespace' | 'mode'>;
  eventsLost: Counter<'namespace'>;
  commitBatchEvents: Histogram;
  commitSeconds: Histogram;
  lifecycleRuns: Counter<'result'>;
  slicesChanged: Counter<'status'>;
}

/**
 * Creates the metrics on `registry`. Gauges whose value is read at scrape time (queue
 * depth, slices by status) take collect callbacks.
 */
export function createTimeSeriesMetrics(
  registry: Registry,
  collect: { queueDepth(): { bytes: number; events: number }; slicesByStatus(): Record<string, number> },
): TimeSeriesMetrics {
  const registers = [registry];
  new Gauge({
    name: 'dgw_timeseries_queue_bytes',
    help: 'Bytes waiting in WriteEventRecords buffers',
    registers,
    collect() {
      this.set(collect.queueDepth().bytes);
    },
  });
  new Gauge({
    name: 'dgw_timeseries_queue_events',
    help: 'Events waiting in WriteEventRecords buffers',
    registers,
    collect() {
      this.set(collect.queueDepth().events);
    },
  });
  new Gauge({
    name: 'dgw_timeseries_slices',
    help: 'Time slices known to this instance, by status',
    labelNames: ['status'],
    registers,
    collect() {
      const by = collect.slicesByStatus();
      for (const status of ['ACTIVE', 'CLOSED', 'DROPPED']) this.set({ status }, by[status] ?? 0);
    },
  });
  return {
    eventsWritten: new Counter({
      name: 'dgw_timeseries_events_written_total',
      help: 'Events durably written, by namespace and mode (sync, buffered)',
      labelNames: ['namespace', 'mode'],
      registers,
    }),
    eventsLost: new Counter({
      name: 'dgw_timeseries_buffered_events_failed_total',
      help: 'Buffered events whose background commit failed',
      labelNames: ['namespace'],
      registers,
    }),
    commitBatchEvents: new Histogram({
      name: 'dgw_timeseries_commit_batch_events',
      help: 'Events per group commit',
      buckets: [1, 10, 50, 100, 500, 1000, 5000],
      registers,
    }),
    commitSeconds: new Histogram({
      name: 'dgw_timeseries_commit_seconds',
      help: 'Duration of one group commit',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    }),
    lifecycleRuns: new Counter({
      name: 'dgw_timeseries_lifecycle_runs_total',
      help: 'Lifecycle passes over namespaces, by result',
      labelNames: ['result'],
      registers,
    }),
    slicesChanged: new Counter({
      name: 'dgw_timeseries_slices_changed_total',
      help: 'Slices created, closed or dropped by the lifecycle task',
      labelNames: ['status'],
      registers,
    }),
  };
}
