/**
 * The counter oracle run shared by the backend oracle tests (issue 4; PostgreSQL + Redis,
 * Cassandra + Redis): seeded random adds (also beyond 2^53), hedged duplicates to both
 * instances, retries (also past accept_limit), clears and reads, sent to two in-process
 * dgw instances that share one store set, each with its own rollup pipelines, on a
 * ManualClock. ACCURATE equals the oracle at every read; stored EVENTUAL rollups equal the
 * oracle as of their checkpoint; after the clock passes accept_limit + skew and the
 * pipelines drain, every counter is exact on both instances.
 *
 * The operation mix follows counter-oracle.test.ts in compact form.
 */
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { ManualClock } from '../../src/kernel/clock.js';
import { parseCounterNamespace } from '../../src/core/control/counter-doc.js';
import { createEmbeddedStoreResolver } from '../../src/server/store-resolvers.js';
import type { CounterConfig } from '../../src/core/control/types.js';
import { ManualScheduler } from '../../src/core/counter/scheduler.js';
import { createCounterService, type CounterEngine } from '../../src/core/counter/service.js';
import type { AddCountRequest, IdempotencyToken } from '../../src/core/counter/types.js';
import { createTimeSeriesService, type TimeSeriesEngine } from '../../src/core/timeseries/service.js';
import { StoreCatalog } from '../../src/storage/catalog.js';
import type { StoreSet } from '../../src/storage/contracts.js';
import { uniqueName } from './backends.js';
import { CounterOracle, prng } from './dgw-load.js';

/** A backend of the oracle run: opens the shared stores on the run's clock, cleans up after. */
export interface OracleBackend {
  /** Catalog key of the stores (also the embedded view's store name). */
  key: string;
  open(clock: ManualClock): Promise<StoreSet>;
  /** Removes the run's data (schema, keyspace, key prefix); called after the stores closed. */
  cleanup(): Promise<void>;
}

/** Seeds of the run (DGW_ORACLE_SEEDS). */
export const SEEDS = (process.env.DGW_ORACLE_SEEDS ?? '7,20241112').split(',').map(Number);
/** Steps per seed (DGW_ORACLE_STEPS). */
export const STEPS = Number(process.env.DGW_ORACLE_STEPS ?? 80);
/** dgw instances sharing the stores (DGW_ORACLE_INSTANCES, default 2); hedges go to all. */
export const INSTANCES = Math.max(1, Number(process.env.DGW_ORACLE_INSTANCES ?? 2));
const COUNTERS = ['c0', 'c1', 'c2'];
const LARGE = 2n ** 60n;

interface Instance {
  timeseries: TimeSeriesEngine;
  counters: CounterEngine;
}

type Kind = 'eventual' | 'accurate';
interface Sent {
  ns: Kind;
  clear: boolean;
  counter: string;
  token: IdempotencyToken;
  delta: bigint;
}

/** One seeded oracle run on `backend`; throws (assert) on the first wrong count. */
export async function runOracle(seed: number, backend: OracleBackend): Promise<void> {
  const clock = new ManualClock();
  const scheduler = new ManualScheduler(clock);
  const stores = await backend.open(clock);
  const catalog = new StoreCatalog(backend.key, [[backend.key, stores]]);
  const view = createEmbeddedStoreResolver(backend.key, { stores: [backend.key] });
  const instances: Instance[] = Array.from({ length: INSTANCES }, () => {
    const registry = new Registry();
    const timeseries = createTimeSeriesService({ clock, catalog, registry });
    const counters = createCounterService({ clock, catalog, timeseries, registry, pipeline: { scheduler } });
    return { timeseries, counters };
  });
  try {
    const rand = prng(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const config = (type: 'EVENTUAL' | 'ACCURATE'): CounterConfig => {
      const c = parseCounterNamespace(uniqueName(type.toLowerCase()), { persistence_configuration: [{ id: 'COUNTER_ROLLUP', config: { counter_type: type } }] }, view).config;
      return { ...c, rollup: { ...c.rollup, coalesceMicros: 500_000, rollupBatchCount: 3, numQueues: 2 } };
    };
    const configs = { eventual: config('EVENTUAL'), accurate: config('ACCURATE') };
    const oracles = { eventual: new CounterOracle(), accurate: new CounterOracle() };
    const large = new Map<string, number>();
    const sent: Sent[] = [];
    let seq = 0;
    const inst = () => pick(instances).counters;

    const delta = (key: string): bigint => {
      const r = rand();
      if (r < 0.1 && (large.get(key) ?? 0) < 6) {
        large.set(key, (large.get(key) ?? 0) + 1);
        return (rand() < 0.5 ? 1n : -1n) * (LARGE + BigInt(Math.floor(rand() * 1e9)));
      }
      return BigInt(Math.floor(rand() * 201) - 100);
    };
    const mutate = async (s: Sent, hedge: boolean) => {
      const config = configs[s.ns];
      const send = (c: CounterEngine) =>
        s.clear ? c.clearCount(config, { counterName: s.counter, token: s.token }) : c.addCount(config, { counterName: s.counter, delta: s.delta, token: s.token } satisfies AddCountRequest);
      if (hedge) await Promise.all(instances.map((i) => send(i.counters)));
      else await send(inst());
      if (s.clear) oracles[s.ns].clear(s.counter, s.token.token, s.token.generationTimeMicros);
      else oracles[s.ns].add(s.counter, s.token.token, s.token.generationTimeMicros, s.delta);
    };
    const randomOp = (): (() => Promise<void>) => {
      const r = rand();
      if (r < 0.15 && sent.length > 0) {
        const old = pick(sent); // a retry, maybe long after accept_limit
        return () => mutate(old, rand() < 0.3);
      }
      const ns: Kind = rand() < 0.5 ? 'eventual' : 'accurate';
      const counter = pick(COUNTERS);
      const s: Sent = {
        ns,
        counter,
        clear: r < 0.22,
        token: { token: `tok-${seed}-${seq++}`, generationTimeMicros: clock.nowMicros() - Math.floor(rand() * 1_500_000) },
        delta: delta(`${ns}/${counter}`),
      };
      sent.push(s);
      return () => mutate(s, rand() < 0.25);
    };

    for (let step = 0; step < STEPS; step++) {
      if (rand() < 0.06) {
        await scheduler.advance(6000 + rand() * 3000); // rollups catch up; later retries are past accept_limit
      } else {
        const ops = Array.from({ length: 1 + Math.floor(rand() * 4) }, randomOp);
        await Promise.all([...ops.map((op) => op()), scheduler.advance(rand() * 300), inst().getCount(configs.eventual, pick(COUNTERS))]);
      }
      const c = pick(COUNTERS);
      assert.equal(await inst().getCount(configs.accurate, c), oracles.accurate.count(c), `seed ${seed} step ${step}: ACCURATE ${c}`);
    }

    for (let i = 0; i < 10; i++) await scheduler.advance(1000);
    for (const i of instances) await i.counters.shutdown();
    for (const c of COUNTERS) {
      const row = await catalog.rollups(backend.key).get(configs.eventual.name, c);
      assert.equal(row?.lastRollupCount ?? 0n, oracles.eventual.count(c), `seed ${seed}: converged rollup row of ${c}`);
      for (const i of instances) {
        assert.equal(await i.counters.getCount(configs.eventual, c), oracles.eventual.count(c), `seed ${seed}: EVENTUAL ${c}`);
        assert.equal(await i.counters.getCount(configs.accurate, c), oracles.accurate.count(c), `seed ${seed}: ACCURATE ${c}`);
      }
    }
  } finally {
    for (const i of instances) {
      await i.counters.shutdown();
      await i.timeseries.shutdown();
    }
    await catalog.close();
    await backend.cleanup();
  }
}

