/**
 * Prometheus series of the server memory budget: its limit, the bytes reserved now and
 * the reservations refused (each refusal answered 429 / RESOURCE_EXHAUSTED).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MemoryBudget } from '../../core/memory-budget.js';

/** Registers dgw_memory_budget_bytes, dgw_memory_reserved_bytes and dgw_memory_refusals_total. */
export function registerMemoryBudgetMetrics(registry: Registry, budget: MemoryBudget): void {
  new Gauge({
    name: 'dgw_memory_budget_bytes',
    help: 'Server memory budget for request bodies in flight and write buffers (--memory-budget-mb)',
    registers: [registry],
    collect() {
      this.set(budget.limitBytes);
    },
  });
  new Gauge({
    name: 'dgw_memory_reserved_bytes',
    help: 'Bytes of the memory budget reserved now by request bodies and write buffers',
    registers: [registry],
    collect() {
      this.set(budget.usedBytes);
    },
  });
  let counted = 0;
  new Counter({
    name: 'dgw_memory_refusals_total',
    help: 'Requests and buffered batches refused because the memory budget was used up',
    registers: [registry],
    collect() {
      this.inc(budget.refused - counted);
      counted = budget.refused;
    },
  });
}
