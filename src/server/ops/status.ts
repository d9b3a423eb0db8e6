/**
 * GET /v1/status (issue 11): what `INFO` is to Redis, for `dgw status` and the status
 * page. Version and uptime; every store with its health and ping time; the namespaces
 * with their configuration, slices by status and events written through this instance;
 * queue depths; rollup lag; request rates and latency per operation. Gathered from the
 * catalog, the namespace manager and the metrics registry, so it reports exactly what
 * /metrics does.
 */
import type { Registry } from 'prom-client';
import type { NamespaceManager } from '../../core/control/namespace-manager.js';
import type { StoreCatalog } from '../../storage/catalog.js';
import { buildInfo } from './build-info.js';
import { ROLLUP_BUS_METRICS } from './rollup-bus-metrics.js';
import type { OperationStats, RequestRates } from './request-rates.js';

/** One store's health. */
export interface StoreStatus {
  key: string;
  healthy: boolean;
  pingMs: number;
  error?: string;
}

/** One namespace in the status report. */
export interface NamespaceStatus {
  name: string;
  kind: 'timeseries' | 'counter';
  version: number;
  config: unknown;
  /** Slices of the namespace's event store by status (timeseries and non-best-effort counters). */
  slices?: Record<string, number>;
  /** Events durably written through this instance since it started. */
  eventsWritten: number;
  /** Counter namespaces: counters waiting in this instance's rollup queue. */
  rollupQueueDepth?: number;
  /** Counter namespaces: seconds behind of the oldest waiting rollup (0 when none waits). */
  rollupLagSeconds?: number;
}

/** The durable rollup queue (NATS JetStream), when one is configured: the bus's counts. */
export interface RollupBusStatus {
  connected: boolean;
  /** Events on the stream not delivered yet, and delivered but not acknowledged. */
  pending: number;
  ackPending: number;
  /** Since this instance started. */
  published: number;
  duplicates: number;
  acknowledged: number;
  /** Delivered again after an instance held them without finishing (died, shut down, rollup failed). */
  redelivered: number;
  /** Given back at their first delivery until due (not failures). */
  deferred: number;
  /** Events sent to the in-process queue instead (bus down). */
  fallbacks: number;
}

/** The whole report. */
export interface StatusReport {
  version: string;
  node: string;
  startedAt: string;
  uptimeSeconds: number;
  ports: { http: number; grpc?: number };
  stores: StoreStatus[];
  namespaces: NamespaceStatus[];
  queues: { writeBufferEvents: number; writeBufferBytes: number; writeBufferCapacityBytes: number; rollupQueueDepth: number };
  rollupLagSeconds: number;
  /** Present when the server runs with a durable rollup queue (--nats-url). */
  rollupBus?: RollupBusStatus;
  requests: { ratePerSecond: number; operations: OperationStats[] };
}

/** What the collector reads. */
export interface StatusSources {
  catalog: StoreCatalog;
  namespaces: NamespaceManager;
  metrics: Registry;
  rates: RequestRates;
  ports(): { http: number; grpc?: number };
}

type Sample = { labels: Record<string, string | number>; value: number };

async function samples(metrics: Registry, name: string): Promise<Sample[]> {
  const metric = metrics.getSingleMetric(name);
  if (!metric) return [];
  const data = await metric.get();
  return data.values as Sample[];
}

function sumBy(values: Sample[], label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of values) {
    const key = String(v.labels[label] ?? '');
    out.set(key, (out.get(key) ?? 0) + v.value);
  }
  return out;
}

async function storeStatus(catalog: StoreCatalog): Promise<StoreStatus[]> {
  return Promise.all(
    catalog.keys().map(async (key) => {
      const started = performance.now();
      try {
        await catalog.get(key).ping();
        return { key, healthy: true, pingMs: round(performance.now() - started) };
      } catch (err) {
        return { key, healthy: false, pingMs: round(performance.now() - started), error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
}

/** The bus's metrics (ops/rollup-bus-metrics.ts), when they are registered. */
async function busStatus(metrics: Registry): Promise<RollupBusStatus | undefined> {
  if (!metrics.getSingleMetric(ROLLUP_BUS_METRICS.connected)) return undefined;
  const one = async (name: string) => (await samples(metrics, name)).reduce((n, s) => n + s.value, 0);
  const m = ROLLUP_BUS_METRICS;
  const names = [m.connected, m.pending, m.ackPending, m.published, m.duplicates, m.acknowledged, m.redelivered, m.deferred, 'dgw_counters_bus_fallbacks_total'];
  const [connected = 0, pending = 0, ackPending = 0, published = 0, duplicates = 0, acknowledged = 0, redelivered = 0, deferred = 0, fallbacks = 0] = await Promise.all(names.map(one));
  return { connected: connected === 1, pending, ackPending, published, duplicates, acknowledged, redelivered, deferred, fallbacks };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Gathers the status report. */
export async function collectStatus(src: StatusSources): Promise<StatusReport> {
  const info = buildInfo();
  const [stores, written, rollupDepth, lag, queueEvents, queueBytes] = await Promise.all([
    storeStatus(src.catalog),
    samples(src.metrics, 'dgw_timeseries_events_written_total').then((s) => sumBy(s, 'namespace')),
    samples(src.metrics, 'dgw_counters_rollup_queue_depth').then((s) => sumBy(s, 'namespace')),
    samples(src.metrics, 'dgw_counters_rollup_lag_current_seconds').then((s) => sumBy(s, 'namespace')),
    samples(src.metrics, 'dgw_timeseries_queue_events'),
    samples(src.metrics, 'dgw_timeseries_queue_bytes'),
  ]);
  const namespaces: NamespaceStatus[] = [];
  let bufferCapacity = 0;
  for (const kind of ['timeseries', 'counter'] as const) {
    for (const record of await src.namespaces.list(kind)) {
      const ns: NamespaceStatus = { name: record.name, kind, version: record.version, config: record.config, eventsWritten: 0 };
      try {
        const events =
          kind === 'timeseries'
            ? await src.namespaces.getTimeSeries(record.name)
            : await src.namespaces.getCounter(record.name).then((c) => (c.counterType === 'BEST_EFFORT' ? undefined : c.events));
        if (events) {
          bufferCapacity += events.primary.bufferCapacityBytes;
          ns.eventsWritten = written.get(events.name) ?? 0;
          const slices: Record<string, number> = {};
          for (const s of await src.catalog.events(events.primary.storage.store).listSlices(events.name)) slices[s.status] = (slices[s.status] ?? 0) + 1;
          ns.slices = slices;
        }
      } catch {
        // A namespace deleted meanwhile, or its store down (shown under stores).
      }
      if (kind === 'counter') {
        ns.rollupQueueDepth = rollupDepth.get(record.name) ?? 0;
        ns.rollupLagSeconds = lag.get(record.name) ?? 0;
      }
      namespaces.push(ns);
    }
  }
  const operations = src.rates.snapshot();
  const rollupBus = await busStatus(src.metrics);
  return {
    version: info.version,
    node: info.node,
    startedAt: info.startedAt.toISOString(),
    uptimeSeconds: Math.round((Date.now() - info.startedAt.getTime()) / 1000),
    ports: src.ports(),
    stores,
    namespaces,
    queues: {
      writeBufferEvents: queueEvents[0]?.value ?? 0,
      writeBufferBytes: queueBytes[0]?.value ?? 0,
      writeBufferCapacityBytes: bufferCapacity,
      rollupQueueDepth: [...rollupDepth.values()].reduce((a, b) => a + b, 0),
    },
    rollupLagSeconds: Math.max(0, ...lag.values()),
    ...(rollupBus ? { rollupBus } : {}),
    requests: { ratePerSecond: round(operations.reduce((n, o) => n + o.rate, 0)), operations },
  };
}
