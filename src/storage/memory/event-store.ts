/**
 * The memory EventStore: per namespace a slice metadata map and, per slice, a map of
 * partitions each holding its events in newest-first order. Not durable; for tests and
 * throwaway servers.
 */
import { DgwError } from '../../kernel/errors.js';
import type {
  AppendOptions,
  AppendResult,
  EventItem,
  EventLocator,
  EventRecord,
  EventStore,
  EventWrite,
  IndexDoc,
  PartitionKey,
  PartitionScan,
  SliceInfo,
  SliceStatus,
} from '../contracts.js';
import { checkAppendTime, checkWrite, compareNewestFirst, overlapError, slicesOverlap, validateSlice, validateStatus } from '../slice-rules.js';
import type { MemoryIndexStore } from './index-store.js';
import { outboxKeyOf } from '../index-outbox.js';
import { compareCodePoints } from '../../kernel/code-points.js';

/** The text key of an outbox entry. */
function outboxId(doc: IndexDoc): string {
  return JSON.stringify(outboxKeyOf(doc));
}

interface StoredEvent {
  eventTimeMicros: number;
  eventId: string;
  /** item key -> value; first write wins per item. */
  items: Map<string, Uint8Array>;
}

interface NamespaceData {
  slices: Map<number, SliceInfo>;
  /** sliceId -> partition key -> events newest first. */
  tables: Map<number, Map<string, StoredEvent[]>>;
}

function partitionKey(p: PartitionKey): string {
  return `${p.timeBucket}|${p.eventBucket}|${p.timeSeriesId}`;
}

/** Index of the first event not before `pos` in newest-first order (binary search). */
function lowerBound(events: readonly StoredEvent[], pos: { eventTimeMicros: number; eventId: string }): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareNewestFirst(events[mid]!, pos) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function toRecord(timeSeriesId: string, e: StoredEvent): EventRecord {
  const items: EventItem[] = [...e.items.keys()]
    .sort(compareCodePoints)
    .map((key) => ({ key, value: e.items.get(key)!.slice() }));
  return { timeSeriesId, eventTimeMicros: e.eventTimeMicros, eventId: e.eventId, items };
}

/** An EventStore held in process memory. */
export class MemoryEventStore implements EventStore {
  private readonly namespaces = new Map<string, NamespaceData>();
  /** Index outbox entries (storage/index-outbox.ts), by event identity, in insertion order. */
  private readonly outbox = new Map<string, IndexDoc>();

  /** @param index the set's own index: `indexDocs` of an append go there in the same step. */
  constructor(private readonly index?: MemoryIndexStore) {}

  private data(namespace: string): NamespaceData {
    let ns = this.namespaces.get(namespace);
    if (!ns) {
      ns = { slices: new Map(), tables: new Map() };
      this.namespaces.set(namespace, ns);
    }
    return ns;
  }

  async listSlices(namespace: string): Promise<SliceInfo[]> {
    const ns = this.namespaces.get(namespace);
    if (!ns) return [];
    return [...ns.slices.values()].sort((a, b) => a.startMicros - b.startMicros).map((s) => ({ ...s }));
  }

  async createSlice(namespace: string, slice: SliceInfo): Promise<void> {
    validateSlice(slice);
    const ns = this.data(namespace);
    if (ns.slices.has(slice.sliceId)) return;
    for (const existing of ns.slices.values()) {
      if (slicesOverlap(existing, slice)) throw overlapError(namespace, slice, existing);
    }
    ns.slices.set(slice.sliceId, { ...slice });
    if (slice.status !== 'DROPPED') ns.tables.set(slice.sliceId, new Map());
  }

  async setSliceStatus(namespace: string, sliceId: number, status: SliceStatus): Promise<void> {
    validateStatus(status);
    const slice = this.namespaces.get(namespace)?.slices.get(sliceId);
    if (!slice) throw new DgwError('NOT_FOUND', `namespace ${namespace} has no slice ${sliceId}`);
    if (slice.status === status) return;
    if (slice.status === 'DROPPED') {
      throw new DgwError('FAILED_PRECONDITION', `slice ${sliceId} of ${namespace} is DROPPED; it cannot become ${status}`);
    }
    slice.status = status;
    if (status === 'DROPPED') this.data(namespace).tables.delete(sliceId);
  }

  async appendEvents(writes: readonly EventWrite[], options?: AppendOptions): Promise<AppendResult> {
    checkAppendTime(options);
    // Validate everything first: the batch is atomic (no await below: nothing interleaves).
    writes.forEach((w, i) => checkWrite(w, i, this.namespaces.get(w.namespace)?.slices.get(w.sliceId)));
    if (options?.indexDocs?.length && !this.index) throw new DgwError('INTERNAL', 'memory event store: no index to commit indexDocs to');
    let allNew = true;
    for (const w of writes) {
      const table = this.namespaces.get(w.namespace)!.tables.get(w.sliceId)!;
      const key = partitionKey(w.partition);
      let events = table.get(key);
      if (!events) {
        events = [];
        table.set(key, events);
      }
      const at = lowerBound(events, w.event);
      let stored = events[at];
      if (!stored || compareNewestFirst(stored, w.event) !== 0) {
        stored = { eventTimeMicros: w.event.eventTimeMicros, eventId: w.event.eventId, items: new Map() };
        events.splice(at, 0, stored);
      }
      for (const item of w.event.items) {
        if (!stored.items.has(item.key)) stored.items.set(item.key, item.value.slice());
        else allNew = false;
      }
    }
    if (options?.indexDocs) this.index?.indexNow(options.indexDocs);
    for (const d of options?.outboxDocs ?? []) {
      const id = outboxId(d);
      if (!this.outbox.has(id)) this.outbox.set(id, d);
    }
    return { allNew };
  }

  async readIndexOutbox(namespace: string, limit: number): Promise<IndexDoc[]> {
    const out: IndexDoc[] = [];
    for (const d of this.outbox.values()) {
      if (out.length >= limit) break;
      if (d.namespace === namespace) out.push(d);
    }
    return out;
  }

  async clearIndexOutbox(docs: readonly IndexDoc[]): Promise<void> {
    for (const d of docs) this.outbox.delete(outboxId(d));
  }

  async findEvents(locators: readonly EventLocator[]): Promise<boolean[]> {
    return locators.map((l) => {
      const events = this.namespaces.get(l.namespace)?.tables.get(l.sliceId)?.get(partitionKey(l.partition));
      if (!events) return false;
      const found = events[lowerBound(events, l)];
      return found !== undefined && compareNewestFirst(found, l) === 0;
    });
  }

  async scanPartition(scan: PartitionScan): Promise<EventRecord[]> {
    const events = this.namespaces.get(scan.namespace)?.tables.get(scan.sliceId)?.get(partitionKey(scan.partition));
    if (!events) return [];
    let i = lowerBound(events, { eventTimeMicros: scan.toMicros - 1, eventId: '' });
    if (scan.after) {
      let j = lowerBound(events, scan.after);
      const at = events[j];
      if (at && compareNewestFirst(at, scan.after) === 0) j++;
      i = Math.max(i, j);
    }
    const out: EventRecord[] = [];
    for (; i < events.length && out.length < scan.limit; i++) {
      const e = events[i]!;
      if (e.eventTimeMicros < scan.fromMicros) break;
      out.push(toRecord(scan.partition.timeSeriesId, e));
    }
    return out;
  }

  async dropNamespace(namespace: string): Promise<void> {
    this.namespaces.delete(namespace);
    for (const [id, d] of this.outbox) if (d.namespace === namespace) this.outbox.delete(id);
  }
}
