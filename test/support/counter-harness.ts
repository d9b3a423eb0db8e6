/**
 * Test harness of the Counter abstraction: a ManualClock and ManualScheduler, one store set
 * (memory or SQLite in a temp dir) in a catalog, and any number of dgw "instances" (each
 * its own TimeSeries engine and CounterService, with its own rollup pipelines) sharing the
 * stores, as several servers share PostgreSQL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { ManualClock } from '../../src/kernel/clock.js';
import { parseCounterNamespace } from '../../src/core/control/counter-doc.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import type { CounterConfig, CounterType } from '../../src/core/control/types.js';
import { createCounterService, type CounterEngine } from '../../src/core/counter/service.js';
import { ManualScheduler } from '../../src/core/counter/scheduler.js';
import type { PipelineOptions } from '../../src/core/counter/pipelines-by-namespace.js';
import { createTimeSeriesService, type TimeSeriesEngine } from '../../src/core/timeseries/service.js';
import { StoreCatalog } from '../../src/storage/catalog.js';
import type { StoreClock, StoreSet } from '../../src/storage/contracts.js';
import type { CounterClockOffsets } from '../../src/core/counter/types.js';
import { createMemoryStores } from '../../src/storage/memory/stores.js';
import { createSqliteStores } from '../../src/storage/sqlite/stores.js';

/** Adapters the counter suites run on. */
export type AdapterName = 'memory' | 'sqlite';
export const ADAPTERS: readonly AdapterName[] = ['memory', 'sqlite'];

/** One dgw instance of the harness. */
export interface Instance {
  timeseries: TimeSeriesEngine;
  counters: CounterEngine;
  registry: Registry;
}

/** Everything a counter test needs. */
export interface CounterHarness {
  adapter: AdapterName;
  clock: ManualClock;
  scheduler: ManualScheduler;
  catalog: StoreCatalog;
  stores: StoreSet;
  instances: Instance[];
  /** A counter namespace config of `type` on this harness's store, with overrides applied. */
  config(name: string, type: CounterType, doc?: Record<string, unknown>): CounterConfig;
  /** Shuts the instances down (draining pipelines) and closes and removes the stores. */
  close(): Promise<void>;
}

/** Options of {@link makeHarness}. */
export interface HarnessOptions {
  instances?: number;
  pipeline?: Omit<PipelineOptions, 'scheduler'>;
  /** A clock of the store's own (as a shared store has): the clock-offset monitor measures it. */
  storeClock?: StoreClock;
  /** The clock offsets every instance's CounterService reads, made from the harness's catalog. */
  clockOffsets?: (catalog: StoreCatalog, clock: ManualClock) => CounterClockOffsets;
}

/** Builds a harness on `adapter`. */
export function makeHarness(adapter: AdapterName, options: HarnessOptions = {}): CounterHarness {
  const clock = new ManualClock();
  const scheduler = new ManualScheduler(clock);
  let dir: string | undefined;
  let stores: StoreSet;
  if (adapter === 'memory') {
    stores = createMemoryStores({ clock });
  } else {
    dir = mkdtempSync(join(tmpdir(), 'dgw-counter-'));
    stores = createSqliteStores({ dataDir: dir, clock });
  }
  if (options.storeClock) stores = { ...stores, clock: options.storeClock };
  const catalog = new StoreCatalog(adapter, [[adapter, stores]]);
  const clockOffsets = options.clockOffsets?.(catalog, clock);
  const view = createEmbeddedStoreResolver(adapter, { stores: [adapter] });
  const instances: Instance[] = [];
  for (let i = 0; i < (options.instances ?? 1); i++) {
    const registry = new Registry();
    const timeseries = createTimeSeriesService({ clock, catalog, registry });
    const counters = createCounterService({
      clock,
      catalog,
      timeseries,
      registry,
      pipeline: { ...options.pipeline, scheduler },
      ...(clockOffsets ? { clockOffsets } : {}),
    });
    instances.push({ timeseries, counters, registry });
  }
  return {
    adapter,
    clock,
    scheduler,
    catalog,
    stores,
    instances,
    config(name, type, doc = {}) {
      const parsed = parseCounterNamespace(
        name,
        {
          persistence_configuration: [
            { id: 'COUNTER_ROLLUP', config: { counter_type: type, ...doc } },
          ],
        },
        view,
      );
      return parsed.config;
    },
    async close() {
      for (const inst of instances) {
        await inst.counters.shutdown();
        await inst.timeseries.shutdown();
      }
      await catalog.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A random-enough namespace name per test (STYLE: each test on its own namespace). */
export function uniqueNamespace(prefix: string): string {
  return `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
}

/** The value of `metric`'s series with exactly `labels` on `registry`; undefined when there is no such series. */
export async function sampleOf(registry: Registry, metric: string, labels: Record<string, string>): Promise<number | undefined> {
  const found = registry.getSingleMetric(metric);
  if (!found) return undefined;
  const wanted = Object.entries(labels);
  const { values } = await found.get();
  return values.find((v) => Object.keys(v.labels).length === wanted.length && wanted.every(([k, x]) => v.labels[k] === x))?.value;
}
