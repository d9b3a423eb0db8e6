/**
 * The TimeSeries engine ({@link TimeSeriesServiceEngine}, made by
 * {@link createTimeSeriesService}): wires partitioning, group commit, buffered writes,
 * reads, search and lifecycle over the store catalog. Implements {@link TimeSeriesService}.
 */
import type { Registry } from 'prom-client';
import type { Clock } from '../../kernel/clock.js';
import { GroupCommitter, ResultGroupCommitter } from '../group-committer.js';
import { isDgwError } from '../../kernel/errors.js';
import { CounterCell } from '../../kernel/metric-cells.js';
import type { TimeSeriesConfig } from '../control/types.js';
import type { EventRecord, EventWrite } from '../../domain/events.js';
import type { AppendResult, EventStore, IndexStore, StoresByKey } from '../../storage/contracts.js';
import type { IndexDoc } from '../../domain/search.js';
import type { AggregateQuery, AggregateResult, EventPage, PackedPage, PackedSearchPage, ReadQuery, SearchQuery, TimeSeriesService } from './api.js';
import { DEFAULT_LIMITS, type TimeSeriesLimits } from './limits.js';
import { createTimeSeriesMetrics, type TimeSeriesMetrics } from './metrics.js';
import { FanoutTuner, readEvents, readEventsPacked, scanSeriesEvents, type ReadDeps } from './read-path.js';
import { PageTokens } from './page-token.js';
import { aggregateEvents, searchEvents, searchEventsPacked } from './search-path.js';
import { SliceManager, type LifecycleResult } from './slices.js';
import { WriteBuffers } from './write-buffers.js';
import type { MemoryBudget } from '../memory-budget.js';
import { IndexRepair } from './index-repair.js';
import { InFlightWrites, prepareBatch, prepareOwnEvent, validateEventShapes } from './write-path.js';
import { withReadSlo, withSloDeadline } from './slo-deadlines.js';

/** Options of {@link createTimeSeriesService}. */
export interface TimeSeriesServiceOptions {
  clock: Clock;
  catalog: StoresByKey;
  registry?: Registry;
  limits?: Partial<TimeSeriesLimits>;
  /** Reports failures of background work (buffered commits, lifecycle). */
  onBackgroundError?(err: unknown, what: string): void;
  /**
   * Secret signing page tokens (at least 16 bytes). Instances sharing a store must share
   * it (the server keeps one in the registry); a random one, valid in this process only,
   * when absent.
   */
  pageTokenSecret?: string | Uint8Array;
  /** Server-wide memory budget the write buffers reserve from (core/memory-budget.ts); none: unbounded but per namespace. */
  memoryBudget?: MemoryBudget;
}

/** The engine: the service plus what the server drives (lifecycle, drain, shutdown). */
export interface TimeSeriesEngine extends TimeSeriesService {
  readonly limits: Readonly<TimeSeriesLimits>;
  /** One lifecycle pass over a namespace: slices ahead of need, close, drop, index retention. */
  runLifecycle(config: TimeSeriesConfig): Promise<LifecycleResult>;
  /**
   * Delivers the index outbox of a namespace whose index is in another store than its
   * events (index-repair.ts); returns how many documents. Also part of every lifecycle pass.
   */
  repairIndex(config: TimeSeriesConfig): Promise<number>;
  /**
   * {@link TimeSeriesService.writeSync} of one event dgw built and checked itself (its ids
   * storable text): the counter write path. Same outcome, without the generic batch checks
   * (write-path.ts `prepareOwnEvent`); anything unusual takes the generic path. Resolves
   * true only when the store said this call's commit newly stored the event (every item;
   * not an idempotent no-op, AppendResult.allNew); false when it cannot tell.
   */
  writeOwnEventSync(config: TimeSeriesConfig, event: EventRecord): Promise<boolean>;
  /** Commits everything buffered now. */
  flushBuffers(): Promise<void>;
  /** Bytes and events queued in the WriteEventRecords buffers (an overload signal). */
  bufferDepth(): { bytes: number; events: number };
  /** Refuses new buffered writes and drains the queues. */
  shutdown(): Promise<void>;
}

/** Creates the TimeSeries engine. */
export function createTimeSeriesService(options: TimeSeriesServiceOptions): TimeSeriesEngine {
  return new TimeSeriesServiceEngine(options);
}

/**
 * The TimeSeries engine ({@link TimeSeriesEngine}): partitioning, group commit, buffered
 * writes, reads, search, aggregation and lifecycle over the store catalog.
 */
export class TimeSeriesServiceEngine implements TimeSeriesEngine {
  readonly limits: TimeSeriesLimits;
  private readonly clock: Clock;
  private readonly catalog: StoresByKey;
  private readonly slices: SliceManager;
  private readonly fanout = new FanoutTuner();
  private readonly tokens: PageTokens;
  private readonly buffers: WriteBuffers;
  private readonly eventCommitters = new Map<string, ResultGroupCommitter<StagedWrite, boolean>>();
  private readonly indexCommitters = new Map<string, GroupCommitter<IndexDoc>>();
  private readonly inFlight = new InFlightWrites();
  private readonly indexRepair: IndexRepair;
  private readonly metrics: TimeSeriesMetrics | undefined;
  /** The `eventsWritten{mode="sync"}` series of one-event writes (counter mutations), per namespace. */
  private readonly ownWritten = new Map<string, CounterCell<'namespace' | 'mode'>>();

  constructor(options: TimeSeriesServiceOptions) {
    this.clock = options.clock;
    this.catalog = options.catalog;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.slices = new SliceManager(() => this.now());
    this.tokens = options.pageTokenSecret === undefined ? PageTokens.random() : new PageTokens(options.pageTokenSecret);
    const report = options.onBackgroundError ?? (() => undefined);
    this.indexRepair = new IndexRepair(this.catalog, report);
    this.buffers = new WriteBuffers({
      commit: async (config, writes, docs) => {
        try {
          await this.commit(config, writes, docs);
        } finally {
          this.inFlight.delete(writes);
        }
        this.metrics?.eventsWritten.inc({ namespace: config.name, mode: 'buffered' }, writes.length);
      },
      onError: (err, namespace, lost) => {
        this.metrics?.eventsLost.inc({ namespace }, lost);
        report(err, `buffered write of ${lost} events to namespace "${namespace}"`);
      },
      ...(options.memoryBudget ? { budget: options.memoryBudget } : {}),
    });
    const { buffers, slices } = this;
    this.metrics = options.registry
      ? createTimeSeriesMetrics(options.registry, {
          queueDepth: () => buffers.depth(),
          slicesByStatus: () => slices.statusCounts(),
        })
      : undefined;
  }

  bufferDepth(): { bytes: number; events: number } {
    return this.buffers.depth();
  }

  writeSync(config: TimeSeriesConfig, events: EventRecord[]): Promise<void> {
    return withSloDeadline(config, 'write', 'WriteEventRecordsSync', async () => {
      validateEventShapes(events, this.limits);
      const store = this.catalog.events(config.primary.storage.store);
      const batch = await prepareBatch(store, this.slices, config, events, this.now(), this.inFlight);
      await this.commit(config, batch.writes, batch.docs);
      this.metrics?.eventsWritten.inc({ namespace: config.name, mode: 'sync' }, batch.writes.length);
    });
  }

  async writeOwnEventSync(config: TimeSeriesConfig, event: EventRecord): Promise<boolean> {
    // An SLO deadline (withSloDeadline) stays the generic path's.
    if (config.slos?.write === undefined) return this.writeOwn(config, event);
    await this.writeSync(config, [event]);
    return false;
  }

  private async writeOwn(config: TimeSeriesConfig, event: EventRecord): Promise<boolean> {
    const store = this.catalog.events(config.primary.storage.store);
    const write = await prepareOwnEvent(store, this.slices, config, event, this.now(), this.limits);
    if (write === undefined) {
      await this.writeSync(config, [event]);
      return false;
    }
    const allNew = await this.commit(config, [write], []);
    if (this.metrics) {
      let written = this.ownWritten.get(config.name);
      if (written === undefined) this.ownWritten.set(config.name, (written = new CounterCell(this.metrics.eventsWritten, { namespace: config.name, mode: 'sync' })));
      written.inc();
    }
    return allNew;
  }

  writeBuffered(config: TimeSeriesConfig, events: EventRecord[]): Promise<void> {
    return withSloDeadline(config, 'write', 'WriteEventRecords', async () => {
      validateEventShapes(events, this.limits);
      const store = this.catalog.events(config.primary.storage.store);
      const batch = await prepareBatch(store, this.slices, config, events, this.now(), this.inFlight);
      this.buffers.enqueue(config, batch.writes, batch.docs, batch.bytes);
      // Queued counts as in flight: it may commit any time until the drain settles.
      this.inFlight.add(batch.writes);
    });
  }

  read(config: TimeSeriesConfig, query: ReadQuery): Promise<EventPage> {
    const q = withReadSlo(config, query, this.now());
    return withSloDeadline(config, 'read', 'ReadEventRecords', () => readEvents(this.readDeps(config), config, q));
  }

  readPacked(config: TimeSeriesConfig, query: ReadQuery): Promise<PackedPage | undefined> {
    const q = withReadSlo(config, query, this.now());
    return withSloDeadline(config, 'read', 'ReadEventRecords', () => readEventsPacked(this.readDeps(config), config, q));
  }

  scanSeries(config: TimeSeriesConfig, timeSeriesId: string, startMicros: number, endMicros: number): AsyncIterable<EventRecord> {
    return scanSeriesEvents(this.readDeps(config), config, timeSeriesId, startMicros, endMicros);
  }

  search(config: TimeSeriesConfig, query: SearchQuery): Promise<EventPage> {
    const index = this.searchIndex(config);
    return withSloDeadline(config, 'read', 'SearchEventRecords', async () =>
      searchEvents(index, this.tokens, config, query, await this.visibleFrom(config)),
    );
  }

  searchPacked(config: TimeSeriesConfig, query: SearchQuery): Promise<PackedSearchPage | undefined> {
    const index = this.searchIndex(config);
    // No packed search: undefined before any work, so the caller's search() does it once.
    if (!index.searchPacked && !index.searchJson) return Promise.resolve(undefined);
    return withSloDeadline(config, 'read', 'SearchEventRecords', async () =>
      searchEventsPacked(index, this.tokens, config, query, await this.visibleFrom(config)),
    );
  }

  aggregate(config: TimeSeriesConfig, query: AggregateQuery): Promise<AggregateResult> {
    const index = this.searchIndex(config);
    return withSloDeadline(config, 'read', 'AggregateEventRecords', async () =>
      aggregateEvents(index, this.tokens, config, query, await this.visibleFrom(config)),
    );
  }

  async dropNamespace(config: TimeSeriesConfig): Promise<void> {
    await this.buffers.drain(config.name);
    await this.catalog.events(config.primary.storage.store).dropNamespace(config.name);
    if (config.index) await this.catalog.index(config.index.storage.store).dropNamespace(config.name);
    this.slices.forget(config.name);
    this.fanout.forget(config.name);
    this.ownWritten.delete(config.name);
  }

  repairIndex(config: TimeSeriesConfig): Promise<number> {
    return this.indexRepair.repair(config);
  }

  async runLifecycle(config: TimeSeriesConfig): Promise<LifecycleResult> {
    const metrics = this.metrics;
    try {
      await this.indexRepair.repair(config);
      const result = await this.slices.lifecycle(this.catalog.events(config.primary.storage.store), config);
      if (config.index && config.index.deleteAfterMicros > 0) {
        await this.catalog.index(config.index.storage.store).dropBefore(config.name, this.now() - config.index.deleteAfterMicros);
      }
      metrics?.lifecycleRuns.inc({ result: 'ok' });
      if (result.created + result.reopened) metrics?.slicesChanged.inc({ status: 'ACTIVE' }, result.created + result.reopened);
      if (result.closed) metrics?.slicesChanged.inc({ status: 'CLOSED' }, result.closed);
      if (result.dropped) metrics?.slicesChanged.inc({ status: 'DROPPED' }, result.dropped);
      return result;
    } catch (err) {
      metrics?.lifecycleRuns.inc({ result: 'error' });
      throw err;
    }
  }

  flushBuffers(): Promise<void> {
    return this.buffers.drainAll();
  }

  shutdown(): Promise<void> {
    return this.buffers.close();
  }

  private now(): number {
    return this.clock.nowMicros();
  }

  /**
   * Durably commits a prepared batch (issue 14 items 2 and 5). Each event must commit
   * before its accept window ends (`eventTime + acceptLimit`), or not at all: past that,
   * a retry would be refused as too old. When the index lives in the event store's own
   * database, an event and its index document commit in one transaction; otherwise the
   * index documents follow the events' commit, so no document ever names an unstored event,
   * and go into the event store's index outbox with the events, so a crash in between is
   * repaired (index-repair.ts, docs/timeseries.md). Resolves true only when the store said
   * the commit newly stored every event of `writes` (AppendResult.allNew).
   */
  private async commit(config: TimeSeriesConfig, writes: EventWrite[], docs: IndexDoc[]): Promise<boolean> {
    const eventKey = config.primary.storage.store;
    const indexKey = config.index?.storage.store;
    const atomic =
      indexKey !== undefined && docs.length === writes.length && docs.length > 0 && this.catalog.indexesAtomically(eventKey, indexKey);
    const outbox =
      !atomic && indexKey !== undefined && docs.length === writes.length && docs.length > 0 && this.indexRepair.usesOutbox(eventKey, indexKey);
    const acceptLimit = config.primary.acceptLimitMicros;
    const staged = writes.map((write, i): StagedWrite => ({
      write,
      commitByMicros: write.event.eventTimeMicros + acceptLimit,
      ...(atomic ? { doc: docs[i]! } : outbox ? { outboxDoc: docs[i]! } : {}),
    }));
    const inFlight = this.inFlight.add(writes);
    let allNew = false;
    try {
      allNew = (await this.eventCommitter(eventKey).submit(staged)).every(Boolean);
    } catch (err) {
      // A commit refused because its accept window ran out may be a retry of a write an
      // earlier attempt already stored: then the truthful answer is success (first write
      // wins), not "nothing of it is stored".
      if (!(isDgwError(err) && err.code === 'DEADLINE_EXCEEDED') || !(await allStored(this.catalog.events(eventKey), writes))) throw err;
    } finally {
      this.inFlight.settle(inFlight);
    }
    if (!atomic && indexKey !== undefined && docs.length > 0) {
      await this.indexCommitter(indexKey).submit(docs);
      if (outbox) await this.indexRepair.delivered(eventKey, docs);
    }
    return allNew;
  }

  private eventCommitter(key: string): ResultGroupCommitter<StagedWrite, boolean> {
    let c = this.eventCommitters.get(key);
    if (!c) {
      const store = this.catalog.events(key);
      c = new ResultGroupCommitter<StagedWrite, boolean>({
        // Per item, whether the store said the flush newly stored all of it (AppendResult.allNew).
        flush: async (items) => new Array<boolean>(items.length).fill((await appendStaged(store, items, this.now()))?.allNew === true),
        maxBatchItems: this.limits.maxCommitEvents,
        maxConcurrentFlushes: this.catalog.capabilities(key, 'events').parallelCommits ?? 1,
        onFlush: (n, seconds) => {
          this.metrics?.commitBatchEvents.observe(n);
          this.metrics?.commitSeconds.observe(seconds);
        },
      });
      this.eventCommitters.set(key, c);
    }
    return c;
  }

  private indexCommitter(key: string): GroupCommitter<IndexDoc> {
    let c = this.indexCommitters.get(key);
    if (!c) {
      const index = this.catalog.index(key);
      c = new GroupCommitter<IndexDoc>({ flush: (docs) => index.indexEvents(docs), maxBatchItems: this.limits.maxCommitEvents });
      this.indexCommitters.set(key, c);
    }
    return c;
  }

  /**
   * Where readable events start: the end of the newest slice Read no longer shows (CLOSED
   * or DROPPED). Slices close oldest first, so everything before it is hidden from Read, and
   * Search and Aggregate hide it too (issue 14 item 8: one retention rule).
   */
  /** The index store a namespace searches (its own, or its primary store's). */
  private searchIndex(config: TimeSeriesConfig): IndexStore {
    return this.catalog.index(config.index?.storage.store ?? config.primary.storage.store);
  }

  private async visibleFrom(config: TimeSeriesConfig): Promise<number> {
    let from = 0;
    for (const s of await this.slices.slices(this.catalog.events(config.primary.storage.store), config.name)) {
      if (s.status !== 'ACTIVE' && s.endMicros > from) from = s.endMicros;
    }
    return from;
  }

  private readDeps(config: TimeSeriesConfig): ReadDeps {
    return {
      store: this.catalog.events(config.primary.storage.store),
      slices: this.slices,
      fanout: this.fanout,
      tokens: this.tokens,
      now: () => this.now(),
    };
  }
}

/** Whether every event of `writes` is already stored (by an earlier attempt). */
async function allStored(store: EventStore, writes: readonly EventWrite[]): Promise<boolean> {
  const found = await store.findEvents(
    writes.map((w) => ({ namespace: w.namespace, sliceId: w.sliceId, partition: w.partition, eventTimeMicros: w.event.eventTimeMicros, eventId: w.event.eventId })),
  );
  return found.every(Boolean);
}

/** One event on its way to group commit, with its index document when it commits atomically. */
interface StagedWrite {
  write: EventWrite;
  doc?: IndexDoc;
  /** The event's index document for the event store's outbox (index in another store). */
  outboxDoc?: IndexDoc;
  /** The end of the event's accept window: the commit must be done by then, or not at all. */
  commitByMicros: number;
}

/**
 * Appends a group commit's events (and their index documents) in one store call, bounded by
 * the earliest accept window among them. If that bound is spent, the store refuses, and
 * group commit retries each request alone under its own bound.
 */
function appendStaged(store: EventStore, items: readonly StagedWrite[], nowMicros: number): Promise<AppendResult | void> {
  let by = Infinity;
  const writes: EventWrite[] = [];
  const docs: IndexDoc[] = [];
  const outboxDocs: IndexDoc[] = [];
  for (const item of items) {
    if (item.commitByMicros < by) by = item.commitByMicros;
    writes.push(item.write);
    if (item.doc) docs.push(item.doc);
    if (item.outboxDoc) outboxDocs.push(item.outboxDoc);
  }
  return store.appendEvents(writes, {
    timeoutMicros: by - nowMicros,
    ...(docs.length > 0 ? { indexDocs: docs } : {}),
    ...(outboxDocs.length > 0 ? { outboxDocs } : {}),
  });
}
