/**
 * Prometheus metrics of the durable rollup queue (docs/counters.md "Durable rollup
 * queue"), read from the bus's own counts at each scrape: events pending on the stream and
 * delivered but unacknowledged, and since start-up the events published, refused as
 * duplicates of the same counter and window, acknowledged, redelivered (a consumer died
 * holding them, or a rollup failed) and deferred (given back until due); and whether
 * the bus is connected. The status page charts them from GET /v1/status.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RollupBus, RollupBusStats } from '../../storage/contracts.js';

/** Names of the bus metrics (status.ts reads them back). */
export const ROLLUP_BUS_METRICS = {
  connected: 'dgw_rollup_bus_connected',
  pending: 'dgw_rollup_bus_pending_events',
  ackPending: 'dgw_rollup_bus_ack_pending_events',
  published: 'dgw_rollup_bus_published_total',
  duplicates: 'dgw_rollup_bus_duplicates_total',
  acknowledged: 'dgw_rollup_bus_acknowledged_total',
  redelivered: 'dgw_rollup_bus_redelivered_total',
  deferred: 'dgw_rollup_bus_deferred_total',
} as const;

/** Registers the bus metrics on `registry`. */
export function registerRollupBusMetrics(registry: Registry, bus: RollupBus): void {
  const registers = [registry];
  const gauge = (name: string, help: string, read: (s: RollupBusStats) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read(bus.stats()));
      },
    });
  const total = (name: string, help: string, read: (s: RollupBusStats) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        // The bus keeps the running total; the metric shows it as is.
        this.reset();
        this.inc(read(bus.stats()));
      },
    });
  new Gauge({
    name: ROLLUP_BUS_METRICS.connected,
    help: '1 while the durable rollup bus (NATS JetStream) is connected; 0 while rollup events fall back to the in-process queue',
    registers,
    collect() {
      this.set(bus.connected ? 1 : 0);
    },
  });
  gauge(ROLLUP_BUS_METRICS.pending, 'Rollup events on the stream not yet delivered to any instance (last poll, every 2 s)', (s) => s.pending);
  gauge(ROLLUP_BUS_METRICS.ackPending, 'Rollup events delivered to an instance and not yet acknowledged (last poll)', (s) => s.ackPending);
  total(ROLLUP_BUS_METRICS.published, 'Rollup events this instance published to the bus', (s) => s.published);
  total(ROLLUP_BUS_METRICS.duplicates, 'Publishes the bus dropped as the same counter and coalesce window as an earlier one', (s) => s.duplicates);
  total(ROLLUP_BUS_METRICS.acknowledged, 'Rollup events this instance acknowledged (their rollup checkpoint committed)', (s) => s.acknowledged);
  total(
    ROLLUP_BUS_METRICS.redelivered,
    'Rollup events delivered to this instance again after an instance held them without finishing (it died, shut down, or its rollup failed); returns of deferred events are not counted',
    (s) => s.redelivered,
  );
  total(
    ROLLUP_BUS_METRICS.deferred,
    'Rollup events this instance gave back to the stream at their first delivery because they were due later than half the ack wait (delivered again when due)',
    (s) => s.deferred,
  );
}
