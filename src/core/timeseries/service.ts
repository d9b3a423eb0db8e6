/**
 * The TimeSeries engine: wires partitioning, group commit, buffered writes, reads,
 * search and lifecycle over the store catalog. Implements {@link TimeSeriesService}.
 */
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import { GroupCommitter } from '../batcher.js';
import type { TimeSeriesConfig } from '../control/types.js';
import type { EventRecord, EventWrite, IndexDoc } from '../../storage/contracts.js';
import type { StoreCatalog } from '../../storage/catalog.js';
import type { AggregateQuery, AggregateResult, EventPage, ReadQuery, SearchQuery, TimeSeriesService } from './api.js';
import { DEFAULT_LIMITS, type TimeSeriesLimits } from './limits.js';
import { createTimeSeriesMetrics, type TimeSeriesMetrics } from './metrics.js';
import { FanoutTuner, readEvents, scanSeriesEvents, type ReadDeps } from './read-path.js';
import { aggregateEvents, searchEvents } from './search-path.js';
import { SliceManager, type LifecycleResult } from './slices.js';
import { WriteBuffers } from './write-buffers.js';
import { prepareBatch, validateEventShapes } from './write-path.js';
import { withReadSlo, withSloDeadline } from './slo-deadlines.js';

/** Options of {@link createTimeSeriesService}. */
export interface TimeSeriesServiceOptions {
  clock: Clock;
  catalog: StoreCatalog;
  registry?: Registry;
  limits?: Partial<TimeSeriesLimits>;
  /** Reports failures of background work (buffered commits, lifecycle). */
  onBackgroundError?(err: unknown, what: string): void;
}

/** The engine: the service plus what the server drives (lifecycle, drain, shutdown). */
export interface TimeSeriesEngine extends TimeSeriesService {
  readonly limits: Readonly<TimeSeriesLimits>;
  /** One lifecycle pass over a namespace: slices ahead of need, close, drop, index retention. */
  runLifecycle(config: TimeSeriesConfig): Promise<LifecycleResult>;
  /** Commits everything buffered now. */
  flushBuffers(): Promise<void>;
  /** Bytes and events queued in the WriteEventRecords buffers (an overload signal). */
  bufferDepth(): { bytes: number; events: number };
  /** Refuses new buffered writes and drains the queues. */
  shutdown(): Promise<void>;
}

/** Creates the TimeSeries engine. */
export function createTimeSeriesService(options: TimeSeriesServiceOptions): TimeSeriesEngine {
  const { clock, catalog } = options;
  const limits: TimeSeriesLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const now = () => clock.nowMicros();
  const slices = new SliceManager(now);
  const fanout = new FanoutTuner();
  const report = options.onBackgroundError ?? (() => undefined);

  const eventCommitters = new Map<string, GroupCommitter<EventWrite>>();
  const indexCommitters = new Map<string, GroupCommitter<IndexDoc>>();
  let metrics: TimeSeriesMetrics | undefined;

  const eventCommitter = (key: string) => {
    let c = eventCommitters.get(key);
    if (!c) {
      const store = catalog.events(key);
      c = new GroupCommitter<EventWrite>({
        flush: (items) => store.appendEvents(items),
        maxBatchItems: limits.maxCommitEvents,
        onFlush(n, seconds) {
          metrics?.commitBatchEvents.observe(n);
          metrics?.commitSeconds.observe(seconds);
        },
      });
      eventCommitters.set(key, c);
    }
    return c;
  };
  const indexCommitter = (key: string) => {
    let c = indexCommitters.get(key);
    if (!c) {
      const index = catalog.index(key);
      c = new GroupCommitter<IndexDoc>({ flush: (docs) => index.indexEvents(docs), maxBatchItems: limits.maxCommitEvents });
      indexCommitters.set(key, c);
    }
    return c;
  };

  /** Durably commits a prepared batch: events and index documents in parallel. */
  const commit = async (config: TimeSeriesConfig, writes: EventWrite[], docs: IndexDoc[]): Promise<void> => {
    const work: Promise<void>[] = [eventCommitter(config.primary.storage.store).submit(writes)];
    if (config.index && docs.length > 0) work.push(indexCommitter(config.index.storage.store).submit(docs));
    await Promise.all(work);
  };

  const buffers = new WriteBuffers({
    commit: async (config, writes, docs) => {
      await commit(config, writes, docs);
      metrics?.eventsWritten.inc({ namespace: config.name, mode: 'buffered' }, writes.length);
    },
    onError(err, namespace, lost) {
      metrics?.eventsLost.inc({ namespace }, lost);
      report(err, `buffered write of ${lost} events to namespace "${namespace}"`);
    },
  });

  if (options.registry) {
    metrics = createTimeSeriesMetrics(options.registry, {
      queueDepth: () => buffers.depth(),
      slicesByStatus: () => slices.statusCounts(),
    });
  }

  const readDeps = (config: TimeSeriesConfig): ReadDeps => ({
    store: catalog.events(config.primary.storage.store),
    slices,
    fanout,
    now,
  });

  return {
    limits,
    bufferDepth: () => buffers.depth(),

    writeSync(config: TimeSeriesConfig, events: EventRecord[]): Promise<void> {
      return withSloDeadline(config, 'write', 'WriteEventRecordsSync', async () => {
        validateEventShapes(events, limits);
        const store = catalog.events(config.primary.storage.store);
        const batch = await prepareBatch(store, slices, config, events, now());
        await commit(config, batch.writes, batch.docs);
        metrics?.eventsWritten.inc({ namespace: config.name, mode: 'sync' }, batch.writes.length);
      });
    },

    writeBuffered(config: TimeSeriesConfig, events: EventRecord[]): Promise<void> {
      return withSloDeadline(config, 'write', 'WriteEventRecords', async () => {
        validateEventShapes(events, limits);
        const store = catalog.events(config.primary.storage.store);
        const batch = await prepareBatch(store, slices, config, events, now());
        buffers.enqueue(config, batch.writes, batch.docs, batch.bytes);
      });
    },

    read(config: TimeSeriesConfig, query: ReadQuery): Promise<EventPage> {
      const q = withReadSlo(config, query, now());
      return withSloDeadline(config, 'read', 'ReadEventRecords', () => readEvents(readDeps(config), config, q));
    },

    scanSeries(config: TimeSeriesConfig, timeSeriesId: string, startMicros: number, endMicros: number): AsyncIterable<EventRecord> {
      return scanSeriesEvents(readDeps(config), config, timeSeriesId, startMicros, endMicros);
    },

    search(config: TimeSeriesConfig, query: SearchQuery): Promise<EventPage> {
      const index = catalog.index(config.index?.storage.store ?? config.primary.storage.store);
      return withSloDeadline(config, 'read', 'SearchEventRecords', () => searchEvents(index, config, query));
    },

    aggregate(config: TimeSeriesConfig, query: AggregateQuery): Promise<AggregateResult> {
      const index = catalog.index(config.index?.storage.store ?? config.primary.storage.store);
      return withSloDeadline(config, 'read', 'AggregateEventRecords', () => aggregateEvents(index, config, query));
    },

    async dropNamespace(config: TimeSeriesConfig): Promise<void> {
      await buffers.drain(config.name);
      await catalog.events(config.primary.storage.store).dropNamespace(config.name);
      if (config.index) await catalog.index(config.index.storage.store).dropNamespace(config.name);
      slices.forget(config.name);
      fanout.forget(config.name);
    },

    async runLifecycle(config: TimeSeriesConfig): Promise<LifecycleResult> {
      try {
        const result = await slices.lifecycle(catalog.events(config.primary.storage.store), config);
        if (config.index && config.index.deleteAfterMicros > 0) {
          await catalog.index(config.index.storage.store).dropBefore(config.name, now() - config.index.deleteAfterMicros);
        }
        metrics?.lifecycleRuns.inc({ result: 'ok' });
        if (result.created) metrics?.slicesChanged.inc({ status: 'ACTIVE' }, result.created);
        if (result.closed) metrics?.slicesChanged.inc({ status: 'CLOSED' }, result.closed);
        if (result.dropped) metrics?.slicesChanged.inc({ status: 'DROPPED' }, result.dropped);
        return result;
      } catch (err) {
        metrics?.lifecycleRuns.inc({ result: 'error' });
        throw err;
      }
    },

    flushBuffers(): Promise<void> {
      return buffers.drainAll();
    },

    shutdown(): Promise<void> {
      return buffers.close();
    },
  };
}
