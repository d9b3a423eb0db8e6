/**
 * The default size of the server memory budget (core/memory-budget.ts): a quarter of the
 * memory the process may use (the cgroup limit when one is set, else the machine's
 * memory), and at most half of V8's heap limit, since parsed bodies live on the V8 heap
 * and a budget above it would end in an out-of-memory crash instead of a 429.
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';

/** The cgroup (v2, else v1) memory limit in bytes, or undefined when none is set. */
export function cgroupMemoryLimit(): number | undefined {
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch {
      continue;
    }
    const n = Number(text);
    // "max" (v2) or a huge number (v1's "unlimited") mean no limit.
    if (Number.isSafeInteger(n) && n > 0 && n < 2 ** 60) return n;
    return undefined;
  }
  return undefined;
}

/** What the default budget was computed from, for the startup log and the docs. */
export interface BudgetBasis {
  bytes: number;
  memoryBytes: number;
  from: 'cgroup' | 'machine';
  heapLimitBytes: number;
}

/** The default budget: min(memory / 4, heap limit / 2), memory being the cgroup limit or the machine's. */
export function defaultMemoryBudget(): BudgetBasis {
  const cgroup = cgroupMemoryLimit();
  const machine = totalmem();
  const memoryBytes = cgroup !== undefined && cgroup < machine ? cgroup : machine;
  const heapLimitBytes = getHeapStatistics().heap_size_limit;
  const bytes = Math.max(64 * 1024 * 1024, Math.floor(Math.min(memoryBytes / 4, heapLimitBytes / 2)));
  return { bytes, memoryBytes, from: cgroup !== undefined && cgroup < machine ? 'cgroup' : 'machine', heapLimitBytes };
}
