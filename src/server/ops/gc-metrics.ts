/**
 * Every garbage collection of the process, counted (issue 9): `dgw_gc_pause_seconds_total`
 * and `dgw_gc_collections_total`, by kind (`minor`, `major`, `incremental`, `weakcb`).
 *
 * prom-client's default `nodejs_gc_duration_seconds` observes only the first entry of each
 * batch Node delivers (one batch per event-loop turn), so a turn with several collections
 * (a major one and its weak callbacks, scavenges in quick succession) counts one: a lower
 * bound, lowest when GC is heaviest. These counters take every entry. One observer per
 * process (collections are the process's), started with the first registry that asks;
 * each registry reads its totals when scraped. The bench reads them around each window
 * (src/bench/gc-figures.ts).
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { Counter, type Registry } from 'prom-client';

/** What is read of a `gc` performance entry. */
export interface GcEntry {
  /** Pause, ms. */
  duration: number;
  /** Node puts the collection's kind here. */
  detail?: unknown;
}

/** Node's GC kinds by their `detail.kind` constant. */
const KINDS: ReadonlyMap<number, string> = new Map([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

/** Pause seconds and collections so far, by kind; process-wide, like the collections. */
const totals = new Map<string, { seconds: number; count: number }>();
let observer: PerformanceObserver | undefined;

/** Adds a batch of `gc` performance entries to the totals (exported for tests). */
export function countGcEntries(entries: readonly GcEntry[]): void {
  for (const entry of entries) {
    const detail = entry.detail as { kind?: number } | null | undefined;
    const kind = KINDS.get(detail?.kind ?? -1) ?? 'other';
    const t = totals.get(kind) ?? { seconds: 0, count: 0 };
    t.seconds += entry.duration / 1000;
    t.count += 1;
    totals.set(kind, t);
  }
}

/** The totals so far (tests). */
export function gcTotals(): ReadonlyMap<string, Readonly<{ seconds: number; count: number }>> {
  return totals;
}

/** Registers the two counters in `registry`, starting the process's observer if none runs. */
export function registerGcMetrics(registry: Registry): void {
  if (observer === undefined) {
    observer = new PerformanceObserver((list) => countGcEntries(list.getEntries() as readonly GcEntry[]));
    observer.observe({ entryTypes: ['gc'] });
  }
  const counters = [
    { name: 'dgw_gc_pause_seconds_total', help: 'Seconds the process was paused in garbage collection, by kind (every collection, unlike nodejs_gc_duration_seconds)', value: 'seconds' },
    { name: 'dgw_gc_collections_total', help: 'Garbage collections of the process, by kind', value: 'count' },
  ] as const;
  for (const { name, help, value } of counters) {
    new Counter({
      name,
      help,
      labelNames: ['kind'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [kind, t] of totals) this.inc({ kind }, t[value]);
      },
    });
  }
}
