/**
 * The gauge `dgw_counters_rollups_overdue{namespace}` (docs/counters.md, "Metrics"): rollups
 * of this instance that passed their bound (rollup-bound.ts) and have not settled, per
 * namespace, summed over its rollup pipelines (one being replaced after a settings change
 * included) and its sweeper. `outcome="timeout"` counts each such rollup once, when it passes
 * the bound; this gauge says whether it still runs, so an alert can last as long as the hung
 * call does (deploy/prometheus/dgw-alerts.yml, DgwRollupTimeouts).
 *
 * It is kept when a rollup passes its bound or settles, not scanned at scrape time. A
 * namespace with a rollup pipeline on this instance keeps a series (0 when none is overdue),
 * as its queue depth does; any other namespace (deleted since, or only swept here) has a
 * series only while one of its rollups is overdue, so a hung call that settles after its
 * namespace was deleted leaves no series behind.
 */
import type { Gauge } from 'prom-client';

/** Overdue rollups per namespace, exported as a gauge. */
export class OverdueGauge {
  /** Overdue rollups per namespace; a namespace at 0 has no entry. */
  private readonly counts = new Map<string, number>();
  /** Namespaces whose series stays at 0: those with a rollup pipeline on this instance. */
  private readonly shown = new Set<string>();

  constructor(private readonly gauge: Gauge<'namespace'>) {}

  /**
   * A rollup of `namespace` passed its bound: counted until the function returned is called
   * (once, when that rollup settles). Fits `OverdueRollups.race`'s `onOverdue`.
   */
  overdue(namespace: string): () => void {
    this.add(namespace, 1);
    return () => this.add(namespace, -1);
  }

  /** Exports the series of `namespace` from now on, at 0 when none is overdue (a pipeline of it started). */
  show(namespace: string): void {
    this.shown.add(namespace);
    this.gauge.set({ namespace }, this.of(namespace));
  }

  /**
   * Stops exporting `namespace` at 0 (its pipeline was retired: the namespace is deleted).
   * The series goes now, or when its last overdue rollup settles.
   */
  forget(namespace: string): void {
    this.shown.delete(namespace);
    if (!this.counts.has(namespace)) this.gauge.remove({ namespace });
  }

  private of(namespace: string): number {
    return this.counts.get(namespace) ?? 0;
  }

  private add(namespace: string, delta: number): void {
    const count = this.of(namespace) + delta;
    if (count > 0) this.counts.set(namespace, count);
    else this.counts.delete(namespace);
    if (count > 0 || this.shown.has(namespace)) this.gauge.set({ namespace }, count);
    else this.gauge.remove({ namespace });
  }
}
