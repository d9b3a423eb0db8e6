/**
 * Buffered writes (DESIGN 3.3, WriteEventRecords): one bounded in-memory queue per
 * namespace (capacity `bufferCapacity` bytes). Consumers drain a queue every `coalesce`
 * interval into group commit. A full queue refuses with RESOURCE_EXHAUSTED. Graceful
 * shutdown drains; a crash loses what was queued.
 *
 * Each accepted request stays its own unit down to the store: a drain submits every batch
 * separately to group commit, which shares one commit among them and, when that commit
 * fails, retries each batch alone. So a batch the store refuses (its slice dropped
 * meanwhile, a store fault) loses only itself, counted through `onError`, never its
 * neighbours (issue 14 item 3). Everything the store is known to refuse is refused before
 * the 202 by the write path's validation.
 *
 * Every queued batch also holds a reservation of the server-wide memory budget
 * (core/memory-budget.ts) until its commit settles: a namespace's `bufferCapacity` is its
 * own ceiling, the budget is the server's, and the smaller one refuses first.
 */
import { DgwError } from '../../kernel/errors.js';
import type { EventWrite } from '../../domain/events.js';
import type { IndexDoc } from '../../domain/search.js';
import type { TimeSeriesConfig } from '../control/types.js';
import type { MemoryBudget, MemoryReservation } from '../memory-budget.js';

/** One accepted request's writes, committed (or lost) as a unit. */
interface Batch {
  writes: EventWrite[];
  docs: IndexDoc[];
  /** Its share of the server memory budget, released once its commit settles. */
  memory?: MemoryReservation;
}

interface Queue {
  /** The configuration of the latest enqueue (settings may change between batches). */
  config: TimeSeriesConfig;
  batches: Batch[];
  events: number;
  bytes: number;
  capacity: number;
  timer?: NodeJS.Timeout;
}

/** Options of {@link WriteBuffers}. */
export interface WriteBuffersOptions {
  /** Commits one drained batch (through group commit); a rejection is reported through onError. */
  commit(config: TimeSeriesConfig, writes: EventWrite[], docs: IndexDoc[]): Promise<void>;
  /** A batch of `lost` events could not be stored: it is dropped (and should be counted). */
  onError(err: unknown, namespace: string, lost: number): void;
  /** The server-wide budget every queued batch reserves from; none: only the namespace capacities bound the queues. */
  budget?: MemoryBudget;
}

/** Per-namespace bounded write queues. */
export class WriteBuffers {
  private readonly queues = new Map<string, Queue>();
  private readonly inflight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly options: WriteBuffersOptions) {}

  /** Bytes and events queued, over all namespaces. */
  depth(): { bytes: number; events: number } {
    let bytes = 0;
    let events = 0;
    for (const q of this.queues.values()) {
      bytes += q.bytes;
      events += q.events;
    }
    return { bytes, events };
  }

  /** Queues a validated batch whole, or refuses it whole when it does not fit. */
  enqueue(config: TimeSeriesConfig, writes: EventWrite[], docs: IndexDoc[], bytes: number): void {
    if (this.closed) throw new DgwError('UNAVAILABLE', 'the server is shutting down; retry on another instance');
    const namespace = config.name;
    const capacity = config.primary.bufferCapacityBytes;
    let q = this.queues.get(namespace);
    if (!q) {
      q = { config, batches: [], events: 0, bytes: 0, capacity };
      this.queues.set(namespace, q);
    }
    q.config = config;
    q.capacity = capacity;
    if (q.bytes + bytes > q.capacity) {
      throw new DgwError(
        'RESOURCE_EXHAUSTED',
        `write buffer of namespace "${namespace}" is full (${q.bytes} of ${q.capacity} bytes queued); retry later or use WriteEventRecordsSync`,
      );
    }
    if (writes.length === 0 && docs.length === 0) return;
    const memory = this.options.budget?.reserve(bytes, `a buffered batch of namespace "${namespace}"`);
    q.batches.push({ writes, docs, ...(memory ? { memory } : {}) });
    q.events += writes.length;
    q.bytes += bytes;
    if (!q.timer) {
      q.timer = setTimeout(() => this.drain(namespace), Math.max(1, Math.round(config.primary.coalesceMicros / 1000)));
      q.timer.unref();
    }
  }

  /** Drains one namespace now. */
  drain(namespace: string): Promise<void> {
    const q = this.queues.get(namespace);
    if (!q) return Promise.resolve();
    if (q.timer) clearTimeout(q.timer);
    this.queues.delete(namespace);
    if (q.batches.length === 0) return Promise.resolve();
    const p = Promise.all(
      q.batches.map((b) =>
        this.options
          .commit(q.config, b.writes, b.docs)
          .catch((err: unknown) => this.options.onError(err, namespace, b.writes.length))
          .finally(() => b.memory?.release()),
      ),
    ).then(() => undefined);
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
    return p;
  }

  /** Drains every queue and waits for the commits in flight. */
  async drainAll(): Promise<void> {
    await Promise.all([...this.queues.keys()].map((ns) => this.drain(ns)));
    await Promise.all([...this.inflight]);
  }

  /** Refuses new writes, then drains everything. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drainAll();
  }
}
