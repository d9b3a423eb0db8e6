/**
 * Forgetting a deleted namespace's metric series (issue 14 hardening): every labelled
 * series stays in the registry until removed, so churn of namespaces (create, use,
 * delete) grew /metrics and the process's memory without bound (300 deleted namespaces
 * left 343 series). Works over every metric of the registry, whoever registered it.
 */
import type { Registry } from 'prom-client';

interface Removable {
  remove(labels: Record<string, string | number>): void;
}

/** Removes every series whose `namespace` label is one of `names`. */
export async function removeNamespaceSeries(registry: Registry, names: readonly string[]): Promise<number> {
  const wanted = new Set(names);
  let removed = 0;
  for (const { name, values } of await registry.getMetricsAsJSON()) {
    const metric = registry.getSingleMetric(name);
    if (!metric) continue;
    const done = new Set<string>();
    for (const v of values) {
      const ns = v.labels['namespace'];
      if (typeof ns !== 'string' || !wanted.has(ns)) continue;
      // Histogram buckets carry `le` (summaries `quantile`); remove() takes the series' own labels.
      const { le: _le, quantile: _q, ...labels } = v.labels as Record<string, string | number>;
      const key = JSON.stringify(labels);
      if (done.has(key)) continue;
      done.add(key);
      (metric as unknown as Removable).remove(labels);
      removed++;
    }
  }
  return removed;
}
