/**
 * Write marks without a commit per add. Before an event is stored, the counter's rollup
 * row must already say `firstWriteTs <= eventTime <= lastWriteTs` (see service.ts). Marks
 * are recorded at a coarse granularity (first rounded down, last rounded up to the second),
 * and this instance remembers what it has recorded: a hot counter then costs one mark
 * commit per second instead of one per add. Over-estimating lastWriteTs by under a second
 * only keeps a counter in rollup circulation a little longer; under-estimating
 * firstWriteTs only widens a first rollup's scan. Other instances' marks only widen the
 * stored span, so what this cache knows is always a safe inner bound of it.
 */
import type { CounterWriteMark } from '../../domain/counters.js';

/** Granularity of recorded marks (1 s). */
export const MARK_GRANULARITY_MICROS = 1_000_000;

interface Span {
  first: number;
  last: number;
}

/** Bounded, instance-local memory of recorded write-mark spans per counter. */
export class WriteMarkCache {
  private readonly spans = new Map<string, Span>();

  constructor(private readonly maxEntries = 100_000) {}

  /** The marks to record before storing an event of `counter` at `time`; [] when covered. */
  needed(namespace: string, counter: string, time: number): CounterWriteMark[] {
    const known = this.spans.get(key(namespace, counter));
    const marks: CounterWriteMark[] = [];
    if (!known || known.first > time) {
      marks.push({ namespace, counter, eventTimeMicros: Math.floor(time / MARK_GRANULARITY_MICROS) * MARK_GRANULARITY_MICROS });
    }
    if (!known || known.last < time) {
      marks.push({ namespace, counter, eventTimeMicros: (Math.floor(time / MARK_GRANULARITY_MICROS) + 1) * MARK_GRANULARITY_MICROS });
    }
    return marks;
  }

  /** Remembers marks once their commit succeeded. */
  recorded(marks: readonly CounterWriteMark[]): void {
    for (const m of marks) {
      const k = key(m.namespace, m.counter);
      const known = this.spans.get(k);
      const span = known
        ? { first: Math.min(known.first, m.eventTimeMicros), last: Math.max(known.last, m.eventTimeMicros) }
        : { first: m.eventTimeMicros, last: m.eventTimeMicros };
      // Delete then set: Map order is recency, so the first key is the one to evict.
      this.spans.delete(k);
      this.spans.set(k, span);
      if (this.spans.size > this.maxEntries) {
        const oldest = this.spans.keys().next();
        if (!oldest.done) this.spans.delete(oldest.value);
      }
    }
  }
}

function key(namespace: string, counter: string): string {
  return `${namespace}\u0000${counter}`;
}
