/**
 * Buffered writes (DESIGN 3.3, WriteEventRecords): one bounded in-memory queue per
 * namespace (capacity `bufferCapacity` bytes). Consumers drain a queue every `coalesce`
 * interval, grouped by partition key, into group commit. A full queue refuses with
 * RESOURCE_EXHAUSTED. Graceful shutdown drains; a crash loses what was queued.
 */
import { DgwError } from '../errors.js';
import type { EventWrite, IndexDoc } from '../../storage/contracts.js';
import type { TimeSeriesConfig } from '../control/types.js';

interface Queue {
  /** The configuration of the latest enqueue (settings may change between batches). */
  config: TimeSeriesConfig;
  writes: EventWrite[];
  docs: IndexDoc[];
  bytes: number;
  capacity: number;
  timer?: NodeJS.Timeout;
}

/** Options of {@link WriteBuffers}. */
export interface WriteBuffersOptions {
  /** Commits drained writes (group commit); errors are reported through onError. */
  commit(config: TimeSeriesConfig, writes: EventWrite[], docs: IndexDoc[]): Promise<void>;
  onError(err: unknown, namespace: string, lost: number): void;
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
      events += q.writes.length;
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
      q = { config, writes: [], docs: [], bytes: 0, capacity };
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
    for (const w of writes) q.writes.push(w);
    for (const d of docs) q.docs.push(d);
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
    if (q.writes.length === 0 && q.docs.length === 0) return Promise.resolve();
    // Grouped by partition so each partition's rows go to the store together.
    q.writes.sort((a, b) => partitionKeyOf(a).localeCompare(partitionKeyOf(b)));
    const p = this.options.commit(q.config, q.writes, q.docs).catch((err: unknown) => this.options.onError(err, namespace, q.writes.length));
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

function partitionKeyOf(w: EventWrite): string {
  return `${w.sliceId}\u0000${w.partition.timeSeriesId}\u0000${w.partition.timeBucket}\u0000${w.partition.eventBucket}`;
}
