/**
 * One labelled series of a prom-client Counter or Histogram, updated per call without
 * prom-client's per-call work (issue 9). `counter.inc(labels)` and `histogram.observe(labels,
 * v)` validate the labels and build the series' hash string on every call; on the hot
 * paths (every HTTP request, every counter operation) that was a few µs per request. A
 * cell does both once, then adds to the same series record prom-client keeps, in the
 * same order, with the same arithmetic: what a scrape shows is identical, at any time.
 *
 * A cell falls back to prom-client's own call whenever the record is not there (the
 * series' first update creates it, so a series still appears only once it has a value;
 * a reset or remove drops it) or the call is unusual (exemplars, a value that is not a
 * finite number): prom-client then decides, and throws, exactly as before. The record's
 * shape is prom-client 15's; test/unit/metric-cells.test.ts compares a cell's output with
 * prom-client's own calls, so a change of that shape fails the test.
 */
import type { Counter, Histogram, LabelValues } from 'prom-client';

/** What a cell reads of prom-client's metric objects (not in its type declarations). */
interface SeriesMap<T> {
  hashMap: Record<string, T | undefined>;
  sortedLabelNames: readonly string[];
  enableExemplars?: boolean;
}

interface CounterRecord {
  value: number;
}

interface HistogramRecord {
  /** By upper bound, keyed as JavaScript keys numbers: `String(bound)`. */
  bucketValues: Record<string, number>;
  sum: number;
  count: number;
}

/** prom-client's series key (util.js hashObject with the sorted label names). */
function seriesHash(sortedLabelNames: readonly string[], labels: Record<string, unknown>): string {
  let hash = '';
  for (const key of sortedLabelNames) {
    const value = labels[key];
    if (value !== undefined) hash += `${key}:${value as string},`;
  }
  return hash;
}

/** One series of a Counter: `inc()` adds 1, as `counter.inc(labels)` does. */
export class CounterCell<T extends string> {
  private readonly series: SeriesMap<CounterRecord>;
  private readonly hash: string;
  private readonly labels: LabelValues<T>;

  constructor(
    private readonly metric: Counter<T>,
    labels: LabelValues<T>,
  ) {
    this.labels = { ...labels };
    this.series = metric as unknown as SeriesMap<CounterRecord>;
    this.hash = seriesHash(this.series.sortedLabelNames, this.labels);
  }

  inc(): void {
    const series = this.series;
    if (series.enableExemplars) {
      // prom-client's inc then takes one options object.
      (this.metric.inc as (options: { labels: LabelValues<T> }) => void)({ labels: this.labels });
      return;
    }
    const record = series.hashMap[this.hash];
    if (record === undefined) this.metric.inc(this.labels);
    else record.value += 1;
  }
}

/** One series of a Histogram: `observe(v)` does what `histogram.observe(labels, v)` does. */
export class HistogramCell<T extends string> {
  private readonly series: SeriesMap<HistogramRecord>;
  private readonly hash: string;
  private readonly labels: LabelValues<T>;
  private readonly bounds: readonly number[];
  /**
   * The bucket record's keys, `String(bound)`: the key a number index becomes, made once
   * (a fractional bound such as 0.005 was turned into its string on every observe).
   */
  private readonly bucketKeys: readonly string[];

  constructor(
    private readonly metric: Histogram<T>,
    labels: LabelValues<T>,
  ) {
    this.labels = { ...labels };
    this.series = metric as unknown as SeriesMap<HistogramRecord>;
    this.hash = seriesHash(this.series.sortedLabelNames, this.labels);
    this.bounds = (metric as unknown as { upperBounds: readonly number[] }).upperBounds;
    this.bucketKeys = this.bounds.map(String);
  }

  observe(value: number): void {
    const series = this.series;
    if (series.enableExemplars) {
      (this.metric.observe as (options: { labels: LabelValues<T>; value: number }) => void)({ labels: this.labels, value });
      return;
    }
    const record = Number.isFinite(value) ? series.hashMap[this.hash] : undefined;
    if (record === undefined) {
      this.metric.observe(this.labels, value);
      return;
    }
    record.sum += value;
    record.count += 1;
    const bounds = this.bounds;
    const buckets = record.bucketValues;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        const key = this.bucketKeys[i]!;
        buckets[key] = buckets[key]! + 1;
        return;
      }
    }
  }
}
