/**
 * The memory IndexStore: per namespace the indexed documents in search order (eventTime
 * descending, timeSeriesId, eventId), filtered by the in-process evaluator.
 */
import type {
  DistinctValue,
  EventRecord,
  IndexDistinct,
  IndexDoc,
  IndexSearch,
  IndexStore,
  SearchPosition,
} from '../contracts.js';
import { canonicalIndexText, textTokens } from '../index-text.js';
import { matches, type EvalField } from './search-eval.js';
import { compareCodePoints } from '../../kernel/code-points.js';

interface Doc extends SearchPosition {
  event: EventRecord;
  fields: Map<string, EvalField & { text: string }>;
}

function compareSearch(a: SearchPosition, b: SearchPosition): number {
  if (a.eventTimeMicros !== b.eventTimeMicros) return b.eventTimeMicros - a.eventTimeMicros;
  if (a.timeSeriesId !== b.timeSeriesId) return compareCodePoints(a.timeSeriesId, b.timeSeriesId);
  return compareCodePoints(a.eventId, b.eventId);
}

function lowerBound(docs: readonly Doc[], pos: SearchPosition): number {
  let lo = 0;
  let hi = docs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareSearch(docs[mid]!, pos) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function copyEvent(e: EventRecord): EventRecord {
  return { ...e, items: e.items.map((i) => ({ key: i.key, value: i.value.slice() })) };
}

/** An IndexStore held in process memory. */
export class MemoryIndexStore implements IndexStore {
  private readonly namespaces = new Map<string, Doc[]>();

  async indexEvents(docs: readonly IndexDoc[]): Promise<void> {
    this.indexNow(docs);
  }

  /** {@link indexEvents}, synchronously (the event store's atomic append calls it). */
  indexNow(docs: readonly IndexDoc[]): void {
    for (const d of docs) {
      let list = this.namespaces.get(d.namespace);
      if (!list) {
        list = [];
        this.namespaces.set(d.namespace, list);
      }
      const pos = { eventTimeMicros: d.event.eventTimeMicros, timeSeriesId: d.event.timeSeriesId, eventId: d.event.eventId };
      const at = lowerBound(list, pos);
      const existing = list[at];
      if (existing && compareSearch(existing, pos) === 0) continue; // first write wins
      const fields = new Map<string, EvalField & { text: string }>();
      for (const f of d.fields) {
        if (fields.has(f.key)) continue;
        fields.set(f.key, {
          type: f.type,
          value: f.value,
          text: canonicalIndexText(f.type, f.value),
          ...(f.type === 'TEXT' ? { tokens: new Set(textTokens(String(f.value))) } : {}),
        });
      }
      list.splice(at, 0, { ...pos, event: copyEvent(d.event), fields });
    }
  }

  /** Matching docs in search order within the interval, starting after `after`. */
  private *matching(s: Omit<IndexSearch, 'limit'>): Generator<Doc> {
    const list = this.namespaces.get(s.namespace) ?? [];
    let i = lowerBound(list, { eventTimeMicros: s.toMicros - 1, timeSeriesId: '', eventId: '' });
    if (s.after) {
      let j = lowerBound(list, s.after);
      const at = list[j];
      if (at && compareSearch(at, s.after) === 0) j++;
      i = Math.max(i, j);
    }
    for (; i < list.length; i++) {
      const doc = list[i]!;
      if (doc.eventTimeMicros < s.fromMicros) return;
      if (matches(s.query, doc.fields)) yield doc;
    }
  }

  async search(search: IndexSearch): Promise<EventRecord[]> {
    const out: EventRecord[] = [];
    if (search.limit < 1) return out;
    for (const doc of this.matching(search)) {
      out.push(copyEvent(doc.event));
      if (out.length >= search.limit) break;
    }
    return out;
  }

  async distinct(d: IndexDistinct): Promise<DistinctValue[]> {
    const counts = new Map<string, number>();
    for (const doc of this.matching(d)) {
      const field = doc.fields.get(d.key);
      if (!field) continue;
      if (d.afterValue !== undefined && !(field.text > d.afterValue)) continue;
      counts.set(field.text, (counts.get(field.text) ?? 0) + 1);
    }
    return [...counts.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, Math.max(0, d.limit))
      .map(([text, count]) => ({ text, count }));
  }

  async count(search: Omit<IndexSearch, 'after' | 'limit'>): Promise<number> {
    let n = 0;
    for (const doc of this.matching(search)) if (doc) n++;
    return n;
  }

  async dropBefore(namespace: string, beforeMicros: number): Promise<void> {
    const list = this.namespaces.get(namespace);
    if (!list) return;
    // Newest first: everything older than `beforeMicros` is a suffix.
    const at = lowerBound(list, { eventTimeMicros: beforeMicros - 1, timeSeriesId: '', eventId: '' });
    list.length = at;
  }

  async dropNamespace(namespace: string): Promise<void> {
    this.namespaces.delete(namespace);
  }
}
