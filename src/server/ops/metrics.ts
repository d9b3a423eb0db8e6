/**
 * The server's Prometheus registry (issue 11): Node's default metrics, made to pass
 * `promtool check metrics` (prom-client adds three gauges `nodejs_active_*_total`, a
 * suffix reserved for counters, which only sum gauges it also exposes by type: they are
 * dropped), plus `dgw_build_info{version,node} 1` for dashboards and alerts to join on,
 * and every garbage collection counted by kind (gc-metrics.ts).
 */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { buildInfo } from './build-info.js';
import { registerGcMetrics } from './gc-metrics.js';

const TOTAL_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** A registry holding the default process metrics and dgw_build_info. */
export function createServerRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // The same counts exist by type as nodejs_active_{handles,requests,resources}.
  for (const name of TOTAL_GAUGES) registry.removeSingleMetric(name);
  // Every collection counted (prom-client's histogram takes one per event-loop turn).
  registerGcMetrics(registry);
  const info = buildInfo();
  new Gauge({
    name: 'dgw_build_info',
    help: 'Always 1; labels say which dgw version runs on which Node',
    labelNames: ['version', 'node'],
    registers: [registry],
  }).set({ version: info.version, node: info.node }, 1);
  return registry;
}
